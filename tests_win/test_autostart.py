"""Autostart for real under Wine: `install_service.py` against Wine's registry, then the registered command line
executed exactly as written (through `cmd /c`, from the Windows folder, as a logon would) starts the daemon.

The project is a COPY at a path with spaces and non-ASCII letters ("Projets José\\vox tray"), the checkout is
taken off the child's sys.path, and the Python is a plain install (the embeddable CPython, copied to a folder
with a space) or a venv made from it — so nothing but the registered command can make the daemon start.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import winreg
from pathlib import Path

import pytest

from tests_win import winutil
from tests_win.winutil import WM_CLOSE, child_env, copy_project, log_text, read_pid, wait_for

RUN_KEY = r"Software\Microsoft\Windows\CurrentVersion\Run"
APPROVED_KEY = r"Software\Microsoft\Windows\CurrentVersion\Explorer\StartupApproved\Run"
PY_HOME = Path(sys.executable).parent


def plain_python(base: Path) -> Path:
    """The embeddable CPython copied to '<base>\\Py thon 311' (a plain install: no venv). Its ._pth names the
    lane's wheel folder by absolute path (Wine 8's os.symlink creates nothing, so no link beside it)."""
    home = base / "Py thon 311"
    shutil.copytree(PY_HOME, home, ignore=shutil.ignore_patterns("__pycache__"))
    site = (PY_HOME.parent / "site").resolve()
    pth = home / "python311._pth"
    pth.write_text(pth.read_text().replace("..\\site", str(site)))
    return home / "python.exe"


def venv_python(base: Path, plain: Path) -> Path:
    """A real venv made by `python -m venv` of the plain install (Scripts\\python.exe, pythonw.exe, pyvenv.cfg)."""
    venv = base / "ven v"
    made = subprocess.run([str(plain), "-m", "venv", "--without-pip", str(venv)], stdin=subprocess.DEVNULL,
                          capture_output=True, text=True, timeout=120, check=False)
    assert made.returncode == 0, made.stdout + made.stderr
    assert (venv / "pyvenv.cfg").is_file() and (venv / "Scripts" / "pythonw.exe").is_file()
    return venv / "Scripts" / "python.exe"


def run_value() -> str | None:
    try:
        with winreg.OpenKey(winreg.HKEY_CURRENT_USER, RUN_KEY) as key:
            return str(winreg.QueryValueEx(key, "VoxTray")[0])
    except FileNotFoundError:
        return None


def installer(python: Path, project: Path, *args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run([str(python), str(project / "install_service.py"), *args], cwd=project, env=env,
                          stdin=subprocess.DEVNULL, capture_output=True, text=True, timeout=180, check=False)


@pytest.fixture
def user_dirs(tmp_path: Path) -> tuple[Path, Path]:
    return tmp_path / "logs", tmp_path / "data"


@pytest.mark.parametrize("kind", ["plain", "venv"])
def test_registered_command_starts_the_daemon_from_a_non_ascii_path(kind: str, tmp_path: Path,
                                                                     user_dirs: tuple[Path, Path]) -> None:
    log_dir, data_dir = user_dirs
    project = copy_project(tmp_path / "Projets José" / "vox tray")
    settings = project / "settings.json"
    settings.write_text(settings.read_text(encoding="utf-8").replace('"use_local_cloning": true',
                                                                     '"use_local_cloning": false'), encoding="utf-8")
    python = plain_python(tmp_path)
    if kind == "venv":
        python = venv_python(tmp_path, python)
    env = child_env(VOXTRAY_LOG_DIR=str(log_dir), VOXTRAY_DATA_DIR=str(data_dir))

    installed = installer(python, project, "install", env=env)
    assert installed.returncode == 0, installed.stdout + installed.stderr
    command = run_value()
    assert command == f'"{python.with_name("pythonw.exe")}" "{project / "voxtray.pyw"}" run'
    assert not list(python.parent.parent.glob("**/voxtray.pth")), "no .pth: it is read in the ANSI code page"
    status = installer(python, project, "status", env=env)
    assert status.returncode == 0 and status.stdout.startswith("autostart: enabled."), status.stdout + status.stderr

    # Execute the value exactly as registered, from the Windows folder, like a logon does.
    launcher = subprocess.Popen(f'cmd /c "{command}"', cwd=os.environ.get("SYSTEMROOT", r"C:\windows"), env=env,
                                stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    pid = None
    try:
        pid = wait_for(lambda: read_pid(data_dir), 90, "the daemon's pid in its lock file")
        assert wait_for(lambda: "tray starting" in log_text(log_dir), 60, "the daemon's log")
        tray = wait_for(lambda: winutil.tray_window(pid), 30, "the daemon's tray window")
        # the daemon runs the copied project: its start line names that copy's settings.json (logged once the tray
        # is up, the rest starting behind it)
        wait_for(lambda: f"starting (settings {project / 'settings.json'})" in log_text(log_dir), 60,
                 "the copied project's settings path in the daemon's start line")
        winutil.post(tray.hwnd, WM_CLOSE)  # a clean stop (what Task Manager's "End task" sends first)
        wait_for(lambda: not winutil.pid_alive(pid), 30, "the daemon to exit after WM_CLOSE")
        assert "VoxTray stopped" in log_text(log_dir)
    finally:
        winutil.stop_tree(launcher, pid)

    removed = installer(python, project, "uninstall", env=env)
    assert removed.returncode == 0 and removed.stdout.strip() == "autostart: removed."
    assert run_value() is None


def test_disabled_in_task_manager_is_reported_and_install_enables_it(tmp_path: Path,
                                                                     user_dirs: tuple[Path, Path]) -> None:
    log_dir, data_dir = user_dirs
    project = copy_project(tmp_path / "Ünïcode proj")
    env = child_env(VOXTRAY_LOG_DIR=str(log_dir), VOXTRAY_DATA_DIR=str(data_dir))
    python = Path(sys.executable)
    assert installer(python, project, "install", env=env).returncode == 0
    with winreg.CreateKey(winreg.HKEY_CURRENT_USER, APPROVED_KEY) as key:  # what Task Manager writes
        winreg.SetValueEx(key, "VoxTray", 0, winreg.REG_BINARY, bytes([3, 0, 0, 0]) + bytes(8))
    status = installer(python, project, "status", env=env)
    assert status.returncode == 3 and status.stdout.startswith("autostart: disabled by the user"), status.stdout
    assert installer(python, project, "install", env=env).returncode == 0
    with winreg.OpenKey(winreg.HKEY_CURRENT_USER, APPROVED_KEY) as key, pytest.raises(FileNotFoundError):
        winreg.QueryValueEx(key, "VoxTray")
    assert installer(python, project, "uninstall", env=env).returncode == 0
    assert run_value() is None


def test_status_says_stale_when_the_registered_command_cannot_start(tmp_path: Path,
                                                                    user_dirs: tuple[Path, Path]) -> None:
    log_dir, data_dir = user_dirs
    project = copy_project(tmp_path / "proj")
    env = child_env(VOXTRAY_LOG_DIR=str(log_dir), VOXTRAY_DATA_DIR=str(data_dir))
    python = Path(sys.executable)
    assert installer(python, project, "install", env=env).returncode == 0
    shutil.rmtree(project / "daemon")  # the launcher is there, but it cannot import VoxTray any more
    status = installer(python, Path(__file__).resolve().parent.parent, "status", env=env)
    assert status.returncode == 3, status.stdout + status.stderr
    assert "cannot start" in status.stdout and "exits with code" in status.stdout
    with winreg.OpenKey(winreg.HKEY_CURRENT_USER, RUN_KEY, 0, winreg.KEY_SET_VALUE) as key:
        winreg.DeleteValue(key, "VoxTray")
