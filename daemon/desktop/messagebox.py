"""A blocking error box for fatal start-up errors when there is no console to print them to (pythonw.exe)."""

from __future__ import annotations

import logging
import sys

log = logging.getLogger(__name__)

TITLE = "VoxTray"
MB_OK, MB_ICONERROR, MB_SETFOREGROUND, MB_TOPMOST = 0x0, 0x10, 0x10000, 0x40000


def show_error(text: str, title: str = TITLE) -> bool:
    """Show `text` in a Windows message box and wait for OK; False where no box can be shown (not Windows)."""
    if sys.platform != "win32":
        return False
    import ctypes

    try:
        ctypes.windll.user32.MessageBoxW(None, text, title, MB_OK | MB_ICONERROR | MB_SETFOREGROUND | MB_TOPMOST)
    except OSError:
        log.exception("could not show the error box")
        return False
    return True
