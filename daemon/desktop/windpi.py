"""DPI awareness for Windows: without it, Windows draws the tray icon, question box and dialogs at 96 DPI and
stretches them on 125-200 % displays (blurred text). Call once, before the first window is made."""

from __future__ import annotations

import logging
import sys

log = logging.getLogger(__name__)

PER_MONITOR_AWARE_V2 = -4  # DPI_AWARENESS_CONTEXT_PER_MONITOR_AWARE_V2


def enable_dpi_awareness() -> str:
    """Make this process DPI aware (the best level this Windows offers); returns the level ('' elsewhere)."""
    if sys.platform != "win32":
        return ""
    import ctypes

    user32 = ctypes.windll.user32
    try:
        if user32.SetProcessDpiAwarenessContext(ctypes.c_void_p(PER_MONITOR_AWARE_V2)):
            return "per-monitor v2"
    except AttributeError:  # before Windows 10 1703
        pass
    try:
        if ctypes.windll.shcore.SetProcessDpiAwareness(2) == 0:  # PROCESS_PER_MONITOR_DPI_AWARE
            return "per-monitor"
    except (AttributeError, OSError):
        pass
    if user32.SetProcessDPIAware():
        return "system"
    log.warning("could not make VoxTray DPI aware; windows may look blurred on scaled displays")
    return "unaware"
