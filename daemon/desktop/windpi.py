"""DPI awareness for Windows: without it, Windows draws the tray icon, question box and dialogs at 96 DPI and
stretches them on 125-200 % displays (blurred text). Call once, before the first window is made.

System-aware, not per-monitor: Tk 8.6 sizes its fonts and widgets once, from the DPI it sees at start-up, and
does not rescale when a window moves to a monitor with another scale. Per-monitor awareness would then show the
box too small or too big there; system awareness keeps it crisp on the main display and lets Windows scale it
on the others (right size, slightly soft) — what IDLE does too.
"""

from __future__ import annotations

import logging
import sys

log = logging.getLogger(__name__)

SYSTEM_AWARE_CONTEXT = -2  # DPI_AWARENESS_CONTEXT_SYSTEM_AWARE
PROCESS_SYSTEM_DPI_AWARE = 1


def enable_dpi_awareness() -> str:
    """Make this process system-DPI aware (with the newest API this Windows has); returns what was set."""
    if sys.platform != "win32":
        return ""
    import ctypes

    user32 = ctypes.windll.user32
    try:
        if user32.SetProcessDpiAwarenessContext(ctypes.c_void_p(SYSTEM_AWARE_CONTEXT)):
            return "system"
    except AttributeError:  # before Windows 10 1703
        pass
    try:
        if ctypes.windll.shcore.SetProcessDpiAwareness(PROCESS_SYSTEM_DPI_AWARE) == 0:
            return "system"
    except (AttributeError, OSError):
        pass
    if user32.SetProcessDPIAware():
        return "system"
    log.warning("could not make VoxTray DPI aware; windows may look blurred on scaled displays")
    return "unaware"
