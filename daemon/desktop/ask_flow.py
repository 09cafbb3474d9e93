"""Hotkeys -> question box -> assistant: the "ask by hotkey" flow, ready for app.py to start and stop.

    flow = AskFlow(settings, assistant, health=poller, paused=lambda: status.current.hotkeys_paused)
    flow.start()     # Tk question box thread + global hotkeys; raises HotkeyError / PromptError / SettingsError
    flow.stop()

The ask hotkey stops any answer being spoken (barge-in), asks for a fresh LLM health check while the user
types, and opens the question box; Enter in the box asks the assistant. The stop hotkey only stops.
With `talk` (daemon.listen.talk.VoiceAsk, wired by app.py), `hotkey_talk` asks by voice: pressed (and, in hold
mode, released) it calls talk.press() / talk.release(); the ask and stop hotkeys cancel any listening.
With `read` (desktop.read_aloud.ReadAloud.press, wired by app.py), `hotkey_read` reads the selection aloud.
With `pause` (speech.pipeline.Pipeline.toggle_pause), `hotkey_pause` pauses what is said and resumes it.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from typing import Protocol

from daemon.desktop.hotkeys import HotkeyListener
from daemon.desktop.prompt import QuestionBox
from daemon.live import SettingsField, SettingsSource
from daemon.settings import Settings

log = logging.getLogger(__name__)


class Talk(Protocol):
    """Asking by voice (daemon.listen.talk.VoiceAsk), as the flow drives it."""

    def attach(self, box: QuestionBox, *, hold: bool = True) -> None: ...
    def press(self, t: float | None = None, *, mode: str | None = None) -> None: ...
    def release(self) -> None: ...
    def cancel(self) -> None: ...
    def close(self) -> None: ...


class Asker(Protocol):
    """What the flow drives (the app wires the assistant in): ask a question, stop answering."""

    def ask(self, question: str, *, t_hotkey: float | None = None) -> None: ...
    def stop(self) -> None: ...


class HealthCheck(Protocol):
    def check_soon(self) -> None: ...


class AskFlow:
    """Owns the HotkeyListener and the QuestionBox and wires them to the Assistant.

    The hotkeys come from `settings` (a snapshot or the daemon's provider); `rebind()` after a reload binds
    the new ones."""

    settings = SettingsField()

    def __init__(self, settings: Settings | SettingsSource, assistant: Asker, *, health: HealthCheck | None = None,
                 paused: Callable[[], bool] | None = None, backend: str | None = None,
                 prepare: Callable[[], None] | None = None, talk: Talk | None = None,
                 chip: Callable[[], str] | None = None, read: Callable[[float], None] | None = None,
                 pause: Callable[[], object] | None = None) -> None:
        self.assistant = assistant
        self.read = read
        self.pause = pause
        self.health = health
        self.paused = paused or (lambda: False)
        self.prepare = prepare  # e.g. start the audio stream while the user types
        self.talk = talk
        self.settings = settings
        self.box = QuestionBox(self._submit, chip=chip)
        self._backend = backend
        self._keys = self._wanted()
        self.hotkeys = self._listener()
        if talk is not None:
            talk.attach(self.box, hold=self.hotkeys.supports_release)

    def _wanted(self) -> tuple[str, str, str, str, str]:
        s = self.settings
        return (s.hotkey_ask, s.hotkey_stop, s.hotkey_talk if self.talk is not None else "",
                s.hotkey_read if self.read is not None else "", s.hotkey_pause if self.pause is not None else "")

    def _listener(self) -> HotkeyListener:
        ask, stop, talk, read, pause = self._keys
        bindings = {ask: self.on_ask_hotkey, stop: self.on_stop_hotkey}
        names = {ask: "hotkey_ask", stop: "hotkey_stop"}
        releases: dict[str, Callable[[], None]] = {}
        if talk.strip():
            bindings[talk] = self.on_talk_hotkey
            names[talk] = "hotkey_talk"
            releases[talk] = self.on_talk_release
        if read.strip():
            bindings[read] = self.on_read_hotkey
            names[read] = "hotkey_read"
        if pause.strip():
            bindings[pause] = self.on_pause_hotkey
            names[pause] = "hotkey_pause"
        return HotkeyListener(bindings, backend=self._backend, names=names, releases=releases)

    def rebind(self) -> None:
        """Bind the hotkeys the settings name now (after a reload); a no-op when they did not change.
        A bad new combo raises HotkeyError / SettingsError and the old hotkeys stay."""
        wanted = self._wanted()
        if wanted == self._keys:
            return
        old_keys, self._keys = self._keys, wanted
        try:
            fresh = self._listener()
        except Exception:
            self._keys = old_keys
            raise
        old, running = self.hotkeys, self.hotkeys.running
        old.stop()
        self.hotkeys = fresh
        if running:
            fresh.start()
        log.info("hotkeys re-bound: %s asks, %s stops", wanted[0], wanted[1])

    def start(self) -> None:
        self.box.start()
        try:
            self.hotkeys.start()
        except Exception:
            self.box.stop()
            raise

    def stop(self) -> None:
        self.hotkeys.stop()
        if self.talk is not None:
            self.talk.close()
        self.box.stop()

    def on_ask_hotkey(self) -> None:
        """The ask hotkey: open the question box unless hotkeys are paused."""
        if self.paused():
            return
        self.open_box()

    def open_box(self) -> None:
        """Barge-in (answer and voice question), a fresh LLM health check, the question box (also the tray's Ask)."""
        t = time.monotonic()
        if self.talk is not None:
            self.talk.cancel()
        self.assistant.stop()
        if self.health is not None:
            self.health.check_soon()
        self.box.open(t)
        if self.prepare is not None:
            try:
                self.prepare()
            except Exception:
                log.exception("preparing for the answer failed")

    def on_stop_hotkey(self) -> None:
        if self.paused():
            return
        if self.talk is not None:
            self.talk.cancel()
        self.assistant.stop()

    def on_talk_hotkey(self) -> None:
        """Ask by voice (barge-in first); in toggle mode a second press sends."""
        if self.paused() or self.talk is None:
            return
        t = time.monotonic()
        if self.health is not None:
            self.health.check_soon()
        self.talk.press(t)
        if self.prepare is not None:
            try:
                self.prepare()
            except Exception:
                log.exception("preparing for the answer failed")

    def on_read_hotkey(self) -> None:
        """Read the selection aloud (the grab runs on ReadAloud's worker: it waits for the keys' release)."""
        if self.paused() or self.read is None:
            return
        if self.talk is not None:
            self.talk.cancel()
        self.read(time.monotonic())

    def on_pause_hotkey(self) -> None:
        """Pause what is being said, or resume it from the same sample (on the hotkeys' dispatcher thread)."""
        if self.paused() or self.pause is None:
            return
        self.pause()

    def on_talk_release(self) -> None:
        if self.talk is not None:
            self.talk.release()

    def _submit(self, question: str, t_hotkey: float | None) -> None:
        self.assistant.ask(question, t_hotkey=t_hotkey)
