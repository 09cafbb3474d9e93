"""Start at login on Windows: the HKCU Run value `VoxTray` (pythonw.exe running the project's launcher script;
installed as a package: `-m daemon run`), and Windows' StartupApproved flag (Task Manager > Startup apps).
Only the standard library: install_service.py runs this before the venv has its packages."""

from __future__ import annotations

import logging
import os
import sys
from collections.abc import Callable
from pathlib import Path, PurePath
from typing import Protocol

from daemon.desktop.autostart.base import APP_NAME, PROJECT_ROOT, AutostartError, AutostartState

log = logging.getLogger(__name__)

RUN_KEY = r"Software\Microsoft\Windows\CurrentVersion\Run"
APPROVED_KEY = r"Software\Microsoft\Windows\CurrentVersion\Explorer\StartupApproved\Run"
REG_SZ = 1
REG_BINARY = 3
LAUNCHER = "voxtray.pyw"  # project-root launcher: puts the project on sys.path itself (no .pth needed)
OLD_PTH = "voxtray.pth"  # what earlier versions wrote into the venv; removed on install
PROBE_TIMEOUT_S = 60.0


class Registry(Protocol):
    """The HKEY_CURRENT_USER operations autostart needs (injected so tests need no winreg)."""

    def get(self, key: str, name: str) -> tuple[object, int] | None: ...
    def set(self, key: str, name: str, value: str | bytes, kind: int) -> None: ...
    def delete(self, key: str, name: str) -> bool: ...


class WinRegistry:
    """Registry over winreg, HKEY_CURRENT_USER only."""

    def get(self, key: str, name: str) -> tuple[object, int] | None:
        if sys.platform != "win32":
            raise AutostartError("the Windows registry exists only on Windows")
        import winreg

        try:
            with winreg.OpenKey(winreg.HKEY_CURRENT_USER, key) as handle:
                value, kind = winreg.QueryValueEx(handle, name)
                return value, int(kind)
        except FileNotFoundError:
            return None

    def set(self, key: str, name: str, value: str | bytes, kind: int) -> None:
        if sys.platform != "win32":
            raise AutostartError("the Windows registry exists only on Windows")
        import winreg

        with winreg.CreateKeyEx(winreg.HKEY_CURRENT_USER, key, 0, winreg.KEY_SET_VALUE) as handle:
            winreg.SetValueEx(handle, name, 0, kind, value)

    def delete(self, key: str, name: str) -> bool:
        if sys.platform != "win32":
            raise AutostartError("the Windows registry exists only on Windows")
        import winreg

        try:
            with winreg.OpenKey(winreg.HKEY_CURRENT_USER, key, 0, winreg.KEY_SET_VALUE) as handle:
                winreg.DeleteValue(handle, name)
                return True
        except FileNotFoundError:
            return False


def disabled_by_user(approved: tuple[object, int] | None) -> bool:
    """StartupApproved data is 12 bytes; an odd first byte (03, 07...) means switched off in Task Manager."""
    if approved is None or not isinstance(approved[0], bytes | bytearray) or not approved[0]:
        return False
    return approved[0][0] & 1 == 1


def windows_command(pythonw: PurePath, project: PurePath | None) -> str:
    """`"<pythonw.exe>" "<project>\\voxtray.pyw" run`: pythonw shows no console, and the launcher script needs
    neither a venv nor a .pth file (a .pth is read in the ANSI code page, which breaks paths like C:\\Users\\José).
    Installed as a package (no project folder): `"<pythonw.exe>" -m daemon run`."""
    if project is None:
        return f'"{pythonw}" -m daemon run'
    return f'"{pythonw}" "{project / LAUNCHER}" run'


def split_windows_command(command: str) -> list[str]:
    """Split a command line the way CommandLineToArgvW does for the simple quoting `windows_command` writes."""
    args: list[str] = []
    current: list[str] = []
    quoted = in_arg = False
    for ch in command:
        if ch == '"':
            quoted = not quoted
            in_arg = True
        elif ch in " \t" and not quoted:
            if in_arg:
                args.append("".join(current))
                current, in_arg = [], False
        else:
            current.append(ch)
            in_arg = True
    if in_arg:
        args.append("".join(current))
    return args


def probe_command(argv: list[str], timeout: float = PROBE_TIMEOUT_S) -> str | None:
    """Start the registered program the way Explorer would (from the Windows folder) with `--version`: None when
    it starts and exits 0, else why not."""
    import subprocess

    if not argv or not Path(argv[0]).is_file():
        return f"{argv[0] if argv else 'the command'} does not exist"
    if len(argv) > 1 and argv[1].lower().endswith((".py", ".pyw")) and not Path(argv[1]).is_file():
        return f"{argv[1]} does not exist"
    script = argv[:2] if len(argv) > 1 and argv[1].lower().endswith((".py", ".pyw")) else argv[:1]
    if argv[1:3] == ["-m", "daemon"]:
        script = argv[:3]
    cwd = os.environ.get("SYSTEMROOT") if sys.platform == "win32" else None
    try:
        done = subprocess.run([*script, "--version"], cwd=cwd, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                              stderr=subprocess.PIPE, timeout=timeout, check=False)
    except (OSError, subprocess.TimeoutExpired) as exc:
        return f"it could not be started ({exc})"
    if done.returncode == 0:
        return None
    lines = done.stderr.decode("utf-8", "replace").strip().splitlines()
    return f"it exits with code {done.returncode} instead of starting" + (f" ({lines[-1]})" if lines else "")


class WindowsAutostart:
    """The HKCU Run value `VoxTray`: pythonw.exe running the project's launcher script (installed: `-m daemon`)."""

    def __init__(self, registry: Registry, pythonw: Path, project: Path | None = PROJECT_ROOT,
                 probe: Callable[[list[str]], str | None] = probe_command) -> None:
        self.registry = registry
        self.probe = probe
        self.pythonw = pythonw
        self.project = project
        self.expected = windows_command(pythonw, project)
        self.location = rf"HKEY_CURRENT_USER\{RUN_KEY}\{APP_NAME}"

    def status(self, probe: bool = False) -> AutostartState:
        """What is registered; with `probe`, also start the registered command to prove it can run."""
        found = self.registry.get(RUN_KEY, APP_NAME)
        if found is None:
            return AutostartState(False, False, self.location, None, self.expected)
        command = str(found[0])
        if disabled_by_user(self.registry.get(APPROVED_KEY, APP_NAME)):
            return AutostartState(True, False, self.location, command, self.expected,
                                  "Task Manager > Startup apps shows it Disabled; run `install` or tick "
                                  "'Start at login' to enable it again")
        argv = split_windows_command(command)
        missing = [a for a in argv[:2] if a.lower().endswith((".exe", ".pyw")) and not Path(a).is_file()]
        note = f"stale: {missing[0]} does not exist" if missing else ""
        if not note and probe:
            why = self.probe(argv)
            note = f"stale: the registered command cannot start: {why}" if why else ""
        return AutostartState(True, True, self.location, command, self.expected, note)

    def install(self) -> AutostartState:
        if self.project is not None and not (self.project / LAUNCHER).is_file():
            raise AutostartError(f"{self.project / LAUNCHER} is missing; restore it from the VoxTray download.")
        try:
            self.registry.set(RUN_KEY, APP_NAME, self.expected, REG_SZ)
        except OSError as exc:
            raise AutostartError(f"cannot write {self.location} ({exc}).") from None
        if self.registry.delete(APPROVED_KEY, APP_NAME):
            log.info("cleared Windows' StartupApproved entry for %s (enabled again)", APP_NAME)
        old_pth = self.pythonw.parent.parent / "Lib" / "site-packages" / OLD_PTH
        if old_pth.is_file():
            try:
                old_pth.unlink()
            except OSError:
                log.warning("could not remove the old %s", old_pth)
        log.info("autostart installed: %s = %s", self.location, self.expected)
        return self.status(probe=True)

    def uninstall(self) -> bool:
        removed = self.registry.delete(RUN_KEY, APP_NAME)
        self.registry.delete(APPROVED_KEY, APP_NAME)
        log.info("autostart %s", "removed" if removed else "was not installed")
        return removed
