"""Composition root: builds the daemon's parts from Settings, starts and stops them in order, public verbs.

No business logic lives here: each part is built from settings, wired to the Status bus, and registered
with a stop function; parts stop in reverse order. pystray owns the main thread when a tray is available.
"""

from __future__ import annotations

import logging
import signal
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path
from types import FrameType
from typing import Any

from daemon import __version__, paths
from daemon import settings as settings_mod
from daemon.audio import ensure_resampler
from daemon.desktop.opener import open_path
from daemon.errors import AudioDeviceError, VoxTrayError
from daemon.settings import Settings
from daemon.speech.player import AudioSink, DeviceRetrySink, Player
from daemon.status import StatusBus, Tier
from daemon.voices import VoiceRef
from daemon.winruntime import explain_import_error

log = logging.getLogger(__name__)


class App:
    """The running daemon. `run()` blocks until quit() (tray), Ctrl+C or SIGTERM, then stops every part."""

    def __init__(self, settings: Settings, settings_path: Path, headless: bool = False) -> None:
        self.settings = settings
        self.settings_path = settings_path
        self.headless = headless
        self.status = StatusBus()
        self._stop = threading.Event()
        self._stoppers: list[tuple[str, Callable[[], None]]] = []
        self.tray: Any = None
        self.speech: Any = None
        self.assistant: Any = None
        self.policy: Any = None
        self.flow: Any = None  # hotkeys + question box (desktop.ask_flow.AskFlow)
        self.talk: Any = None  # asking by voice (listen.talk.VoiceAsk)
        self.model_setup: Any = None  # getting the cloned voice's model (modelsetup.ModelSetup)
        self.health: Any = None
        self._hotkeys_paused = False
        self._starter: threading.Thread | None = None

    # --- lifecycle -----------------------------------------------------------------------------
    def on_stop(self, name: str, fn: Callable[[], None]) -> None:
        """Register a part's stop function; parts stop in reverse order of registration."""
        self._stoppers.append((name, fn))

    def start(self) -> None:
        """Build and start every part (nothing slow here: loading happens on worker threads)."""
        log.info("VoxTray %s starting (settings %s)", __version__, self.settings_path)
        s, status = self.settings, self.status
        status.update(tier=Tier.STARTING, voice=s.reference_path.stem, llm_url=s.remote_llm_url)
        ensure_resampler()

        sink: AudioSink
        try:
            sink = Player(s.output_device, s.output_sample_rate, s.volume)
        except AudioDeviceError as exc:
            log.error("%s", exc)
            status.update(message=str(exc))
            sink = DeviceRetrySink(s, status)

        from daemon.gpu.ollama import OllamaGuard
        from daemon.gpu.vram import VramWatcher

        watcher = VramWatcher(s, status)
        watcher.start()
        self.on_stop("VRAM watcher", watcher.stop)

        from daemon.speech import stack

        self.speech = stack.build(s, status, sink, headroom=self._headroom, on_oom=self._on_oom)
        self.on_stop("speech", self.speech.close)

        xtts = self.speech.engines.get("xtts")
        if xtts is not None:
            from daemon.gpu.policy import KeepWarmPolicy
            from daemon.modelsetup import ModelSetup

            self.policy = KeepWarmPolicy(s, watcher, xtts, OllamaGuard(s), status, notify=self._message)
            self.model_setup = ModelSetup(self.settings_path, lambda: self.settings, self._apply, status,
                                          on_ready=self.policy.load_now, tell=self._message)
            self.on_stop("model download", self.model_setup.close)
            self.model_setup.check()
            self.policy.start(load=not self.model_setup.busy())
            self.on_stop("keep-warm policy", self.policy.stop)
        else:
            status.update(model_state="disabled")
        self.speech.router.start_watch()  # the tray shows the voice the next sentence would get, always

        from daemon.assistant import Assistant
        from daemon.brain.client import LLMClient
        from daemon.brain.conversation import Conversation
        from daemon.brain.health import HealthPoller

        client = LLMClient(s)
        health = self.health = HealthPoller(client, status, interval_s=s.llm_health_interval_s)
        if s.remote_llm_url:
            health.start()
        self.on_stop("LLM health", health.stop)
        self.assistant = Assistant(
            client, Conversation(s.history_turns, s.system_prompt), self.speech.pipeline, status,
            voice=self.current_voice, health=health,
        )
        self.on_stop("assistant", self.assistant.close)
        self._start_ask_flow(health)

    def _start_ask_flow(self, health: Any) -> None:
        """Global hotkeys + question box; without them (no display) the CLI and tray still work."""
        from daemon.desktop.ask_flow import AskFlow
        from daemon.listen.talk import VoiceAsk

        talk = self.talk = VoiceAsk(self.settings, self.assistant, self.status, headroom=self._headroom)
        self.on_stop("asking by voice", talk.close)
        talk.start()
        try:
            flow = AskFlow(self.settings, self.assistant, health=health, paused=lambda: self._hotkeys_paused,
                           prepare=self._warm_audio, talk=talk)
            flow.start()
        except VoxTrayError as exc:
            log.warning("global hotkeys are off: %s", exc)
            self.status.update(message=f"Hotkeys are off: {exc}")
            return
        self.flow = flow
        self.on_stop("hotkeys and question box", flow.stop)
        log.info("hotkeys: %s asks, %s stops", self.settings.hotkey_ask, self.settings.hotkey_stop)

    def shutdown(self) -> None:
        if not self._stoppers:
            return
        for name, fn in reversed(self._stoppers):
            try:
                fn()
            except Exception:
                log.exception("stopping %s failed", name)
        self._stoppers.clear()
        log.info("VoxTray stopped")

    def _install_signals(self) -> None:
        def handler(signum: int, _frame: FrameType | None) -> None:
            log.info("signal %s: stopping", signum)
            self.quit()

        signal.signal(signal.SIGINT, handler)
        signal.signal(signal.SIGTERM, handler)
        if sys.platform == "win32":
            signal.signal(signal.SIGBREAK, handler)

    def run(self) -> int:
        """Show the tray at once (or run headless), start the parts, wait for quit, stop. Returns the exit code."""
        self._install_signals()
        try:
            reason = "running headless (--headless)" if self.headless else ""
            if not self.headless:
                from daemon.desktop.tray import tray_available

                ok, why = tray_available(wait_s=2.0)
                reason = "" if ok else why
            if reason:
                print(f"VoxTray is running: {reason}. Press Ctrl+C to stop.", flush=True)
                log.info("running headless: %s", reason)
                self.start()
                while not self._stop.wait(0.5):
                    pass
            else:
                self._run_tray()
        finally:
            if self._starter is not None:
                self._starter.join(timeout=60)
            self.shutdown()
        return 0

    def _run_tray(self) -> None:
        """The tray owns the main thread; the rest starts on a worker thread once the icon is visible."""
        from daemon.desktop.notify import Notifier
        from daemon.desktop.tray import Tray

        self.tray = Tray(self.status, self, self.settings, on_end_session=self._end_session)
        notifier = Notifier(
            self.status, self.tray.notify, enabled=lambda: self.settings.notifications,
            expect_clone=lambda: self.settings.use_local_cloning,
        ).start()
        self.on_stop("notifications", notifier.close)

        def start_in_background() -> None:
            def starter() -> None:
                try:
                    self.start()
                except VoxTrayError as exc:
                    log.error("start-up failed: %s", exc)
                    self._message(f"VoxTray could not start: {exc}")
                except Exception as exc:
                    log.exception("start-up failed")
                    self._message(f"VoxTray could not start: {explain_import_error(exc) or exc}")

            self._starter = threading.Thread(target=starter, name="startup", daemon=True)
            self._starter.start()

        print("VoxTray is running in the system tray.", flush=True)
        if not self._stop.is_set():
            self.tray.run(on_ready=start_in_background)

    # --- public verbs (TrayActions, hotkeys, CLI) ----------------------------------------------
    def quit(self) -> None:
        """Ask the daemon to stop (thread-safe)."""
        self._stop.set()
        if self.tray is not None:
            self.tray.stop()

    def _end_session(self) -> None:
        """The session is ending (Windows log-off/shut-down): stop every part before the OS ends the process."""
        self._stop.set()
        self.shutdown()

    def current_voice(self) -> VoiceRef | None:
        path = self.settings.reference_path
        return VoiceRef(path.stem, path) if path.is_file() else None

    def ask(self, question: str | None = None) -> None:
        """Open the question box (or ask `question` directly)."""
        if self.assistant is None:
            self._message("VoxTray is still starting; try again in a moment.")
            return
        if question is not None:
            self.assistant.ask(question, t_hotkey=time.monotonic())
        elif self.flow is not None:
            self.assistant.stop()
            self.flow.box.open(time.monotonic())
            self._warm_audio()
        else:
            self._message(f"The question box needs a desktop session; use `{paths.command()} ask` instead.")

    def ask_by_voice(self) -> None:
        """Tray "Ask by voice": listen (barge-in first) until a pause, then ask; again while listening sends."""
        if self.talk is None:
            self._message("VoxTray is still starting; try again in a moment.")
            return
        self.talk.press(mode="toggle")

    def stop_speaking(self) -> None:
        if self.assistant is not None:
            self.assistant.stop()
        if self.speech is not None:
            self.speech.pipeline.cancel()

    def voices(self) -> list[str]:
        from daemon.voices import VoiceLibrary

        return [v.name for v in VoiceLibrary(self.settings).list()]

    def use_voice(self, name: str) -> None:
        """Switch voice: saved atomically, used from the next sentence, prepared in the background."""
        from daemon.voices import VoiceLibrary

        library = VoiceLibrary(self.settings)
        ref = library.find(name)
        self._apply(settings_mod.update(self.settings_path, cloning_reference_file=library.setting_value(ref)))
        self.status.update(voice=ref.name)
        log.info("voice switched to %s", ref.name)
        if self.speech is not None:
            self.speech.prepare_voice(ref)

    def add_voice(self, path: Path) -> None:
        from daemon.voices import VoiceLibrary

        try:
            info = VoiceLibrary(self.settings).add(path)
        except VoxTrayError as exc:
            self._message(f"Could not add {path.name}: {exc}")
            return
        self._message(f"Added voice {info.name}")
        if self.speech is not None:
            self.speech.prepare_voice(VoiceRef(info.name, info.path))
        if self.tray is not None:
            self.tray.refresh()

    def set_engine(self, name: str) -> None:
        self._apply(settings_mod.update(self.settings_path, engine=name))
        log.info("engine set to %s", name)

    def connect_bridge(self, link: str) -> None:
        """Tray "Connect to Colab bridge…": probe and save the link, then use it at once."""
        from daemon.brain.connect import connect_link

        try:
            result = connect_link(link, self.settings_path)
        except VoxTrayError as exc:
            self._message(f"Could not connect: {exc}")
            return
        self._message(f"Connected: {result.summary}")
        self.reload_settings()

    def reload_settings(self) -> None:
        """Re-read settings.json into the running daemon (a bad file is reported and ignored)."""
        try:
            new = settings_mod.load(self.settings_path)
        except VoxTrayError as exc:
            self._message(str(exc))
            return
        self._apply(new)
        if self.assistant is not None and self.health is not None:
            from daemon.brain.client import LLMClient

            client = LLMClient(self.settings)
            self.assistant.client = self.health.client = client
            self.status.update(llm_url=self.settings.remote_llm_url)
            if self.settings.remote_llm_url:
                self.health.start()
                self.health.check_soon()
        log.info("settings reloaded from %s", self.settings_path)

    def new_conversation(self) -> None:
        if self.assistant is not None:
            self.assistant.conversation.reset()

    def toggle_hotkeys(self) -> None:
        self._hotkeys_paused = not self._hotkeys_paused
        self.status.update(hotkeys_paused=self._hotkeys_paused)

    def open_settings(self) -> None:
        open_path(self.settings_path)

    def open_voices_folder(self) -> None:
        open_path(self.settings.voices_path)

    def open_log(self) -> None:
        from daemon.logs import log_file

        open_path(log_file())

    def set_autostart(self, enabled: bool) -> None:
        from daemon.desktop.autostart import set_enabled

        set_enabled(enabled)

    def autostart_enabled(self) -> bool:
        from daemon.desktop.autostart import is_enabled

        return is_enabled()

    def model_offer(self) -> Any:
        from daemon.desktop.dialogs import ModelOffer
        from daemon.modelsetup import offer_facts

        return ModelOffer(**offer_facts(self.settings))

    def validate_model_folder(self, folder: Path) -> list[str]:
        from daemon.download import validate_folder

        return validate_folder(folder)

    def accept_model_license(self) -> None:
        self._need_model_setup().accept_and_download()

    def use_model_folder(self, folder: Path) -> None:
        self._need_model_setup().use_folder(folder)

    def cancel_download(self) -> None:
        self._need_model_setup().cancel()

    def check_setup(self) -> list[tuple[str, str, str, str]]:
        from daemon.doctor import run_checks

        return [(c.name, c.state, c.detail, c.fix) for c in run_checks(self.settings)]

    def open_url(self, url: str) -> None:
        from daemon.desktop.opener import open_url

        open_url(url)

    def _need_model_setup(self) -> Any:
        if self.model_setup is None:
            raise VoxTrayError("The cloned voice is off (use_local_cloning) or VoxTray is still starting.")
        return self.model_setup

    # --- wiring --------------------------------------------------------------------------------
    def _apply(self, new: Settings) -> None:
        """Use a new settings snapshot: the parts that read settings get it (settings are never changed in place)."""
        self.settings = new
        if self.speech is not None:
            self.speech.configure(new)
        if self.policy is not None:
            self.policy.settings = new
        if self.talk is not None:
            self.talk.settings = new  # talk_mode, pauses, input_device: from the next press (stt_*: at restart)

    def _warm_audio(self) -> None:
        """Start the output stream while the user types, so the first sentence plays at once."""
        sink = self.speech.sink if self.speech is not None else None
        warm = getattr(sink, "warm", None)
        if warm is not None:
            threading.Thread(target=warm, name="audio-warm", daemon=True).start()

    def _headroom(self) -> bool:
        return True if self.policy is None else bool(self.policy.headroom())

    def _on_oom(self) -> None:
        if self.policy is not None:
            self.policy.on_oom()

    def _message(self, text: str) -> None:
        log.info("%s", text)
        self.status.update(message=text)
