"""Start at login on Linux: `$XDG_CONFIG_HOME/autostart/voxtray.desktop` (Desktop Entry spec quoting), running
`<python> -m daemon run` in the project folder; an entry with Hidden=true is reported as switched off."""

from __future__ import annotations

import logging
import os
from pathlib import Path

from daemon import APP_ID, paths
from daemon.desktop.autostart.base import APP_NAME, PROJECT_ROOT, AutostartError, AutostartState
from daemon.fsio import replace

log = logging.getLogger(__name__)

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
