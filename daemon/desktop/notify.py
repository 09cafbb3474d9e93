"""Tray notifications derived from Status transitions, rate-limited per kind.

Kinds and what they say:
- tier: "Fell back to edge-tts" / "Fell back to the system voice" / "Nothing can speak" (with the Status's
  `tier_reason`), and "Back on the cloned voice" when XTTS returns. At start-up only "Nothing can speak" is told:
  the first voice is the plan, not a fall-back (the icon shows it), and a start-up notice must not bury the
  first-run welcome.
- llm: "LLM unreachable" (with `llm_note`), "LLM reachable again", and "No LLM set up" when there is no URL.
- setup: "Welcome to VoxTray" when the cloned voice's model is missing (the first start): it stays until closed
  and carries a "Get the cloned voice…" button where the notification server has buttons (else its text names
  the menu item, which is the menu's first command then).
- message: any new non-empty `Status.message` (the GPU guard's "Stopped Ollama to free VRAM for XTTS", ...),
  titled "VoxTray" (a title is never guessed from words in the text).

Each notification is sent with its kind and the tier it shows, so a sink can keep one notification per kind
(desktop/notify_dbus.py): a new kind never replaces another.

Each kind is told at most once per `cooldown_s`. Changes inside the cooldown are not dropped blindly: when the
cooldown ends, the user is told about the state *then* compared with what they were last told (a flap
XTTS -> edge -> XTTS inside the window says nothing; XTTS -> edge -> system says "system voice").
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from typing import Any, Protocol

from daemon.download.manifest import GET_MODEL, how_to_get
from daemon.status import SETUP_NEEDED, Status, StatusBus, Tier
from daemon.worker import Worker

log = logging.getLogger(__name__)

Actions = tuple[tuple[str, str], ...]  # (action id, button label)
GET_MODEL_ACTION = "get-model"


class Send(Protocol):
    """Shows one notification: `kind` is one of KINDS, `tier` the voice state its icon shows; `sticky` ones stay
    until closed, `actions` become buttons where the platform has them."""

    def __call__(self, title: str, text: str, *, kind: str, tier: Tier, sticky: bool = False,
                 actions: Actions = ()) -> None: ...


Event = tuple[str, str]  # (title, text)
KINDS = ("tier", "llm", "setup", "message")
STICKY = {"setup"}  # kinds that stay on screen until the user closes them
ACTIONS: dict[str, Actions] = {"setup": ((GET_MODEL_ACTION, f"{GET_MODEL}…"),)}


def _state(kind: str, s: Status) -> Any:
    return {"tier": s.tier, "llm": s.llm_ok, "setup": s.model_setup, "message": s.message}[kind]


def tier_event(told: Tier, s: Status) -> Event | None:
    """What to say when the tier is now `s.tier` and the user last heard about `told`."""
    now = s.tier
    if now == told or now is Tier.STARTING:
        return None
    reason = s.tier_reason.strip()
    if told is Tier.STARTING and now is not Tier.NONE:
        return None  # the first voice of a start (the icon says which): not a fall-back
    if now is Tier.XTTS:
        voice = f" ({s.voice})" if s.voice else ""
        return "Back on the cloned voice", f"XTTS is speaking again{voice}."
    if now is Tier.EDGE:
        return "Fell back to edge-tts", reason or "The cloned voice is not available."
    if now is Tier.SYSTEM:
        return "Fell back to the system voice", reason or "Neither the cloned voice nor edge-tts is available."
    return "Nothing can speak", f"{(reason or 'No speech engine works').rstrip('.')}. See Open log in the tray menu."


def llm_event(told: bool | None, s: Status) -> Event | None:
    if s.llm_ok == told or s.llm_ok is None:
        return None
    if s.llm_ok:
        return ("LLM reachable again", s.llm_url) if told is False else None
    if not s.llm_url:
        return "No LLM set up", "Questions need an LLM: right-click the tray icon to connect one (or set remote_llm_url)."
    detail = (s.llm_note or s.llm_url).rstrip(". ")
    return "LLM unreachable", f"{detail}. Check that the Colab notebook (or server) is running and the URL is current."


def setup_event(told: str, s: Status) -> Event | None:
    """The welcome: the cloned voice's model is missing (a first start, or the model folder was removed)."""
    if s.model_setup != SETUP_NEEDED or told == SETUP_NEEDED:
        return None
    return ("Welcome to VoxTray", "Questions are answered aloud. To hear them in a voice cloned from yours, VoxTray "
            f"needs the XTTS v2 model once (about 1.9 GB): {how_to_get()}.")


def message_event(told: str, s: Status) -> Event | None:
    text = s.message.strip()
    if not text or s.message == told:
        return None
    return "VoxTray", text


class Notifier:
    """Subscribes to the bus and calls `send(title, text)` for the transitions the user should hear about."""

    def __init__(
        self,
        bus: StatusBus,
        send: Send,
        *,
        enabled: Callable[[], bool] = lambda: True,
        cooldown_s: float = 30.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._bus = bus
        self._send = send
        self._enabled = enabled
        self._cooldown = cooldown_s
        self._clock = clock
        self._lock = threading.Lock()
        start = bus.current
        self._told: dict[str, Any] = {k: _state(k, start) for k in KINDS}
        self._told["tier"] = Tier.STARTING if start.tier is Tier.STARTING else start.tier
        self._last_sent: dict[str, float] = {}
        self._pending: set[str] = set()
        self._due_at: float | None = None  # time.monotonic() when the pending kinds are told
        self._worker = Worker("voxtray-notify", self._tick)
        self._unsubscribe: Callable[[], None] | None = None
        self._closed = False

    def start(self) -> Notifier:
        self._worker.start()
        self._unsubscribe = self._bus.subscribe(self._on_change)
        return self

    def close(self) -> None:
        """Unsubscribe and drop what is pending (nothing is sent after this returns)."""
        with self._lock:
            self._closed = True
            self._due_at = None
        if self._unsubscribe:
            self._unsubscribe()
        self._worker.stop()

    def _event(self, kind: str, s: Status) -> Event | None:
        told = self._told[kind]
        if kind == "tier":
            return tier_event(told, s)
        if kind == "llm":
            return llm_event(told, s)
        if kind == "setup":
            return setup_event(told, s)
        return message_event(told, s)

    def _on_change(self, old: Status, new: Status) -> None:
        for kind in KINDS:
            if _state(kind, old) != _state(kind, new):
                self._consider(kind, new)

    def _consider(self, kind: str, s: Status) -> None:
        with self._lock:
            if self._closed:
                return
            now = self._clock()
            last = self._last_sent.get(kind)
            if last is not None and now - last < self._cooldown:
                self._pending.add(kind)
                self._schedule(last + self._cooldown - now)
                return
            event = self._event(kind, s)
            self._told[kind] = _state(kind, s)
            if event:
                self._last_sent[kind] = now
        if event:
            self._deliver(kind, event)

    def _schedule(self, delay: float) -> None:
        """Caller holds the lock: flush the pending kinds in `delay` s (unless a flush is already due)."""
        if self._due_at is not None:
            return
        self._due_at = time.monotonic() + max(0.0, delay)
        self._worker.wake()

    def _tick(self) -> float | None:
        """The worker's step: flush when the cooldown is over; returns how long to wait before looking again."""
        with self._lock:
            if self._due_at is None or self._closed:
                return None
            left = self._due_at - time.monotonic()
            if left > 0:
                return left
            self._due_at = None
        self._flush()
        return None

    def _flush(self) -> None:
        """Cooldown over: tell the user about the current state of each pending kind."""
        with self._lock:
            kinds, self._pending = self._pending, set()
        for kind in kinds:
            self._consider(kind, self._bus.current)

    def _deliver(self, kind: str, event: Event) -> None:
        title, text = event
        if not self._enabled():
            log.info("notification (%s, disabled in settings): %s: %s", kind, title, text)
            return
        log.info("notification (%s): %s: %s", kind, title, text)
        extra: dict[str, Any] = {}
        if kind in STICKY:
            extra["sticky"] = True
        if kind in ACTIONS:
            extra["actions"] = ACTIONS[kind]
        try:
            self._send(title, text, kind=kind, tier=self._bus.current.tier, **extra)
        except Exception:
            log.exception("could not show notification %r", title)
