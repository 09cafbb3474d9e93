"""Composition root: `build()` makes the daemon's parts from LiveSettings and wires them; `App` runs them.

Every part reads settings through the one provider (`live`); each is registered with `Shutdown` as it
starts, so parts stop in reverse order. pystray owns the main thread when a tray is available.
"""

from __future__ import annotations

import logging
import threading
from pathlib import Path
from typing import TYPE_CHECKING, cast

from daemon import __version__
from daemon.commands import Commands, current_voice
from daemon.errors import AudioDeviceError, VoxTrayError
from daemon.live import LiveSettings
from daemon.parts import Parts, Shutdown
from daemon.settings import Settings
from daemon.speech.player import Player
from daemon.speech.sinks import LiveSink
from daemon.status import StatusBus, Tier

if TYPE_CHECKING:
    from daemon.desktop.ask_flow import AskFlow
    from daemon.desktop.tray import Tray
    from daemon.gpu.policy import WarmEngine

log = logging.getLogger(__name__)


def build(live: LiveSettings, status: StatusBus, shutdown: Shutdown, tell: Commands) -> Parts:
    """Build and start every part (nothing slow here: loading happens on worker threads)."""
    from daemon.assistant import Assistant
    from daemon.audio import ensure_resampler
    from daemon.brain.conversation import Conversation
    from daemon.brain.current import CurrentClient
    from daemon.brain.health import HealthPoller
    from daemon.desktop.read_aloud import ReadAloud
    from daemon.gpu.ollama import OllamaGuard
    from daemon.gpu.policy import KeepWarmPolicy
    from daemon.gpu.vram import VramWatcher
    from daemon.listen.talk import VoiceAsk
    from daemon.modelsetup import ModelSetup
    from daemon.speech import duck, stack
    from daemon.speech.check import SpeechCheck

    s = live()
    status.update(tier=Tier.STARTING, voice=s.reference_path.stem, llm_url=s.remote_llm_url)
    ensure_resampler()
    try:
        sink = LiveSink(live, status, player=Player(s.output_device, s.output_sample_rate, s.volume))
    except AudioDeviceError as exc:
        tell.message(str(exc))
        sink = LiveSink(live, status)
    watcher, guard = VramWatcher(live, status), OllamaGuard(live)
    watcher.start()
    shutdown.add("VRAM watcher", watcher.stop)
    shutdown.add("ducking", duck.start(live, status))  # other apps lowered while speaking (restored after speech)
    policy: KeepWarmPolicy | None = None
    speech = stack.build(live, status, sink, headroom=lambda: policy is None or policy.headroom(),
                         on_oom=lambda: policy.on_oom() if policy is not None else None)
    shutdown.add("speech", speech.close)
    setup = None
    if (xtts := speech.engines.get("xtts")) is not None:
        policy = KeepWarmPolicy(live, watcher, cast("WarmEngine", xtts), guard, status, notify=tell.message)
        setup = ModelSetup(live, status, on_ready=policy.load_now, tell=tell.message)
        shutdown.add("model download", setup.close)
        setup.check()
        policy.start(load=not setup.busy())
        shutdown.add("keep-warm policy", policy.stop)
    else:
        status.update(model_state="disabled")
    speech.router.start_watch()  # the tray shows the voice the next sentence would get, always
    shutdown.add("tier on reload", live.subscribe(lambda *_: speech.router.readiness_changed()))
    client = CurrentClient(live)
    health = HealthPoller(client, status, interval_s=lambda: live().llm_health_interval_s)
    if s.remote_llm_url:
        health.start()
    shutdown.add("LLM health", health.stop)
    conversation = Conversation(lambda: live().history_turns, lambda: live().system_prompt)
    assistant = Assistant(client, conversation, speech.pipeline, status, voice=lambda: current_voice(live()),
                          health=health, answers=tell.answers)  # answers kept for the tray's "Show the last answer"
    shutdown.add("assistant", assistant.close)
    talk = VoiceAsk(live, assistant, status, headroom=lambda: policy is None or policy.headroom())
    shutdown.add("asking by voice", talk.close)
    speech.router.check = SpeechCheck(live, words=talk.heard_words)  # XTTS checked by the recogniser's ear
    talk.start()
    parts = Parts(speech, watcher, guard, policy, setup, health, assistant, talk, None,
                  ReadAloud(live, assistant, tell=tell.message))  # the selection read aloud (hotkey, tray)
    shutdown.add("reading aloud", parts.reading.close)
    parts.flow = _ask_flow(live, status, shutdown, parts)
    live.subscribe(lambda old, new: parts.settings_changed(status, old, new))
    return parts


def _ask_flow(live: LiveSettings, status: StatusBus, shutdown: Shutdown, parts: Parts) -> AskFlow | None:
    """Global hotkeys + question box; without them (no display) the CLI and tray still work."""
    from daemon.desktop.ask_flow import AskFlow
    from daemon.desktop.traymenu import chip_text

    try:
        flow = AskFlow(live, parts.assistant, health=parts.health, paused=lambda: status.current.hotkeys_paused,
                       prepare=parts.speech.warm_audio, talk=parts.talk, chip=lambda: chip_text(status.current),
                       read=parts.reading.press, pause=parts.speech.pipeline.toggle_pause)
        flow.start()
    except VoxTrayError as exc:
        log.warning("global hotkeys are off: %s", exc)
        status.update(message=f"Hotkeys are off: {exc}")
        return None
    shutdown.add("hotkeys and question box", flow.stop)
    log.info("hotkeys: %s asks, %s stops", live().hotkey_ask, live().hotkey_stop)
    return flow


class App:
    """The daemon: settings, Status bus, parts, ordered shutdown; `run()` (runner.py) blocks until quit/Ctrl+C/SIGTERM."""

    def __init__(self, settings: Settings, settings_path: Path, headless: bool = False) -> None:
        self.live = LiveSettings(settings_path, settings)
        self.headless = headless
        self.status = StatusBus()
        self.shutdown_steps = Shutdown()
        self.parts: Parts | None = None
        self.commands = Commands(self.live, self.status, lambda: self.parts, quit=self.quit)
        self.tray: Tray | None = None
        self.stopping = threading.Event()

    def start(self) -> None:
        """Build and start every part (the tray's start-up thread, or run() when headless)."""
        log.info("VoxTray %s starting (settings %s)", __version__, self.live.path)
        self.parts = build(self.live, self.status, self.shutdown_steps, self.commands)

    def run(self) -> int:
        from daemon.runner import run

        return run(self)

    def quit(self) -> None:
        """Ask the daemon to stop (thread-safe)."""
        self.stopping.set()
        if self.tray is not None:
            self.tray.stop()

    def shutdown(self) -> None:
        """Stop every part, in reverse order of start (idempotent)."""
        if len(self.shutdown_steps):
            self.shutdown_steps.run()
            log.info("VoxTray stopped")
