"""Before Read aloud copies the selection on Windows: the keyboard focus back to the program the user was in.

    give_back()   # no-op when another program has the focus (the hotkey case)

A click on the tray menu leaves the focus with VoxTray's own hidden window (pystray makes it the foreground window
so the menu can close) or with the taskbar, so a Ctrl+C would reach nobody and Read aloud would fall back to the
clipboard. The window the user was in is still the first visible, titled, top-level window of another program in
the Z order (the taskbar and desktop skipped, as Alt+Tab skips them); it gets the foreground back (allowed: VoxTray
holds the foreground just then) and the copy waits for it, bounded.
"""

from __future__ import annotations

import ctypes
import logging
import os
import time
from ctypes import wintypes
from typing import Any

log = logging.getLogger(__name__)

SHELL_CLASSES = {"Shell_TrayWnd", "Shell_SecondaryTrayWnd", "NotifyIconOverflowWindow",
                 "TopLevelWindowForOverflowXamlIsland", "Progman", "WorkerW", "#32768"}
# the taskbar, its overflow (Windows 10, 11), the desktop, popup menus
GW_HWNDNEXT, GWL_EXSTYLE, WS_EX_TOOLWINDOW, WS_EX_NOACTIVATE = 2, -20, 0x80, 0x08000000
DWMWA_CLOAKED = 14  # Windows 10/11: hidden UWP frames, other virtual desktops' windows are visible but cloaked
WAIT_S, POLL_S = 0.5, 0.01
MAX_WINDOWS = 2000  # a bound on the Z-order walk


def _user32() -> Any:
    user32 = ctypes.WinDLL("user32", use_last_error=True)  # type: ignore[attr-defined,unused-ignore]
    sigs = {"GetForegroundWindow": ([], wintypes.HWND), "SetForegroundWindow": ([wintypes.HWND], wintypes.BOOL),
            "GetTopWindow": ([wintypes.HWND], wintypes.HWND),
            "GetWindow": ([wintypes.HWND, wintypes.UINT], wintypes.HWND),
            "IsWindowVisible": ([wintypes.HWND], wintypes.BOOL), "IsIconic": ([wintypes.HWND], wintypes.BOOL),
            "GetWindowTextLengthW": ([wintypes.HWND], ctypes.c_int),
            "GetWindowLongW": ([wintypes.HWND, ctypes.c_int], wintypes.LONG),
            "GetClassNameW": ([wintypes.HWND, wintypes.LPWSTR, ctypes.c_int], ctypes.c_int),
            "GetWindowThreadProcessId": ([wintypes.HWND, ctypes.POINTER(wintypes.DWORD)], wintypes.DWORD)}
    for name, (args, res) in sigs.items():
        fn = getattr(user32, name)
        fn.argtypes, fn.restype = args, res
    return user32


def _cloaked(hwnd: int) -> bool:
    """Is the window cloaked by DWM (visible to IsWindowVisible, not on screen)? False where DWM cannot say."""
    try:
        dwm = ctypes.WinDLL("dwmapi")  # type: ignore[attr-defined,unused-ignore]
    except OSError:
        return False
    dwm.DwmGetWindowAttribute.argtypes = [wintypes.HWND, wintypes.DWORD, ctypes.c_void_p, wintypes.DWORD]
    dwm.DwmGetWindowAttribute.restype = ctypes.c_long  # HRESULT
    cloaked = wintypes.DWORD()
    hr = dwm.DwmGetWindowAttribute(hwnd, DWMWA_CLOAKED, ctypes.byref(cloaked), ctypes.sizeof(cloaked))
    return hr == 0 and cloaked.value != 0


def _mine_or_shell(user32: Any, hwnd: int) -> bool:
    pid = wintypes.DWORD()
    user32.GetWindowThreadProcessId(hwnd, ctypes.byref(pid))
    name = ctypes.create_unicode_buffer(64)
    user32.GetClassNameW(hwnd, name, 64)
    return pid.value == os.getpid() or name.value in SHELL_CLASSES


def users_window(user32: Any) -> int | None:
    """The first window in Z order the user could have been typing in: visible, not cloaked, not minimised, titled,
    not a tool or no-activate window, of another program, not the shell's."""
    hwnd = user32.GetTopWindow(None)
    for _ in range(MAX_WINDOWS):
        if not hwnd:
            return None
        if (user32.IsWindowVisible(hwnd) and not user32.IsIconic(hwnd) and user32.GetWindowTextLengthW(hwnd) > 0
                and not user32.GetWindowLongW(hwnd, GWL_EXSTYLE) & (WS_EX_TOOLWINDOW | WS_EX_NOACTIVATE)
                and not _mine_or_shell(user32, hwnd) and not _cloaked(hwnd)):
            return int(hwnd)
        hwnd = user32.GetWindow(hwnd, GW_HWNDNEXT)
    return None


def give_back(wait_s: float = WAIT_S) -> bool:
    """When VoxTray or the shell has the focus, give it to the user's window; True when focus is (now) elsewhere."""
    user32 = _user32()
    current = user32.GetForegroundWindow()
    if current and not _mine_or_shell(user32, current):
        return True  # the hotkey case: the user's program has the focus already
    target = users_window(user32)
    if target is None:
        log.info("no window of another program to copy the selection from")
        return False
    if not user32.SetForegroundWindow(target):  # the foreground lock: allowed only while VoxTray is foreground
        log.info("Windows refused to give the focus back to the window the user was in (foreground lock)")
        return False
    deadline = time.monotonic() + wait_s
    while user32.GetForegroundWindow() != target:
        if time.monotonic() >= deadline:
            log.info("the window the user was in did not take the focus back within %.1f s", wait_s)
            return False
        time.sleep(POLL_S)
    log.info("focus given back to the window the user was in before the tray menu")
    return True
