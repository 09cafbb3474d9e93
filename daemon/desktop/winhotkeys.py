"""Windows global hotkeys through user32 RegisterHotKey on a dedicated message-loop thread (ctypes only).

    keys = [hotkey_for(("ctrl", "alt"), "space")]            # -> (MOD_CONTROL|MOD_ALT|MOD_NOREPEAT, VK_SPACE)
    loop = HotkeyThread(keys, on_hotkey=lambda index: ...)   # on_hotkey runs on the loop thread: only enqueue
    loop.start()     # registers every key on the loop thread; raises Win32HotkeyError(index, code) (none left)
    loop.stop()      # WM_QUIT to the loop; it unregisters its keys on its own thread, then ends
    wait_release(release_groups(("ctrl", "alt"), vk), user32, stop_event)   # hold-to-talk: until a key is up

Unlike a low-level keyboard hook (the `keyboard` package), a registered hotkey survives the lock screen,
Ctrl+Alt+Del and UAC, is never removed for being slow, works over elevated windows, and a combo that another
program already owns is refused (ERROR_HOTKEY_ALREADY_REGISTERED) instead of silently doing nothing.

`user32` and `last_error` are injectable (tests pass a fake); by default they are
ctypes.WinDLL("user32", use_last_error=True) and ctypes.get_last_error. Importable on any platform: ctypes'
Windows parts are touched only inside functions, under `sys.platform == "win32"`.
"""

from __future__ import annotations

import ctypes
import functools
import logging
import sys
import threading
import time
from collections.abc import Callable, Sequence
from ctypes import wintypes
from typing import Any

log = logging.getLogger(__name__)

MOD_ALT, MOD_CONTROL, MOD_SHIFT, MOD_WIN, MOD_NOREPEAT = 0x0001, 0x0002, 0x0004, 0x0008, 0x4000
WM_QUIT, WM_USER, WM_HOTKEY = 0x0012, 0x0400, 0x0312
PM_NOREMOVE = 0x0000
ERROR_HOTKEY_ALREADY_REGISTERED = 1409
ASFW_ANY = -1  # (DWORD)-1: any process may take the foreground (our own question box included)
RELEASE_POLL_S = 0.015  # how often a held combo's keys are polled (RegisterHotKey reports presses only)

MODIFIER_FLAGS = {"ctrl": MOD_CONTROL, "alt": MOD_ALT, "shift": MOD_SHIFT, "win": MOD_WIN}
MODIFIER_VKS = {"ctrl": (0x11,), "alt": (0x12,), "shift": (0x10,), "win": (0x5B, 0x5C)}  # win: left or right
VK_NAMED = {
    "space": 0x20, "enter": 0x0D, "esc": 0x1B, "tab": 0x09, "backspace": 0x08, "delete": 0x2E, "insert": 0x2D,
    "home": 0x24, "end": 0x23, "page_up": 0x21, "page_down": 0x22,
    "left": 0x25, "up": 0x26, "right": 0x27, "down": 0x28,
    "pause": 0x13, "print_screen": 0x2C, "menu": 0x5D,
    **{f"f{i}": 0x70 + i - 1 for i in range(1, 25)},
}
# VkKeyScanW's high byte: the modifiers that character needs on the current layout.
_SCAN_SHIFT_STATE = {1: "shift", 2: "ctrl", 4: "alt"}


class Win32HotkeyError(Exception):
    """RegisterHotKey (or the loop) failed; `index` is the failing key's position in the list, if any."""

    def __init__(self, index: int | None, code: int, text: str | None = None) -> None:
        self.index, self.code = index, code
        super().__init__(text or error_text(code))

    @property
    def already_registered(self) -> bool:
        return self.code == ERROR_HOTKEY_ALREADY_REGISTERED


class KeyMapError(ValueError):
    """A key has no virtual-key code on the current keyboard layout."""


def error_text(code: int) -> str:
    """Windows' own message for an error code ("Hot key is already registered. (WinError 1409)")."""
    if sys.platform == "win32":
        return f"{ctypes.FormatError(code).strip()} (WinError {code})"
    return f"WinError {code}"


@functools.cache
def load_user32() -> Any:
    """Our own WinDLL instance (its argtypes never clash with other ctypes users of user32)."""
    if sys.platform != "win32":
        raise Win32HotkeyError(None, 0, "the win32 hotkey backend needs Windows")
    dll = ctypes.WinDLL("user32", use_last_error=True)
    lp_msg = ctypes.POINTER(wintypes.MSG)
    for name, args, res in [
        ("RegisterHotKey", [wintypes.HWND, ctypes.c_int, wintypes.UINT, wintypes.UINT], wintypes.BOOL),
        ("UnregisterHotKey", [wintypes.HWND, ctypes.c_int], wintypes.BOOL),
        ("GetMessageW", [lp_msg, wintypes.HWND, wintypes.UINT, wintypes.UINT], wintypes.BOOL),
        ("PeekMessageW", [lp_msg, wintypes.HWND, wintypes.UINT, wintypes.UINT, wintypes.UINT], wintypes.BOOL),
        ("PostThreadMessageW", [wintypes.DWORD, wintypes.UINT, wintypes.WPARAM, wintypes.LPARAM], wintypes.BOOL),
        ("AllowSetForegroundWindow", [wintypes.DWORD], wintypes.BOOL),
        ("VkKeyScanW", [wintypes.WCHAR], ctypes.c_short),
        ("GetAsyncKeyState", [ctypes.c_int], ctypes.c_short),
    ]:
        fn = getattr(dll, name)
        fn.argtypes, fn.restype = args, res
    return dll


def default_last_error() -> int:
    if sys.platform == "win32":
        return ctypes.get_last_error()
    raise Win32HotkeyError(None, 0, "the win32 hotkey backend needs Windows")


def vk_for(key: str, modifiers: Sequence[str] = (), user32: Any = None) -> int:
    """Virtual-key code of one canonical key name (see hotkeys.NAMED_KEYS); punctuation uses the current
    layout (VkKeyScanW), and a character that needs modifiers the combo lacks (e.g. AltGr) is refused."""
    if key in VK_NAMED:
        return VK_NAMED[key]
    if len(key) == 1 and key.isascii() and key.isalnum():
        return ord(key.upper())
    if len(key) != 1:
        raise KeyMapError(f"'{key}' is not a key name")
    scan = int((user32 or load_user32()).VkKeyScanW(key)) & 0xFFFF
    vk, state = scan & 0xFF, scan >> 8
    if scan == 0xFFFF or vk in (0, 0xFF):
        raise KeyMapError(f"'{key}' is not on the current keyboard layout")
    needed = [name for bit, name in _SCAN_SHIFT_STATE.items() if state & bit]
    if state & ~0x07 or any(name not in modifiers for name in needed):
        raise KeyMapError(f"'{key}' needs {'+'.join(needed) or 'extra keys'} on the current keyboard layout")
    return vk


def hotkey_for(modifiers: Sequence[str], key: str, user32: Any = None) -> tuple[int, int]:
    """(fsModifiers, vk) for RegisterHotKey; MOD_NOREPEAT so holding the combo fires once."""
    flags = MOD_NOREPEAT
    for name in modifiers:
        flags |= MODIFIER_FLAGS[name]
    return flags, vk_for(key, modifiers, user32)


def release_groups(modifiers: Sequence[str], vk: int) -> list[tuple[int, ...]]:
    """The keys a held combo needs down: the key, then each modifier (a group is down when any of its keys is)."""
    return [(vk,), *(MODIFIER_VKS[m] for m in modifiers)]


def wait_release(groups: Sequence[Sequence[int]], user32: Any, stop: threading.Event,
                 poll_s: float = RELEASE_POLL_S) -> bool:
    """Poll GetAsyncKeyState until any group is up (True), or until `stop` is set (False). RegisterHotKey only
    reports presses, so hold-to-talk learns of the release this way (called on a helper thread per press)."""
    while not stop.wait(poll_s):
        for group in groups:
            if not any(int(user32.GetAsyncKeyState(vk)) & 0x8000 for vk in group):
                return True
    return False


class HotkeyThread:
    """Registers hotkeys (ids 1..n, hWnd NULL: WM_HOTKEY lands in this thread's queue) and runs GetMessageW.

    `on_hotkey(index)` runs on the loop thread right after AllowSetForegroundWindow(ASFW_ANY): keep it to an
    enqueue. Registration and unregistration both happen on the loop thread, as Windows requires."""

    def __init__(self, hotkeys: Sequence[tuple[int, int]], on_hotkey: Callable[[int], None], *,
                 user32: Any = None, last_error: Callable[[], int] | None = None) -> None:
        self.hotkeys = list(hotkeys)
        self.on_hotkey = on_hotkey
        self._user32 = user32
        self._last_error = last_error
        self.thread_id: int | None = None  # the loop's native thread id (for PostThreadMessageW)
        self._thread: threading.Thread | None = None
        self._ready = threading.Event()
        self._error: Exception | None = None

    @property
    def running(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    def start(self, timeout: float = 5.0) -> None:
        if self._thread is not None:
            return
        if self._user32 is None:
            self._user32 = load_user32()
        user32, last_error = self._user32, self._last_error or default_last_error
        self._ready.clear()
        self._error = None
        self._thread = threading.Thread(target=self._run, args=(user32, last_error), name="hotkeys-win32",
                                        daemon=True)
        self._thread.start()
        if not self._ready.wait(timeout):
            self.stop()
            raise Win32HotkeyError(None, 0, f"the hotkey thread did not start within {timeout:.0f} s")
        if self._error is not None:
            error, self._error = self._error, None
            self._thread.join(timeout)
            self._thread = None
            if isinstance(error, Win32HotkeyError):
                raise error
            raise Win32HotkeyError(None, 0, f"{type(error).__name__}: {error}") from error

    def stop(self, timeout: float = 2.0) -> None:
        thread, self._thread = self._thread, None
        if thread is None:
            return
        user32 = self._user32
        deadline = time.monotonic() + timeout
        while thread.is_alive() and time.monotonic() < deadline:
            if self.thread_id is not None:
                user32.PostThreadMessageW(self.thread_id, WM_QUIT, 0, 0)
            thread.join(0.1)
        if thread.is_alive():
            log.warning("the win32 hotkey thread did not end within %.1f s", timeout)

    def _run(self, user32: Any, last_error: Callable[[], int]) -> None:
        self.thread_id = threading.get_native_id()
        registered: list[int] = []
        try:
            msg = wintypes.MSG()
            p_msg = ctypes.pointer(msg)
            user32.PeekMessageW(p_msg, None, WM_USER, WM_USER, PM_NOREMOVE)  # creates this thread's queue
            for index, (flags, vk) in enumerate(self.hotkeys):
                if not user32.RegisterHotKey(None, index + 1, flags, vk):
                    self._error = Win32HotkeyError(index, last_error())
                    return
                registered.append(index + 1)
            self._ready.set()
            self._loop(user32, p_msg, last_error)
        except Exception as exc:  # reported by start(), or logged once running
            if self._ready.is_set():
                log.exception("the win32 hotkey loop failed")
            else:
                self._error = exc
        finally:
            for hotkey_id in registered:  # same thread as RegisterHotKey
                if not user32.UnregisterHotKey(None, hotkey_id):
                    log.debug("UnregisterHotKey(%d) failed: %s", hotkey_id, error_text(last_error()))
            self._ready.set()

    def _loop(self, user32: Any, p_msg: Any, last_error: Callable[[], int]) -> None:
        msg = p_msg.contents
        while True:
            got = user32.GetMessageW(p_msg, None, 0, 0)
            if got == 0:  # WM_QUIT
                return
            if got == -1:
                log.error("GetMessageW failed: %s; global hotkeys are off", error_text(last_error()))
                return
            if msg.message == WM_HOTKEY and 1 <= msg.wParam <= len(self.hotkeys):
                user32.AllowSetForegroundWindow(ASFW_ANY)
                try:
                    self.on_hotkey(int(msg.wParam) - 1)
                except Exception:
                    log.exception("hotkey callback failed")
