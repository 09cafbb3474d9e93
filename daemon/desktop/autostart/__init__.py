"""Start VoxTray at login, per user: Windows' HKCU Run value (`windows.py`) or an XDG autostart .desktop file on
Linux (`xdg.py`); this module picks the one for this OS and runs the install/uninstall/status actions.

Not a Windows Service on purpose: services run in session 0, which has no desktop, so no tray icon, no hotkeys
and no question box. Everything here is idempotent; `status()` tells the truth, including Windows'
StartupApproved flag (Task Manager > Startup apps > Disabled) and a Linux entry with Hidden=true.
Only the standard library is used, so install_service.py runs before the venv has its packages. Any Python
works (a venv's or a plain install's): the entry runs the interpreter that ran `install`. From a clone it starts
the project's launcher (Windows) or `-m daemon` in the project folder (Linux); installed as a package
(`pip install .`, daemon/paths.py) it starts `-m daemon run`, which that Python finds from any folder.
"""

from __future__ import annotations

import sys
from pathlib import Path

from daemon.desktop.autostart.base import AutostartError, AutostartState, interpreter
from daemon.desktop.autostart.windows import Registry, WindowsAutostart, WinRegistry
from daemon.desktop.autostart.xdg import XdgAutostart

Autostart = WindowsAutostart | XdgAutostart


def for_platform(registry: Registry | None = None, python: Path | None = None) -> Autostart:
    """The autostart mechanism of this OS, for the Python running now (a venv's or a plain install's)."""
    if sys.platform == "win32":
        return WindowsAutostart(registry or WinRegistry(), python or interpreter())
    if sys.platform.startswith("linux") or "bsd" in sys.platform:
        return XdgAutostart(python or interpreter())
    raise AutostartError(f"start at login is supported on Windows and Linux only, not {sys.platform}.")


def is_enabled() -> bool:
    """For the tray's 'Start at login' tick: installed, enabled and pointing at this checkout."""
    try:
        state = for_platform().status()
    except AutostartError:
        return False
    return state.enabled and state.current


def set_enabled(enabled: bool) -> AutostartState:
    """Install or remove the autostart entry (the tray's checkbox)."""
    mechanism = for_platform()
    if enabled:
        return mechanism.install()
    mechanism.uninstall()
    return mechanism.status()


def run_command(action: str) -> tuple[int, str]:
    """`install` | `uninstall` | `status`, as install_service.py and the `autostart` verb run them: the exit code
    (0 ok; status: 0 installed and enabled, 3 not installed, disabled or stale; 1 failure) and what to print.
    Raises AutostartError (VoxTrayError) when this OS has no autostart or it cannot be written."""
    mechanism = for_platform()
    if action == "install":
        state = mechanism.install()
        return (0 if state.enabled and state.current else 1), state.describe()
    if action == "uninstall":
        removed = mechanism.uninstall()
        return 0, "autostart: removed." if removed else "autostart: was not installed; nothing to remove."
    if action == "status":
        state = mechanism.status(probe=True)
        return (0 if state.enabled and state.current else 3), state.describe()
    raise AutostartError(f"unknown autostart action {action!r}: use install, uninstall or status.")
