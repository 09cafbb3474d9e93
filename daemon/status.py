"""The Status snapshot (what the tray shows) and a thread-safe bus that publishes its changes."""

from __future__ import annotations

import dataclasses
import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from enum import Enum
from typing import Any, Generic, TypeVar

log = logging.getLogger(__name__)

F = TypeVar("F", bound=Callable[..., None])


class Listeners(Generic[F]):
    """A thread-safe list of callbacks: add() returns an unsubscribe function; snapshot() for calling."""

    def __init__(self) -> None:
        self._items: list[F] = []
        self._lock = threading.Lock()

    def add(self, listener: F) -> Callable[[], None]:
        with self._lock:
            self._items.append(listener)

        def remove() -> None:
            with self._lock:
                if listener in self._items:
                    self._items.remove(listener)

        return remove

    def snapshot(self) -> list[F]:
        with self._lock:
            return list(self._items)


class Tier(str, Enum):
    """Which voice speaks (drives the icon colour)."""

    STARTING = "starting"  # grey
    XTTS = "xtts"  # green
    EDGE = "edge"  # amber
    SYSTEM = "system"  # blue
    NONE = "none"  # red: nothing can speak


# Status.model_setup values (the tray words for them live in desktop/traymenu.py).
SETUP_NEEDED, SETUP_DOWNLOADING, SETUP_FAILED = "needed", "downloading", "failed"


class Activity(str, Enum):
    IDLE = "idle"
    THINKING = "thinking"
    SPEAKING = "speaking"
    LISTENING = "listening"  # the microphone is open for a spoken question


@dataclass(frozen=True)
class Status:
    """An immutable snapshot of the daemon's state; replaced (never mutated) on every change."""

    tier: Tier = Tier.STARTING
    tier_reason: str = ""
    model_state: str = "not loaded"  # not loaded | loading | warm | unloaded | failed | disabled
    voice: str = ""
    activity: Activity = Activity.IDLE
    gpu_name: str = ""
    vram_total_mb: int | None = None
    vram_free_mb: int | None = None
    gpu_note: str = ""  # e.g. "no NVIDIA GPU"
    llm_url: str = ""
    llm_ok: bool | None = None
    llm_note: str = ""
    last_first_audio_s: float | None = None  # hotkey press (or submitted question) -> first audio, see assistant.py
    last_voice_s: float | None = None  # end of speech -> question sent, for the last spoken question
    hotkeys_paused: bool = False
    speech_paused: bool = False  # the speech is held mid-answer (pause hotkey / tray); resume goes on
    message: str = ""
    model_setup: str = ""  # "" (nothing to do) | needed | downloading | failed: getting the cloned voice's model
    setup_note: str = ""  # one line about it, e.g. "Downloading the cloned voice: 43 %, 2 min left"
    setup_percent: int | None = None  # the download's whole percent and its ETA, for the menu's coarser line
    setup_eta_s: float | None = None


Listener = Callable[[Status, Status], None]


@dataclass
class StatusBus:
    """Holds the current Status; `update` publishes a new snapshot to listeners only when it changed."""

    _status: Status = field(default_factory=Status)
    _listeners: Listeners[Listener] = field(default_factory=Listeners)
    _lock: threading.RLock = field(default_factory=threading.RLock)

    @property
    def current(self) -> Status:
        return self._status

    def subscribe(self, listener: Listener) -> Callable[[], None]:
        """Call listener(old, new) on every change; returns an unsubscribe function."""
        return self._listeners.add(listener)

    def update(self, **changes: Any) -> bool:
        """Apply changes; returns True (and notifies) if anything actually changed."""
        with self._lock:
            old = self._status
            new = dataclasses.replace(old, **changes)
            if new == old:
                return False
            self._status = new
            listeners = self._listeners.snapshot()
        for listener in listeners:
            try:
                listener(old, new)
            except Exception:  # a broken listener must not break the publisher
                log.exception("status listener %r failed", listener)
        return True
