"""Start the real daemon under pythonw.exe (as autostart does) for the Windows lane's tests, and drive its tray."""

from __future__ import annotations

import dataclasses
import json
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tests_win import winutil
from tests_win.conftest import ROOT
from tests_win.winutil import child_env, log_text, read_pid, wait_for

PYSTRAY_WM_NOTIFY = 0x0400 + 11  # pystray's tray callback message (WM_USER + 11)
WM_RBUTTONUP = 0x0205
WM_KEYDOWN, WM_KEYUP = 0x0100, 0x0101
VK_RETURN, VK_UP, VK_DOWN = 0x0D, 0x26, 0x28



def pythonw() -> Path:
    return Path(sys.executable).with_name("pythonw.exe")


def write_settings(folder: Path, **overrides: Any) -> Path:
    """settings.json from the committed defaults plus `overrides` (cloning off: no torch under Wine)."""
    data = json.loads((ROOT / "settings.json").read_text(encoding="utf-8"))
    data.update({"use_local_cloning": False, "cloning_reference_file": str(ROOT / "voices" / "sample.wav")})
    data.update(overrides)
    path = folder / "settings.json"
    folder.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(data, indent=2), encoding="utf-8")
    return path


@dataclass
class Daemon:
    proc: subprocess.Popen[bytes]
    pid: int
    log_dir: Path
    data_dir: Path

    def log(self) -> str:
        return log_text(self.log_dir)

    def tray(self) -> winutil.Window:
        return wait_for(lambda: winutil.tray_window(self.pid), 30, "the daemon's tray window")

    def wait_exit(self, timeout: float = 30) -> int:
        return self.proc.wait(timeout)


def start(tmp_path: Path, *args: str, settings: Path | None = None, env: dict[str, str] | None = None,
          launcher: Path = ROOT / "voxtray.pyw") -> subprocess.Popen[bytes]:
    cmd = [str(pythonw()), str(launcher)]
    if settings is not None:
        cmd += ["--settings", str(settings)]
    return subprocess.Popen([*cmd, *args], cwd=str(tmp_path), env=env, stdin=subprocess.DEVNULL,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


@contextmanager
def running(tmp_path: Path, *, launcher: Path = ROOT / "voxtray.pyw", env_extra: dict[str, str] | None = None,
            **overrides: Any) -> Iterator[Daemon]:
    """The daemon under pythonw.exe with its tray up; stopped (only it) afterwards."""
    log_dir, data_dir = tmp_path / "logs", tmp_path / "data"
    env = child_env(VOXTRAY_LOG_DIR=str(log_dir), VOXTRAY_DATA_DIR=str(data_dir), **(env_extra or {}))
    proc = start(tmp_path, "run", settings=write_settings(tmp_path / "cfg", **overrides), env=env, launcher=launcher)
    pid = None
    try:
        pid = wait_for(lambda: read_pid(data_dir), 90, "the daemon's pid in its lock file")
        assert pid == proc.pid, "pythonw runs the daemon itself (no launcher process in between)"
        daemon = Daemon(proc, pid, log_dir, data_dir)
        wait_for(lambda: "tray starting" in daemon.log(), 60, "'tray starting' in the log")
        yield daemon
    finally:
        winutil.stop_tree(proc, pid)


def open_menu(daemon: Daemon) -> int:
    """Right-click the icon (the tray callback message, as the shell sends it); returns the popup menu window."""
    tray = daemon.tray()
    winutil.post(tray.hwnd, PYSTRAY_WM_NOTIFY, 0, WM_RBUTTONUP)
    menu = wait_for(lambda: winutil.find(lambda w: w.cls == "#32768" and w.visible), 15, "the tray menu to open")[0]
    return menu.hwnd


def menu_texts() -> list[str]:
    """The top-level menu's lines, from the product's own menu model (Wine keeps HMENUs per process, so another
    process cannot read the popup's items)."""
    from daemon.desktop import traymenu
    from daemon.status import Status

    noop = lambda *_a: None  # noqa: E731
    handlers = traymenu.Handlers(**{f.name: noop for f in dataclasses.fields(traymenu.Handlers)})
    return [e.text for e in traymenu.build_menu(Status(), traymenu.MenuModel(), handlers)]


def choose(menu_hwnd: int, text: str) -> None:
    """Pick the item called `text` with the keyboard as a user would: Up from the bottom (the first Up selects the
    last item; arrows skip separators), then Enter."""
    texts = menu_texts()
    assert text in texts, f"{text!r} is not in the menu {texts}"
    steps = sum(1 for t in texts[texts.index(text):] if t != "-")
    for _ in range(steps):
        winutil.post(menu_hwnd, WM_KEYDOWN, VK_UP)
        winutil.post(menu_hwnd, WM_KEYUP, VK_UP)
    winutil.post(menu_hwnd, WM_KEYDOWN, VK_RETURN)
    winutil.post(menu_hwnd, WM_KEYUP, VK_RETURN)


def choose_in_submenu(menu_hwnd: int, submenu: str, index: int) -> None:
    """Open the submenu called `submenu` with the keyboard (Enter on it selects its first item), go Down `index`
    items, then Enter."""
    choose(menu_hwnd, submenu)
    sub = wait_for(lambda: [w for w in winutil.find(lambda w: w.cls == "#32768" and w.visible)
                            if w.hwnd != menu_hwnd], 15, f"the {submenu} submenu to open")[0]
    for _ in range(index):
        winutil.post(sub.hwnd, WM_KEYDOWN, VK_DOWN)
        winutil.post(sub.hwnd, WM_KEYUP, VK_DOWN)
    winutil.post(sub.hwnd, WM_KEYDOWN, VK_RETURN)
    winutil.post(sub.hwnd, WM_KEYUP, VK_RETURN)
