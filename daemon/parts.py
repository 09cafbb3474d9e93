"""The running daemon's parts, as one typed set, and their ordered shutdown (reverse of start)."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from daemon.errors import VoxTrayError
from daemon.settings import Settings
from daemon.status import StatusBus

if TYPE_CHECKING:
    from daemon.assistant import Assistant
    from daemon.brain.health import HealthPoller
    from daemon.desktop.ask_flow import AskFlow
    from daemon.desktop.read_aloud import ReadAloud
    from daemon.gpu.ollama import OllamaGuard
    from daemon.gpu.policy import KeepWarmPolicy
    from daemon.gpu.vram import VramWatcher
    from daemon.listen.talk import VoiceAsk
    from daemon.modelsetup import ModelSetup
    from daemon.speech.stack import SpeechStack

log = logging.getLogger(__name__)


@dataclass
class Parts:
    """Everything app.build() made; `policy`/`model_setup` are None without XTTS, `flow` without a desktop
    (reading aloud still works from the tray and CLI there)."""

    speech: SpeechStack
    watcher: VramWatcher
    guard: OllamaGuard
    policy: KeepWarmPolicy | None
    model_setup: ModelSetup | None
    health: HealthPoller
    assistant: Assistant
    talk: VoiceAsk
    flow: AskFlow | None
    reading: ReadAloud

    def settings_changed(self, status: StatusBus, old: Settings, new: Settings) -> None:
        """What must happen at once on new settings (every other value is read at its next use)."""
        self.watcher.poll_soon()
        if self.flow is not None:
            try:
                self.flow.rebind()
            except VoxTrayError as exc:
                status.update(message=f"Hotkeys not changed: {exc}")
        status.update(llm_url=new.remote_llm_url)
        if new.remote_llm_url:
            self.health.start()
            self.health.check_soon()


class Shutdown:
    """Stop functions registered in start order; `run()` calls them in reverse, once, logging failures."""

    def __init__(self) -> None:
        self._stops: list[tuple[str, Callable[[], object]]] = []
        self._lock = threading.Lock()

    def __len__(self) -> int:
        return len(self._stops)

    def add(self, name: str, stop: Callable[[], object]) -> None:
        with self._lock:
            self._stops.append((name, stop))

    def run(self) -> None:
        with self._lock:
            stops, self._stops = self._stops, []
        for name, stop in reversed(stops):
            try:
                stop()
            except Exception:
                log.exception("stopping %s failed", name)
