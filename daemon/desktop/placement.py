"""Where the question box appears and how it takes the keyboard: below the pointer on the pointer's monitor,
brought to the foreground past Windows' focus-stealing rules."""

from __future__ import annotations

import sys

Rect = tuple[int, int, int, int]  # left, top, right, bottom


def place(pointer: tuple[int, int], monitor: Rect, size: tuple[int, int], gap: int = 16) -> tuple[int, int]:
    """Top-left corner for a box of `size` just below the pointer, kept inside the pointer's monitor (whose
    coordinates may be negative: a monitor left of or above the primary one)."""
    (px, py), (left, top, right, bottom), (w, h) = pointer, monitor, size
    x = max(left, min(px - w // 2, right - w))
    y = max(top, min(py + gap, bottom - h))
    return x, y


def monitor_of(point: tuple[int, int], fallback: Rect) -> Rect:
    """The work area of the monitor under `point` (Windows; elsewhere `fallback`, the whole screen)."""
    if sys.platform != "win32":
        return fallback
    import ctypes
    from ctypes import wintypes

    class MONITORINFO(ctypes.Structure):
        _fields_ = [("cbSize", wintypes.DWORD), ("rcMonitor", wintypes.RECT), ("rcWork", wintypes.RECT),
                    ("dwFlags", wintypes.DWORD)]

    user32 = ctypes.windll.user32
    user32.MonitorFromPoint.restype = wintypes.HMONITOR
    user32.MonitorFromPoint.argtypes = [wintypes.POINT, wintypes.DWORD]
    user32.GetMonitorInfoW.argtypes = [wintypes.HMONITOR, ctypes.POINTER(MONITORINFO)]
    monitor = user32.MonitorFromPoint(wintypes.POINT(*point), 2)  # MONITOR_DEFAULTTONEAREST
    info = MONITORINFO(cbSize=ctypes.sizeof(MONITORINFO))
    if not monitor or not user32.GetMonitorInfoW(monitor, ctypes.byref(info)):
        return fallback
    work = info.rcWork
    return work.left, work.top, work.right, work.bottom


def force_foreground(hwnd: int) -> bool:
    """Bring `hwnd` to the foreground with keyboard focus, even when another program's window has it: Windows
    only lets the foreground thread do that, so join its input queue for the moment of the switch."""
    if sys.platform != "win32":
        return False
    import ctypes

    user32, kernel32 = ctypes.windll.user32, ctypes.windll.kernel32
    foreground = user32.GetForegroundWindow()
    if foreground == hwnd:
        return True
    ours = kernel32.GetCurrentThreadId()
    theirs = user32.GetWindowThreadProcessId(foreground, None) if foreground else 0
    attached = bool(theirs and theirs != ours and user32.AttachThreadInput(ours, theirs, True))
    try:
        user32.ShowWindow(hwnd, 5)  # SW_SHOW
        user32.BringWindowToTop(hwnd)
        ok = bool(user32.SetForegroundWindow(hwnd))
        user32.SetFocus(hwnd)
    finally:
        if attached:
            user32.AttachThreadInput(ours, theirs, False)
    return ok
