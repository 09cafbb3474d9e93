"""The Windows backend (user32 RegisterHotKey on a message-loop thread), tested at its ctypes boundary.

user32 is FAKED here: FakeUser32 plays Windows' side (a system-wide table of registered hotkeys that refuses
a taken combo with ERROR_HOTKEY_ALREADY_REGISTERED, one message queue per thread, GetMessageW blocking on
it, PostThreadMessageW, a US layout for VkKeyScanW, a per-thread last error) and records on which thread
each call ran. It is injected through HotkeyListener(user32=..., last_error=...). Everything above that seam
is the real code: combo -> (modifiers, vk), the loop thread, the rollback, the dispatcher thread. The real
RegisterHotKey runs in the Windows lane under Wine (tests_win/, written by the lead).
"""

from __future__ import annotations

import logging
import queue
import re
import threading
from typing import Any

import pytest

from daemon.desktop import hotkeys, winhotkeys
from daemon.desktop.hotkeys import NAMED_KEYS, HotkeyError, HotkeyListener, altgr_conflict, parse_combo
from daemon.desktop.winhotkeys import (
    MOD_ALT,
    MOD_CONTROL,
    MOD_NOREPEAT,
    MOD_SHIFT,
    MOD_WIN,
    WM_HOTKEY,
    WM_QUIT,
    hotkey_for,
)

US_PUNCTUATION = {"`": 0xC0, "-": 0xBD, "=": 0xBB, "[": 0xDB, "]": 0xDD, ";": 0xBA, "'": 0xDE, ",": 0xBC,
                  ".": 0xBE, "/": 0xBF, "\\": 0xDC}


class FakeUser32:
    """Windows' side of RegisterHotKey, recording the native thread id of every call."""

    def __init__(self, layout: dict[str, int] | None = None) -> None:
        self.layout = US_PUNCTUATION if layout is None else layout  # char -> VkKeyScanW result
        self.table: dict[tuple[int, int], tuple[int, int]] = {}  # (modifiers, vk) -> (thread, id), system-wide
        self.queues: dict[int, queue.Queue[tuple[int, int]]] = {}
        self.calls: list[tuple[str, int, tuple[Any, ...]]] = []
        self.fail_with: dict[tuple[int, int], int] = {}  # (modifiers, vk) -> error code RegisterHotKey sets
        self._error = threading.local()
        self._lock = threading.Lock()

    def last_error(self) -> int:
        return int(getattr(self._error, "code", 0))

    def _call(self, name: str, *args: Any) -> int:
        tid = threading.get_native_id()
        with self._lock:
            self.calls.append((name, tid, args))
        return tid

    def threads_of(self, name: str) -> set[int]:
        return {tid for n, tid, _ in self.calls if n == name}

    # ---- user32 ----
    def PeekMessageW(self, p_msg: Any, hwnd: Any, lo: int, hi: int, flags: int) -> int:
        tid = self._call("PeekMessageW", lo, hi, flags)
        self.queues.setdefault(tid, queue.Queue())
        return 0

    def RegisterHotKey(self, hwnd: Any, hotkey_id: int, modifiers: int, vk: int) -> int:
        tid = self._call("RegisterHotKey", hwnd, hotkey_id, modifiers, vk)
        key = (modifiers & ~MOD_NOREPEAT, vk)
        with self._lock:
            code = self.fail_with.get(key) or (winhotkeys.ERROR_HOTKEY_ALREADY_REGISTERED if key in self.table else 0)
            if code:
                self._error.code = code
                return 0
            self.table[key] = (tid, hotkey_id)
        return 1

    def UnregisterHotKey(self, hwnd: Any, hotkey_id: int) -> int:
        tid = self._call("UnregisterHotKey", hwnd, hotkey_id)
        with self._lock:
            for key, owner in list(self.table.items()):
                if owner == (tid, hotkey_id):  # only the registering thread can unregister (as on Windows)
                    del self.table[key]
                    return 1
        self._error.code = 1419  # ERROR_HOTKEY_NOT_REGISTERED
        return 0

    def GetMessageW(self, p_msg: Any, hwnd: Any, lo: int, hi: int) -> int:
        message, wparam = self.queues[threading.get_native_id()].get()
        p_msg.contents.message, p_msg.contents.wParam = message, wparam
        return 0 if message == WM_QUIT else 1

    def PostThreadMessageW(self, tid: int, message: int, wparam: int, lparam: int) -> int:
        self._call("PostThreadMessageW", tid, message, wparam)
        if tid not in self.queues:
            return 0
        self.queues[tid].put((message, wparam))
        return 1

    def AllowSetForegroundWindow(self, pid: int) -> int:
        self._call("AllowSetForegroundWindow", pid)
        return 1

    def VkKeyScanW(self, char: str) -> int:
        return self.layout.get(char, -1)

    # ---- the user ----
    def press(self, text: str) -> bool:
        """The user presses a combo: WM_HOTKEY goes to the thread that registered it, if any."""
        combo = parse_combo(text)
        modifiers, vk = hotkey_for(combo.modifiers, combo.key, self)
        owner = self.table.get((modifiers & ~MOD_NOREPEAT, vk))
        if owner is None:
            return False
        self.queues[owner[0]].put((WM_HOTKEY, owner[1]))
        return True


def listener_for(fake: FakeUser32, bindings: dict[str, Any], names: dict[str, str] | None = None) -> HotkeyListener:
    return HotkeyListener(bindings, backend="win32", names=names, user32=fake, last_error=fake.last_error)


# ---- combo -> (modifiers, vk) ------------------------------------------------------------------------
EXPECTED_VK = {
    "space": 0x20, "enter": 0x0D, "esc": 0x1B, "tab": 0x09, "backspace": 0x08, "delete": 0x2E, "insert": 0x2D,
    "home": 0x24, "end": 0x23, "page_up": 0x21, "page_down": 0x22, "left": 0x25, "up": 0x26, "right": 0x27,
    "down": 0x28, "pause": 0x13, "print_screen": 0x2C, "menu": 0x5D,
    **{f"f{i}": 0x6F + i for i in range(1, 25)},  # F1 = 0x70 ... F24 = 0x87
}


def test_every_named_key_has_its_virtual_key_code() -> None:
    assert set(NAMED_KEYS.values()) == set(EXPECTED_VK)  # no named key left without a code
    for name, vk in EXPECTED_VK.items():
        assert hotkey_for(("ctrl",), name) == (MOD_CONTROL | MOD_NOREPEAT, vk), name
    assert hotkey_for((), "f24") == (MOD_NOREPEAT, 0x87)


@pytest.mark.parametrize(("text", "modifiers", "vk"), [
    ("ctrl+alt+space", MOD_CONTROL | MOD_ALT, 0x20),
    ("ctrl+alt+backspace", MOD_CONTROL | MOD_ALT, 0x08),
    ("Win+Shift+a", MOD_WIN | MOD_SHIFT, 0x41),
    ("ctrl+z", MOD_CONTROL, 0x5A),
    ("alt+0", MOD_ALT, 0x30),
    ("ctrl+alt+shift+win+9", MOD_CONTROL | MOD_ALT | MOD_SHIFT | MOD_WIN, 0x39),
    ("ctrl+shift+page down", MOD_CONTROL | MOD_SHIFT, 0x22),
])
def test_combo_maps_to_modifier_flags_and_vk_with_norepeat(text: str, modifiers: int, vk: int) -> None:
    combo = parse_combo(text)
    assert hotkey_for(combo.modifiers, combo.key) == (modifiers | MOD_NOREPEAT, vk)


def test_punctuation_uses_the_current_layout_and_fails_clearly() -> None:
    us = FakeUser32()
    for char, vk in US_PUNCTUATION.items():
        assert hotkey_for(("ctrl", "shift"), char, us) == (MOD_CONTROL | MOD_SHIFT | MOD_NOREPEAT, vk)
    german = FakeUser32({"[": 0x0638, "-": 0xBD})  # '[' is AltGr (Ctrl+Alt) + 8 there; no '`' key
    assert hotkey_for(("ctrl", "alt"), "[", german)[1] == 0x38  # the combo holds what the character needs
    with pytest.raises(winhotkeys.KeyMapError, match="'\\[' needs ctrl\\+alt on the current keyboard layout"):
        hotkey_for(("ctrl", "shift"), "[", german)
    with pytest.raises(winhotkeys.KeyMapError, match="'`' is not on the current keyboard layout"):
        hotkey_for(("ctrl",), "`", german)
    listener = listener_for(german, {"ctrl+shift+`": lambda: None}, {"ctrl+shift+`": "hotkey_ask"})
    with pytest.raises(HotkeyError) as info:
        listener.start()
    assert str(info.value) == ("global hotkey ctrl+shift+` cannot be registered: '`' is not on the current "
                               "keyboard layout; choose another combo for 'hotkey_ask' in settings.json")
    assert german.calls == [] and not listener.running


# ---- AltGr -------------------------------------------------------------------------------------------
@pytest.mark.parametrize("text", ["ctrl+alt+x", "Alt+Ctrl+Z", "ctrl+alt+5", "ctrl+alt+;", "ctrl+alt+/"])
def test_ctrl_alt_character_clashes_with_altgr(text: str) -> None:
    why = altgr_conflict(text)
    assert why is not None and "AltGr" in why and "ctrl+alt+backspace" in why


@pytest.mark.parametrize("text", ["ctrl+alt+space", "ctrl+alt+backspace", "ctrl+alt+f9", "ctrl+alt+up",
                                  "ctrl+alt+shift+x", "win+ctrl+alt+x", "ctrl+x", "alt+x", "ctrl+shift+5"])
def test_named_keys_and_other_modifiers_do_not_clash(text: str) -> None:
    assert altgr_conflict(parse_combo(text)) is None


def test_defaults_do_not_clash_with_altgr() -> None:
    from daemon.settings import Settings

    s = Settings()
    assert (s.hotkey_ask, s.hotkey_stop) == ("ctrl+alt+space", "ctrl+alt+backspace")
    assert altgr_conflict(s.hotkey_ask) is None and altgr_conflict(s.hotkey_stop) is None


def test_altgr_clash_is_warned_once_naming_the_setting(monkeypatch: pytest.MonkeyPatch,
                                                       caplog: pytest.LogCaptureFixture) -> None:
    monkeypatch.setattr(hotkeys, "_altgr_warned", set())
    caplog.set_level(logging.WARNING, logger="daemon.desktop.hotkeys")
    for _ in range(2):
        HotkeyListener({"ctrl+alt+space": lambda: None, "ctrl+alt+x": lambda: None}, backend="win32",
                       names={"ctrl+alt+space": "hotkey_ask", "ctrl+alt+x": "hotkey_stop"})
    warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warnings) == 1 and warnings[0].startswith("hotkey_stop: 'ctrl+alt+x' is also AltGr+X")


# ---- the message loop --------------------------------------------------------------------------------
def test_windows_default_backend_is_win32(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("sys.platform", "win32")
    assert hotkeys.default_backend() == "win32"
    monkeypatch.setattr("sys.platform", "linux")
    assert hotkeys.default_backend() == "pynput"


def test_registers_on_the_loop_thread_fires_on_the_dispatcher_and_unregisters_there() -> None:
    fake = FakeUser32()
    seen: dict[str, tuple[int, str]] = {}
    asked, stopped = threading.Event(), threading.Event()

    def on(name: str, event: threading.Event) -> Any:
        def callback() -> None:
            seen[name] = (threading.get_native_id(), threading.current_thread().name)
            event.set()
        return callback

    listener = listener_for(fake, {"ctrl+alt+space": on("ask", asked), "ctrl+alt+backspace": on("stop", stopped)})
    listener.start()
    try:
        assert listener.win32 is not None
        loop = listener.win32.thread_id
        assert loop is not None and loop != threading.get_native_id()
        registered = [args for name, _, args in fake.calls if name == "RegisterHotKey"]
        assert registered == [(None, 1, MOD_CONTROL | MOD_ALT | MOD_NOREPEAT, 0x20),
                              (None, 2, MOD_CONTROL | MOD_ALT | MOD_NOREPEAT, 0x08)]
        assert fake.threads_of("RegisterHotKey") == fake.threads_of("PeekMessageW") == {loop}

        assert fake.press("ctrl+alt+space")
        assert asked.wait(2) and not stopped.is_set()
        assert fake.press("ctrl+alt+backspace")
        assert stopped.wait(2)
        for tid, thread_name in seen.values():  # callbacks run on the dispatcher, never on the loop thread
            assert tid != loop and thread_name == "hotkeys"
        assert [(tid, args) for name, tid, args in fake.calls if name == "AllowSetForegroundWindow"] == [
            (loop, (winhotkeys.ASFW_ANY,))] * 2
        assert not fake.press("ctrl+alt+x")  # not registered
    finally:
        listener.stop()
    assert fake.table == {} and not listener.running and listener.win32 is None
    assert [args[1] for name, _, args in fake.calls if name == "UnregisterHotKey"] == [1, 2]
    assert fake.threads_of("UnregisterHotKey") == {loop}  # the thread that registered them
    assert [args[1] for name, _, args in fake.calls if name == "PostThreadMessageW"][:1] == [WM_QUIT]
    assert not any(t.name in ("hotkeys", "hotkeys-win32") for t in threading.enumerate())


def test_combo_owned_by_another_program_names_combo_and_setting() -> None:
    fake = FakeUser32()
    other = listener_for(fake, {"ctrl+alt+space": lambda: None})  # "another program" owns it
    other.start()
    try:
        mine = listener_for(fake, {"Ctrl+Alt+Space": lambda: None, "ctrl+alt+backspace": lambda: None},
                            {"Ctrl+Alt+Space": "hotkey_ask", "ctrl+alt+backspace": "hotkey_stop"})
        with pytest.raises(HotkeyError) as info:
            mine.start()
        assert str(info.value) == ("ctrl+alt+space is already used by another program; choose another combo "
                                   "for 'hotkey_ask' in settings.json")
        assert not mine.running and mine.win32 is None
        assert fake.press("ctrl+alt+space")  # the other program keeps its hotkey
    finally:
        other.stop()


def test_a_failure_rolls_back_the_earlier_registrations_on_the_loop_thread() -> None:
    fake = FakeUser32()
    fake.fail_with[(MOD_CONTROL | MOD_ALT, 0x08)] = winhotkeys.ERROR_HOTKEY_ALREADY_REGISTERED
    listener = listener_for(fake, {"ctrl+alt+space": lambda: None, "ctrl+alt+backspace": lambda: None,
                                   "ctrl+shift+f9": lambda: None},
                            {"ctrl+alt+space": "hotkey_ask", "ctrl+alt+backspace": "hotkey_stop"})
    with pytest.raises(HotkeyError) as info:
        listener.start()
    assert str(info.value) == ("ctrl+alt+backspace is already used by another program; choose another combo for "
                               "'hotkey_stop' in settings.json")
    assert [args[1] for name, _, args in fake.calls if name == "RegisterHotKey"] == [1, 2]  # stopped at the failure
    assert [args[1] for name, _, args in fake.calls if name == "UnregisterHotKey"] == [1]
    assert fake.threads_of("UnregisterHotKey") == fake.threads_of("RegisterHotKey")
    assert fake.table == {} and not listener.running
    assert not any(t.name in ("hotkeys", "hotkeys-win32") for t in threading.enumerate())
    listener.stop()  # harmless after a failed start


def test_other_register_errors_carry_the_windows_error() -> None:
    fake = FakeUser32()
    fake.fail_with[(MOD_WIN, 0x7A)] = 87  # ERROR_INVALID_PARAMETER
    listener = listener_for(fake, {"win+f11": lambda: None}, {"win+f11": "hotkey_stop"})
    with pytest.raises(HotkeyError) as info:
        listener.start()
    msg = str(info.value)
    assert msg.startswith("global hotkey win+f11 could not be registered (") and "WinError 87" in msg
    assert msg.endswith("choose another combo for 'hotkey_stop' in settings.json")
    assert fake.table == {}


def test_without_names_the_message_still_says_where_to_change_it() -> None:
    fake = FakeUser32()
    fake.fail_with[(MOD_CONTROL | MOD_ALT, 0x20)] = winhotkeys.ERROR_HOTKEY_ALREADY_REGISTERED
    with pytest.raises(HotkeyError, match=re.escape("choose another combo for 'hotkey' in settings.json")):
        listener_for(fake, {"ctrl+alt+space": lambda: None}).start()


def test_a_failing_action_does_not_end_hotkeys() -> None:
    fake = FakeUser32()
    later = threading.Event()

    def broken() -> None:
        raise RuntimeError("boom")

    listener = listener_for(fake, {"ctrl+alt+b": broken, "ctrl+alt+f8": later.set})
    listener.start()
    try:
        assert fake.press("ctrl+alt+b") and fake.press("ctrl+alt+f8")
        assert later.wait(2)
    finally:
        listener.stop()


@pytest.mark.skipif(__import__("sys").platform == "win32", reason="on Windows the real user32 loads")
def test_win32_backend_off_windows_is_a_clear_error() -> None:
    with pytest.raises(HotkeyError, match="needs Windows"):
        HotkeyListener({"ctrl+alt+space": lambda: None}, backend="win32").start()
