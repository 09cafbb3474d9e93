"""Start VoxTray at login, per user: Windows' HKCU Run value, or an XDG autostart .desktop file on Linux.

Not a Windows Service on purpose: services run in session 0, which has no desktop, so no tray icon, no hotkeys
and no question box. Everything here is idempotent; `status()` tells the truth, including Windows'
StartupApproved flag (Task Manager > Startup apps > Disabled) and a Linux entry with Hidden=true.
Only the standard library is used, so install_service.py runs before the venv has its packages. Any Python
works (a venv's or a plain install's): the entry runs the interpreter that ran `install`. From a clone it starts
the project's launcher (Windows) or `-m daemon` in the project folder (Linux); installed as a package
(`pip install .`, daemon/paths.py) it starts `-m daemon run`, which that Python finds from any folder.
"""

from __future__ import annotations

import logging
import os
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path, PurePath
from typing import Protocol

from daemon import APP_ID, paths
from daemon.errors import VoxTrayError
from daemon.fsio import replace

log = logging.getLogger(__name__)

APP_NAME = "VoxTray"
PROJECT_ROOT = paths.project_root()  # None when installed as a package
RUN_KEY = r"Software\Microsoft\Windows\CurrentVersion\Run"
APPROVED_KEY = r"Software\Microsoft\Windows\CurrentVersion\Explorer\StartupApproved\Run"
REG_SZ = 1
REG_BINARY = 3
LAUNCHER = "voxtray.pyw"  # project-root launcher: puts the project on sys.path itself (no .pth needed)
OLD_PTH = "voxtray.pth"  # what earlier versions wrote into the venv; removed on install
PROBE_TIMEOUT_S = 60.0


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


# --- Windows ----------------------------------------------------------------------------------------------------
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


# --- Linux (XDG) ------------------------------------------------------------------------------------------------
_RESERVED = set(" \t\n\"'\\><~|&;$*?#()`")


def _exec_arg(arg: str) -> str:
    """One Exec argument, quoted per the Desktop Entry spec when it has reserved characters."""
    arg = arg.replace("%", "%%")
    if not any(ch in _RESERVED for ch in arg):
        return arg
    return '"' + "".join("\\" + ch if ch in '"`$\\' else ch for ch in arg) + '"'


def _string_value(value: str) -> str:
    """Escape a value of type string (backslash, newline, tab, carriage return)."""
    return value.replace("\\", "\\\\").replace("\n", "\\n").replace("\t", "\\t").replace("\r", "\\r")


def xdg_config_home() -> Path:
    return Path(os.environ.get("XDG_CONFIG_HOME") or Path.home() / ".config")


class XdgAutostart:
    """`$XDG_CONFIG_HOME/autostart/voxtray.desktop` running `<python> -m daemon run` in the project (installed as a
    package: in the home folder, the default)."""

    def __init__(self, python: Path, project: Path | None = PROJECT_ROOT, config_home: Path | None = None) -> None:
        self.python = python
        self.project = project
        self.path = (config_home or xdg_config_home()) / "autostart" / f"{APP_ID}.desktop"
        self.expected = _string_value(" ".join(_exec_arg(a) for a in (str(self.python), "-m", "daemon", "run")))
        self.location = str(self.path)

    def icon(self) -> Path | None:
        """The project's assets/voxtray.png; installed, one drawn into the per-user data folder once."""
        if self.project is not None:
            icon = self.project / "assets" / "voxtray.png"
            return icon if icon.is_file() else None
        icon = paths.data_dir() / "voxtray.png"
        if not icon.is_file():
            try:
                from daemon.desktop.icons import write_app_icon

                write_app_icon(icon)
            except Exception as exc:  # no Pillow, an unwritable folder: the entry works without an icon
                log.warning("could not draw %s (%s)", icon, exc)
                return None
        return icon

    def render(self) -> str:
        icon = self.icon()
        lines = [
            "[Desktop Entry]",
            "Type=Application",
            f"Name={APP_NAME}",
            "Comment=Ask a remote LLM with a hotkey and hear the answer in a cloned voice",
            f"Exec={self.expected}",
            *([f"Path={_string_value(str(self.project))}"] if self.project is not None else []),
            *([f"Icon={_string_value(str(icon))}"] if icon is not None else []),
            "Terminal=false",
            "X-GNOME-Autostart-enabled=true",
        ]
        return "\n".join(lines) + "\n"

    def _read(self) -> dict[str, str] | None:
        try:
            text = self.path.read_text(encoding="utf-8")
        except FileNotFoundError:
            return None
        entry: dict[str, str] = {}
        group = ""
        for line in text.splitlines():
            line = line.strip()
            if line.startswith("["):
                group = line
            elif group == "[Desktop Entry]" and "=" in line and not line.startswith("#"):
                key, _, value = line.partition("=")
                entry[key.strip()] = value.strip()
        return entry

    def status(self, probe: bool = False) -> AutostartState:
        entry = self._read()
        if entry is None:
            return AutostartState(False, False, self.location, None, self.expected)
        command = entry.get("Exec")
        if entry.get("Hidden", "").lower() == "true" or entry.get("X-GNOME-Autostart-enabled", "").lower() == "false":
            return AutostartState(True, False, self.location, command, self.expected,
                                  "the entry is switched off (Hidden=true or X-GNOME-Autostart-enabled=false), e.g. "
                                  "in the desktop's Startup Applications; run `install` to enable it again")
        note = ""
        where = None if self.project is None else _string_value(str(self.project))
        if command == self.expected and entry.get("Path") != where:
            wanted = repr(str(self.project)) if self.project is not None else "no folder (the installed package)"
            note = f"stale: it starts in {entry.get('Path')!r}, expected {wanted}"
        elif command == self.expected and not self.python.exists():
            note = f"stale: {self.python} does not exist"
        return AutostartState(True, True, self.location, command, self.expected, note)

    def install(self) -> AutostartState:
        text = self.render()
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            try:
                current: str | None = self.path.read_text(encoding="utf-8")
            except FileNotFoundError:
                current = None
            if current != text:
                tmp = self.path.with_name(f".{self.path.name}.tmp")
                tmp.write_text(text, encoding="utf-8")
                replace(tmp, self.path)
        except OSError as exc:
            raise AutostartError(f"cannot write {self.path} ({exc.strerror}); check that folder's permissions.") from None
        log.info("autostart installed: %s", self.path)
        return self.status()

    def uninstall(self) -> bool:
        try:
            self.path.unlink()
        except FileNotFoundError:
            return False
        log.info("autostart removed: %s", self.path)
        return True


# --- the current platform ----------------------------------------------------------------------------------------
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
