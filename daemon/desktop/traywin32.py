"""What pystray's win32 backend gets wrong for a daemon, fixed in one subclass (pystray 0.19.5).

- Text limits: NOTIFYICONDATAW holds at most 127 UTF-16 units of tooltip, 255 of notification text and 63 of
  notification title; pystray raises ValueError beyond them. `fit()` shortens text to a limit with an ellipsis,
  never splitting a surrogate pair.
- Crisp icons: pystray writes a single-size .ico and loads it at the large-icon size, which the tray then
  shrinks (blurred). The subclass writes every small-icon size, each drawn at that size, and loads the one
  matching SM_CXSMICON at the current DPI.
- Session end: pystray answers every message it does not know with 0, so WM_QUERYENDSESSION says "do not log
  off" and WM_CLOSE does nothing. The subclass lets the session end and stops VoxTray cleanly on WM_ENDSESSION
  (before returning: Windows may end the process any time after) and on WM_CLOSE.
"""

from __future__ import annotations

import logging
import os
import sys
import tempfile
import threading
from collections.abc import Callable
from typing import Any

from PIL import Image

log = logging.getLogger(__name__)

TIP_UNITS, INFO_UNITS, INFO_TITLE_UNITS = 127, 255, 63
ICON_SIZES = (16, 20, 24, 32, 40, 48, 64)
WM_CLOSE, WM_QUERYENDSESSION, WM_ENDSESSION = 0x0010, 0x0011, 0x0016
SM_CXSMICON = 49
WINDOW_TITLE, MENU_WINDOW_TITLE = "VoxTray", "VoxTray menu owner"
ELLIPSIS = "…"


def utf16_units(text: str) -> int:
    return len(text.encode("utf-16-le")) // 2


def fit(text: str, units: int) -> str:
    """`text` shortened to at most `units` UTF-16 code units (ending in an ellipsis when shortened)."""
    if utf16_units(text) <= units:
        return text
    budget = units - 1
    out: list[str] = []
    used = 0
    for ch in text:
        need = 2 if ord(ch) > 0xFFFF else 1
        if used + need > budget:
            break
        out.append(ch)
        used += need
    return "".join(out).rstrip() + ELLIPSIS


def small_icon_size() -> int:
    """SM_CXSMICON at this process's DPI (16 at 100 %, 20 at 125 %, 24 at 150 %, 32 at 200 %)."""
    if sys.platform != "win32":
        return 16
    import ctypes

    size = int(ctypes.windll.user32.GetSystemMetrics(SM_CXSMICON))
    return size if size >= 16 else 16


def write_ico(frames: dict[int, Image.Image], path: str) -> None:
    """One .ico holding each frame at its own size (drawn there, not downscaled)."""
    sizes = sorted(frames)
    largest = frames[sizes[-1]].convert("RGBA")
    others = [frames[s].convert("RGBA") for s in sizes[:-1]]
    largest.save(path, format="ICO", sizes=[(s, s) for s in sizes], append_images=others)


def icon_class(base: type[Any], on_end_session: Callable[[], None] | None = None,
               on_close: Callable[[], None] | None = None) -> type[Any]:
    """A subclass of pystray's win32 Icon with the fixes above. The frames of a multi-size icon travel with the
    image as `image.info["voxtray_frames"]` (see icons.render_icon_frames)."""

    class VoxTrayIcon(base):  # type: ignore[misc, valid-type]
        _icon_handle: Any

        def __init__(self, *args: Any, **kwargs: Any) -> None:
            self._menu_lock = threading.Lock()
            self._tracking = False  # the popup menu is open (TrackPopupMenuEx runs on the tray's thread)
            self._menu_stale = False  # a menu change came meanwhile: applied once the popup closes
            super().__init__(*args, **kwargs)
            self._message_handlers.update({
                WM_QUERYENDSESSION: lambda _w, _l: 1,
                WM_ENDSESSION: self._on_end_session,
                WM_CLOSE: self._on_close,
            })

        def _create_window(self, atom: Any) -> Any:
            """pystray makes two windows of one class (the icon's, then the menu's owner): name them, so tools
            (and tests) can tell which one receives the icon's messages."""
            hwnd = super()._create_window(atom)
            if sys.platform == "win32":
                import ctypes

                ctypes.windll.user32.SetWindowTextW(hwnd, WINDOW_TITLE if self._hwnd is None else MENU_WINDOW_TITLE)
            return hwnd

        def _update_menu(self) -> None:
            """pystray rebuilds the HMENU on every change, from the caller's thread, destroying the one an open
            popup is tracking: the user's click was lost (the status changes several times a second at start-up).
            While the popup is open the change waits; it is applied when the popup closes."""
            with self._menu_lock:
                if self._tracking:
                    self._menu_stale = True
                    return
                super()._update_menu()

        def _on_notify(self, wparam: int, lparam: int) -> Any:
            from pystray._util import win32

            if lparam != win32.WM_RBUTTONUP:
                return super()._on_notify(wparam, lparam)
            with self._menu_lock:
                self._tracking = True
            try:
                return super()._on_notify(wparam, lparam)  # shows the popup, runs the chosen item's callback
            finally:
                with self._menu_lock:
                    self._tracking = False
                    stale, self._menu_stale = self._menu_stale, False
                    if stale:
                        super()._update_menu()

        def _on_end_session(self, wparam: int, _lparam: int) -> int:
            if wparam and on_end_session is not None:
                log.info("Windows is ending the session: stopping")
                try:
                    on_end_session()
                except Exception:
                    log.exception("stopping for the end of the session failed")
            return 0

        def _on_close(self, _wparam: int, _lparam: int) -> int:
            log.info("WM_CLOSE received: stopping")
            if on_close is not None:
                on_close()
            return 0

        def _update_title(self) -> None:
            from pystray._util import win32

            self._message(win32.NIM_MODIFY, win32.NIF_TIP, szTip=fit(self.title or "", TIP_UNITS))

        def _notify(self, message: str, title: str | None = None) -> None:
            super()._notify(fit(message, INFO_UNITS), fit(title or self.title or "", INFO_TITLE_UNITS))

        def _assert_icon_handle(self) -> None:
            if self._icon_handle:
                return
            frames = dict(self.icon.info.get("voxtray_frames") or {})
            if not frames:
                super()._assert_icon_handle()
                return
            from pystray._util import win32

            fd, path = tempfile.mkstemp(suffix=".ico")
            os.close(fd)
            try:
                write_ico(frames, path)
                size = small_icon_size()
                self._icon_handle = win32.LoadImage(None, path, win32.IMAGE_ICON, size, size, win32.LR_LOADFROMFILE)
            finally:
                os.unlink(path)
            if not self._icon_handle:
                log.warning("LoadImage failed for the multi-size icon; using pystray's")
                super()._assert_icon_handle()

    return VoxTrayIcon
