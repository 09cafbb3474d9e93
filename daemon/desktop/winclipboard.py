"""The selection on Windows: copied with a simulated Ctrl+C, the user's clipboard given back untouched.

    text, copied = copy_selection(timeout_s=1.0)   # copied False: nothing was selected; text is the clipboard's
    clipboard_text()                               # the clipboard's text only

copy_selection (1) waits until the hotkey's modifiers are up (else the app would see Ctrl+Alt+C), bounded;
(2) saves every format on the clipboard (EnumClipboardFormats; memory-backed formats copied byte for byte);
(3) sends Ctrl+C with SendInput and waits for GetClipboardSequenceNumber to change, bounded; (4) reads
CF_UNICODETEXT; (5) when the copy changed the clipboard, puts the saved formats back (EmptyClipboard, then
SetClipboardData of fresh HGLOBAL copies), so the user's clipboard holds what it held before.

Not restorable byte for byte: formats whose data is a GDI or other handle, not memory — CF_BITMAP,
CF_METAFILEPICT, CF_PALETTE, CF_ENHMETAFILE, CF_OWNERDISPLAY, CF_DSPBITMAP, CF_DSPMETAFILEPICT,
CF_DSPENHMETAFILE, and the private (0x200-0x2FF) and GDI-object (0x300-0x3FF) ranges. They are skipped;
a bitmap still comes back, since Windows lists CF_DIB for every bitmap (synthesised) and makes CF_BITMAP
from it again. A window that owns the clipboard with delayed rendering is asked to render each format while
saving. Windows' clipboard history (Win+V) may keep the temporary copy as an entry.
"""

from __future__ import annotations

import ctypes
import logging
import time
from ctypes import wintypes
from typing import Any

log = logging.getLogger(__name__)

CF_UNICODETEXT = 13
HANDLE_FORMATS = {2, 3, 9, 14, 0x80, 0x82, 0x83, 0x8E}  # see the module docstring
GMEM_MOVEABLE = 0x0002
HWND_MESSAGE = -3
VK_CONTROL, VK_C = 0x11, 0x43
MODIFIER_VKS = (0x10, 0x11, 0x12, 0x5B, 0x5C)  # shift, ctrl, alt, left and right win
INPUT_KEYBOARD, KEYEVENTF_KEYUP = 1, 0x2
POLL_S = 0.01
OPEN_TRIES = 50  # OpenClipboard is retried this many times, POLL_S apart (another program may hold it)


class ClipboardError(OSError):
    """The clipboard could not be opened (another program holds it) or written."""


class _KEYBDINPUT(ctypes.Structure):
    _fields_ = [("wVk", wintypes.WORD), ("wScan", wintypes.WORD), ("dwFlags", wintypes.DWORD),
                ("time", wintypes.DWORD), ("dwExtraInfo", ctypes.c_size_t)]


class _MOUSEINPUT(ctypes.Structure):  # the union's largest member: sizeof(INPUT) is 40 on x64
    _fields_ = [("dx", wintypes.LONG), ("dy", wintypes.LONG), ("mouseData", wintypes.DWORD),
                ("dwFlags", wintypes.DWORD), ("time", wintypes.DWORD), ("dwExtraInfo", ctypes.c_size_t)]


class _INPUT(ctypes.Structure):
    class _U(ctypes.Union):
        _fields_ = [("ki", _KEYBDINPUT), ("mi", _MOUSEINPUT)]

    _anonymous_ = ("u",)
    _fields_ = [("type", wintypes.DWORD), ("u", _U)]


def _apis() -> tuple[Any, Any]:
    """user32 and kernel32 with the signatures used here (handles are pointer-sized)."""
    user32 = ctypes.WinDLL("user32", use_last_error=True)  # type: ignore[attr-defined,unused-ignore]
    kernel32 = ctypes.WinDLL("kernel32", use_last_error=True)  # type: ignore[attr-defined,unused-ignore]
    sigs = {
        user32: {"OpenClipboard": ([wintypes.HWND], wintypes.BOOL), "CloseClipboard": ([], wintypes.BOOL),
                 "EmptyClipboard": ([], wintypes.BOOL), "EnumClipboardFormats": ([wintypes.UINT], wintypes.UINT),
                 "GetClipboardData": ([wintypes.UINT], wintypes.HANDLE),
                 "SetClipboardData": ([wintypes.UINT, wintypes.HANDLE], wintypes.HANDLE),
                 "GetClipboardSequenceNumber": ([], wintypes.DWORD), "GetAsyncKeyState": ([ctypes.c_int], ctypes.c_short),
                 "SendInput": ([wintypes.UINT, ctypes.c_void_p, ctypes.c_int], wintypes.UINT),
                 "MapVirtualKeyW": ([wintypes.UINT, wintypes.UINT], wintypes.UINT),
                 "CreateWindowExW": ([wintypes.DWORD, wintypes.LPCWSTR, wintypes.LPCWSTR, wintypes.DWORD, ctypes.c_int,
                                      ctypes.c_int, ctypes.c_int, ctypes.c_int, wintypes.HWND, wintypes.HMENU,
                                      wintypes.HINSTANCE, wintypes.LPVOID], wintypes.HWND),
                 "DestroyWindow": ([wintypes.HWND], wintypes.BOOL)},
        kernel32: {"GlobalAlloc": ([wintypes.UINT, ctypes.c_size_t], wintypes.HGLOBAL),
                   "GlobalLock": ([wintypes.HGLOBAL], wintypes.LPVOID), "GlobalUnlock": ([wintypes.HGLOBAL], wintypes.BOOL),
                   "GlobalSize": ([wintypes.HGLOBAL], ctypes.c_size_t), "GlobalFree": ([wintypes.HGLOBAL], wintypes.HGLOBAL)},
    }
    for dll, table in sigs.items():
        for name, (args, res) in table.items():
            fn = getattr(dll, name)
            fn.argtypes, fn.restype = args, res
    return user32, kernel32


class _Open:
    """The clipboard opened for a private message-only window (SetClipboardData needs an owner window)."""

    def __init__(self, user32: Any) -> None:
        self.user32 = user32
        self.hwnd = user32.CreateWindowExW(0, "STATIC", "voxtray-clipboard", 0, 0, 0, 0, 0, HWND_MESSAGE, None, None,
                                           None)

    def __enter__(self) -> _Open:
        for _ in range(OPEN_TRIES):
            if self.user32.OpenClipboard(self.hwnd):
                return self
            time.sleep(POLL_S)
        error = ctypes.get_last_error()  # type: ignore[attr-defined,unused-ignore]  # before DestroyWindow sets it
        self._destroy()
        raise ClipboardError(f"the clipboard is in use by another program (error {error})")

    def __exit__(self, *exc: object) -> None:
        self.user32.CloseClipboard()
        self._destroy()

    def _destroy(self) -> None:
        if self.hwnd:
            self.user32.DestroyWindow(self.hwnd)
            self.hwnd = None


def save_formats(user32: Any, kernel32: Any, only: int | None = None) -> list[tuple[int, bytes]]:
    """Every memory-backed format on the clipboard (or just `only`), in its order, as (format, bytes)."""
    saved: list[tuple[int, bytes]] = []
    with _Open(user32):
        fmt = user32.EnumClipboardFormats(0)
        while fmt:
            if fmt not in HANDLE_FORMATS and not 0x200 <= fmt <= 0x3FF and only in (None, fmt):
                data = _read(kernel32, user32.GetClipboardData(fmt))
                if data is not None:
                    saved.append((fmt, data))
            fmt = user32.EnumClipboardFormats(fmt)
    return saved


def restore_formats(user32: Any, kernel32: Any, saved: list[tuple[int, bytes]]) -> None:
    """Make the clipboard hold exactly `saved` (an empty list: an empty clipboard)."""
    with _Open(user32):
        user32.EmptyClipboard()
        for fmt, data in saved:
            handle = kernel32.GlobalAlloc(GMEM_MOVEABLE, max(1, len(data)))
            pointer = kernel32.GlobalLock(handle) if handle else None
            if not pointer:
                if handle:
                    kernel32.GlobalFree(handle)
                raise ClipboardError(f"no memory for {len(data)} bytes of clipboard format {fmt}")
            ctypes.memmove(pointer, data, len(data))
            kernel32.GlobalUnlock(handle)
            if not user32.SetClipboardData(fmt, handle):  # on success the system owns the memory: never freed here
                error = ctypes.get_last_error()  # type: ignore[attr-defined,unused-ignore]
                kernel32.GlobalFree(handle)
                log.warning("clipboard format %s could not be put back (error %s)", fmt, error)


def _read(kernel32: Any, handle: int | None) -> bytes | None:
    if not handle:
        return None
    pointer = kernel32.GlobalLock(handle)
    if not pointer:
        return None
    try:
        return ctypes.string_at(pointer, kernel32.GlobalSize(handle))
    finally:
        kernel32.GlobalUnlock(handle)


def text_of(saved: list[tuple[int, bytes]]) -> str:
    """The CF_UNICODETEXT among saved formats ('' when there is none), up to its terminating NUL."""
    data = dict(saved).get(CF_UNICODETEXT, b"")
    text = data.decode("utf-16-le", errors="replace")
    return text.split("\0", 1)[0]


def wait_modifiers_up(user32: Any, timeout_s: float) -> bool:
    """Wait until Shift, Ctrl, Alt and Win are all up; False when one is still held at the deadline."""
    deadline = time.monotonic() + timeout_s
    while any(user32.GetAsyncKeyState(vk) & 0x8000 for vk in MODIFIER_VKS):
        if time.monotonic() >= deadline:
            return False
        time.sleep(POLL_S)
    return True


def send_copy(user32: Any) -> None:
    """Ctrl+C to the window that has the keyboard focus, as the keyboard would type it."""
    keys = [(VK_CONTROL, False), (VK_C, False), (VK_C, True), (VK_CONTROL, True)]
    events = (_INPUT * 4)(*(_INPUT(type=INPUT_KEYBOARD, ki=_KEYBDINPUT(
        wVk=vk, wScan=user32.MapVirtualKeyW(vk, 0), dwFlags=KEYEVENTF_KEYUP if up else 0)) for vk, up in keys))
    if user32.SendInput(4, events, ctypes.sizeof(_INPUT)) != 4:
        log.warning("SendInput could not type Ctrl+C (error %s)", ctypes.get_last_error())  # type: ignore[attr-defined,unused-ignore]


def copy_selection(timeout_s: float = 1.0, keys_timeout_s: float = 2.0) -> tuple[str, bool]:
    """(text, copied): the selection copied by Ctrl+C (copied True), else the clipboard's text (copied False).
    The clipboard is given back as it was; raises ClipboardError when it cannot be opened."""
    user32, kernel32 = _apis()
    if not wait_modifiers_up(user32, keys_timeout_s):
        log.warning("a modifier key is still held after %.1f s; copying anyway", keys_timeout_s)
    saved = save_formats(user32, kernel32)
    before = user32.GetClipboardSequenceNumber()
    send_copy(user32)
    deadline = time.monotonic() + timeout_s
    while user32.GetClipboardSequenceNumber() == before and time.monotonic() < deadline:
        time.sleep(POLL_S)
    if user32.GetClipboardSequenceNumber() == before:
        log.info("Ctrl+C copied nothing within %.1f s (nothing selected)", timeout_s)
        return text_of(saved), False
    try:
        copied = text_of(save_formats(user32, kernel32, CF_UNICODETEXT))  # waits while the app still holds the clipboard open
    finally:
        restore_formats(user32, kernel32, saved)
    log.info("copied the selection (%d characters); the clipboard's %d formats put back", len(copied), len(saved))
    return (copied, True) if copied.strip() else (text_of(saved), False)


def clipboard_text() -> str:
    """The clipboard's text ('' when it has none)."""
    user32, kernel32 = _apis()
    return text_of(save_formats(user32, kernel32, CF_UNICODETEXT))
