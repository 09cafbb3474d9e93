"""What the Windows and XDG autostart share: the error, the state record (`describe()` for the CLI), and
the Python that runs VoxTray now, which the entry registers."""

from __future__ import annotations

import sys
from dataclasses import dataclass
from pathlib import Path

from daemon import paths
from daemon.errors import VoxTrayError

APP_NAME = "VoxTray"
PROJECT_ROOT = paths.project_root()  # None when installed as a package


class AutostartError(VoxTrayError):
    """Autostart cannot be set up here (no venv, unsupported platform, no permission)."""


@dataclass(frozen=True)
class AutostartState:
    """What is registered now versus what `install` would register."""

    installed: bool
    enabled: bool  # installed and not switched off by the user
    location: str  # the registry value or the .desktop file
    command: str | None  # the registered command line
    expected: str  # the command line `install` writes
    note: str = ""

    @property
    def current(self) -> bool:
        return self.installed and self.command == self.expected and not self.note.startswith("stale")

    def describe(self) -> str:
        if not self.installed:
            return f"autostart: not installed ({self.location} is absent)."
        if not self.enabled:
            return f"autostart: disabled by the user ({self.note}). {self.location}\n  command: {self.command}"
        if not self.current:
            why = self.note or f"it runs {self.command!r}, expected {self.expected!r}"
            return f"autostart: installed but stale ({why}); run `install` again. {self.location}"
        return f"autostart: enabled. {self.location}\n  command: {self.command}"


def interpreter(gui: bool = True) -> Path:
    """The Python that runs VoxTray now (a venv's or a plain install's); on Windows its pythonw.exe for `gui`."""
    exe = Path(sys.executable)
    if sys.platform == "win32" and gui:
        pythonw = exe.with_name("pythonw.exe")
        if not pythonw.is_file():
            raise AutostartError(f"{pythonw} is missing, so VoxTray cannot start without a console window; "
                                 "repair or reinstall Python (python.org installer, 'pip' and 'py launcher' ticked).")
        return pythonw
    return exe
