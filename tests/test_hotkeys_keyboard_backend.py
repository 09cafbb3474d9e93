"""The Windows backend (`keyboard` package), tested at its boundary.

The real `keyboard` package needs Windows (or root and /dev/input on Linux; absent here), so a recording
stand-in module replaces it in sys.modules: it checks what HotkeyListener registers and removes, and fires
the registered callbacks the way `keyboard` does (on its own thread, with the given args).
"""

from __future__ import annotations

import sys
import threading
import types
from collections.abc import Callable
from typing import Any

import pytest

from daemon.desktop.hotkeys import HotkeyError, HotkeyListener


class FakeKeyboard(types.ModuleType):
    def __init__(self) -> None:
        super().__init__("keyboard")
        self.hotkeys: dict[int, tuple[str, Callable[..., Any], tuple[Any, ...], bool]] = {}
        self.removed: list[int] = []

    def add_hotkey(self, hotkey: str, callback: Callable[..., Any], args: tuple[Any, ...] = (),
                   suppress: bool = False, timeout: float = 1, trigger_on_release: bool = False) -> int:
        handle = len(self.hotkeys) + 1
        self.hotkeys[handle] = (hotkey, callback, args, suppress)
        return handle

    def remove_hotkey(self, handle: int) -> None:
        del self.hotkeys[handle]
        self.removed.append(handle)

    def press(self, hotkey: str) -> None:
        """Fire like keyboard's listener thread does."""
        for name, cb, args, _ in list(self.hotkeys.values()):
            if name == hotkey:
                t = threading.Thread(target=cb, args=args)
                t.start()
                t.join()


def test_keyboard_backend_registers_fires_and_removes(monkeypatch: pytest.MonkeyPatch) -> None:
    fake = FakeKeyboard()
    monkeypatch.setitem(sys.modules, "keyboard", fake)
    asked, stopped = threading.Event(), threading.Event()
    listener = HotkeyListener({"ctrl+alt+space": asked.set, "win+shift+x": stopped.set}, backend="keyboard")
    listener.start()
    try:
        assert sorted((n, s) for n, _, _, s in fake.hotkeys.values()) == [
            ("ctrl+alt+space", False), ("shift+windows+x", False)]  # never suppress: the keys still reach apps
        fake.press("ctrl+alt+space")
        assert asked.wait(2) and not stopped.is_set()
        fake.press("shift+windows+x")
        assert stopped.wait(2)
    finally:
        listener.stop()
    assert fake.hotkeys == {} and sorted(fake.removed) == [1, 2]


def test_a_failing_action_does_not_end_hotkeys(monkeypatch: pytest.MonkeyPatch) -> None:
    fake = FakeKeyboard()
    monkeypatch.setitem(sys.modules, "keyboard", fake)
    later = threading.Event()
    calls = []

    def broken() -> None:
        calls.append(1)
        raise RuntimeError("boom")

    listener = HotkeyListener({"ctrl+alt+b": broken, "ctrl+alt+l": later.set}, backend="keyboard")
    listener.start()
    try:
        fake.press("ctrl+alt+b")
        fake.press("ctrl+alt+l")
        assert later.wait(2) and calls == [1]
    finally:
        listener.stop()


def test_keyboard_package_missing_says_how_to_install(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "keyboard", None)  # import keyboard -> ImportError
    with pytest.raises(HotkeyError, match="pip install keyboard"):
        HotkeyListener({"ctrl+alt+space": lambda: None}, backend="keyboard").start()


def test_keyboard_hook_refused_is_a_clear_error(monkeypatch: pytest.MonkeyPatch) -> None:
    """What the real package does on Linux without /dev/input access: a bare AssertionError."""
    fake = FakeKeyboard()

    def refuse(*_a: Any, **_k: Any) -> int:
        raise AssertionError()

    fake.add_hotkey = refuse  # type: ignore[method-assign]
    monkeypatch.setitem(sys.modules, "keyboard", fake)
    with pytest.raises(HotkeyError, match="could not be registered"):
        HotkeyListener({"ctrl+alt+space": lambda: None}, backend="keyboard").start()
