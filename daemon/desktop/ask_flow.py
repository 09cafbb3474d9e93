"""Hotkeys -> question box -> assistant: the "ask by hotkey" flow, ready for app.py to start and stop.

    flow = AskFlow(settings, assistant, health=poller, paused=lambda: status.current.hotkeys_paused)
    flow.start()     # Tk question box thread + global hotkeys; raises HotkeyError / PromptError / SettingsError
    flow.stop()

The ask hotkey stops any answer being spoken (barge-in), asks for a fresh LLM health check while the user
types, and opens the question box; Enter in the box asks the assistant. The stop hotkey only stops.
With `talk` (daemon.listen.talk.VoiceAsk, wired by app.py), `hotkey_talk` asks by voice: pressed (and, in hold
mode, released) it calls talk.press() / talk.release(); the ask and stop hotkeys cancel any listening.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from typing import Protocol

from daemon.desktop.hotkeys import HotkeyListener
from daemon.desktop.prompt import QuestionBox
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
    """Owns the HotkeyListener and the QuestionBox and wires them to the Assistant."""

    def __init__(self, settings: Settings, assistant: Asker, *, health: HealthCheck | None = None,
                 paused: Callable[[], bool] | None = None, backend: str | None = None,
                 prepare: Callable[[], None] | None = None, talk: Talk | None = None) -> None:
        self.assistant = assistant
        self.health = health
        self.paused = paused or (lambda: False)
        self.prepare = prepare  # e.g. start the audio stream while the user types
        self.talk = talk
        self.box = QuestionBox(self._submit)
        bindings = {settings.hotkey_ask: self.on_ask_hotkey, settings.hotkey_stop: self.on_stop_hotkey}
        names = {settings.hotkey_ask: "hotkey_ask", settings.hotkey_stop: "hotkey_stop"}
        releases: dict[str, Callable[[], None]] = {}
        if talk is not None and settings.hotkey_talk.strip():
            bindings[settings.hotkey_talk] = self.on_talk_hotkey
            names[settings.hotkey_talk] = "hotkey_talk"
            releases[settings.hotkey_talk] = self.on_talk_release
        self.hotkeys = HotkeyListener(bindings, backend=backend, names=names, releases=releases)
        if talk is not None:
            talk.attach(self.box, hold=self.hotkeys.supports_release)

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
        """Barge-in and open the question box (also what a tray "Ask..." item should call)."""
        if self.paused():
            return
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

    def on_talk_release(self) -> None:
        if self.talk is not None:
            self.talk.release()

    def _submit(self, question: str, t_hotkey: float | None) -> None:
        self.assistant.ask(question, t_hotkey=t_hotkey)
