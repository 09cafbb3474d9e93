"""Small Win32 helpers for the Windows lane's tests: find windows, post messages, wait, copy the project."""

from __future__ import annotations

import ctypes
import os
import shutil
import subprocess
import sys
import time
from collections.abc import Callable
from ctypes import wintypes
from dataclasses import dataclass
from pathlib import Path
from typing import TypeVar

import numpy as np

from tests_win.conftest import ROOT

assert sys.platform == "win32"

user32 = ctypes.WinDLL("user32", use_last_error=True)
kernel32 = ctypes.WinDLL("kernel32", use_last_error=True)
WNDENUMPROC = ctypes.WINFUNCTYPE(wintypes.BOOL, wintypes.HWND, wintypes.LPARAM)
user32.EnumWindows.argtypes = [WNDENUMPROC, wintypes.LPARAM]
user32.GetWindowTextW.argtypes = [wintypes.HWND, wintypes.LPWSTR, ctypes.c_int]
user32.GetClassNameW.argtypes = [wintypes.HWND, wintypes.LPWSTR, ctypes.c_int]
user32.GetWindowThreadProcessId.argtypes = [wintypes.HWND, ctypes.POINTER(wintypes.DWORD)]
user32.PostMessageW.argtypes = [wintypes.HWND, wintypes.UINT, wintypes.WPARAM, wintypes.LPARAM]
user32.SendMessageTimeoutW.argtypes = [wintypes.HWND, wintypes.UINT, wintypes.WPARAM, wintypes.LPARAM,
                                       wintypes.UINT, wintypes.UINT, ctypes.POINTER(ctypes.c_size_t)]
user32.IsWindowVisible.argtypes = [wintypes.HWND]
user32.GetForegroundWindow.restype = wintypes.HWND
user32.GetParent.argtypes = [wintypes.HWND]
user32.GetParent.restype = wintypes.HWND

WM_CLOSE, WM_QUERYENDSESSION, WM_ENDSESSION, WM_COMMAND = 0x0010, 0x0011, 0x0016, 0x0111
T = TypeVar("T")

# What a child Python under Wine needs in its environment: the real checkout must NOT be on its path when a
# test proves that a copy of the project starts by itself (the lane's sitecustomize adds VOXTRAY_WIN_PROJECT).
CHILD_ENV_DROP = ("VOXTRAY_WIN_PROJECT",)


@dataclass(frozen=True)
class Window:
    hwnd: int
    pid: int
    title: str
    cls: str
    visible: bool


def windows() -> list[Window]:
    """Every top-level window."""
    found: list[Window] = []

    def visit(hwnd: int, _lparam: int) -> bool:
        title = ctypes.create_unicode_buffer(512)
        cls = ctypes.create_unicode_buffer(256)
        user32.GetWindowTextW(hwnd, title, 512)
        user32.GetClassNameW(hwnd, cls, 256)
        pid = wintypes.DWORD()
        user32.GetWindowThreadProcessId(hwnd, ctypes.byref(pid))
        found.append(Window(int(hwnd or 0), int(pid.value), title.value, cls.value, bool(user32.IsWindowVisible(hwnd))))
        return True

    user32.EnumWindows(WNDENUMPROC(visit), 0)
    return found


def find(pred: Callable[[Window], bool]) -> list[Window]:
    return [w for w in windows() if pred(w)]


def wait_for(fn: Callable[[], T], timeout: float, what: str, interval: float = 0.1) -> T:
    """Poll `fn` until it returns something truthy; fail naming `what`."""
    deadline = time.monotonic() + timeout
    while True:
        value = fn()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout:.0f} s waiting for {what}")
        time.sleep(interval)


def post(hwnd: int, msg: int, wparam: int = 0, lparam: int = 0) -> None:
    assert user32.PostMessageW(hwnd, msg, wparam, lparam), ctypes.get_last_error()


def send(hwnd: int, msg: int, wparam: int = 0, lparam: int = 0, timeout_ms: int = 20000) -> int:
    """SendMessageTimeout: the window's answer (what Windows sees at log-off)."""
    result = ctypes.c_size_t()
    ok = user32.SendMessageTimeoutW(hwnd, msg, wparam, lparam, 0x0002, timeout_ms, ctypes.byref(result))
    assert ok, f"SendMessageTimeout failed or timed out ({ctypes.get_last_error()})"
    return int(result.value)


def pid_alive(pid: int) -> bool:
    handle = kernel32.OpenProcess(0x1000 | 0x00100000, False, pid)  # QUERY_LIMITED_INFORMATION | SYNCHRONIZE
    if not handle:
        return False
    try:
        return kernel32.WaitForSingleObject(handle, 0) == 0x102  # WAIT_TIMEOUT: still running
    finally:
        kernel32.CloseHandle(handle)


def child_env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in CHILD_ENV_DROP}
    env.update(extra)
    return env


def copy_project(dest: Path) -> Path:
    """A copy of what a user downloads (code, launcher, settings, voices, assets) at `dest`."""
    ignore = shutil.ignore_patterns("__pycache__", "*.pyc", ".cache")
    dest.mkdir(parents=True, exist_ok=True)
    for folder in ("daemon", "voices", "assets"):
        shutil.copytree(ROOT / folder, dest / folder, ignore=ignore)
    for name in ("voxtray.pyw", "install_service.py", "settings.json", "settings.schema.json", "requirements.txt"):
        shutil.copy2(ROOT / name, dest / name)
    return dest


def read_pid(data_dir: Path) -> int | None:
    """The daemon's pid from its lock file (readable while the daemon holds its lock)."""
    try:
        text = (data_dir / "voxtray.lock").read_text(encoding="utf-8").strip()
    except OSError:
        return None
    return int(text) if text.isdigit() else None


def log_text(log_dir: Path) -> str:
    try:
        return (log_dir / "voxtray.log").read_text(encoding="utf-8", errors="replace")
    except OSError:
        return ""


def tray_window(pid: int) -> Window | None:
    """pystray's hidden tray window of process `pid` (class '<name><id>SystemTrayIcon', named by traywin32)."""
    for w in find(lambda w: w.pid == pid and w.cls.endswith("SystemTrayIcon") and w.title == "VoxTray"):
        return w
    return None


def stop_tree(proc: subprocess.Popen[bytes] | subprocess.Popen[str], pid: int | None = None) -> None:
    """End a process this test started (and the daemon pid it reported), never anything else."""
    for p in (pid,):
        if p and pid_alive(p):
            subprocess.run(["taskkill", "/F", "/PID", str(p)], capture_output=True, stdin=subprocess.DEVNULL,
                           check=False)
    if proc.poll() is None:
        proc.kill()
        proc.wait(10)


def captured(cap: Path) -> np.ndarray:
    """Channel 0 of Wine's mix format (float32, stereo, 48 kHz) in a capture file (conftest's `capture`)."""
    try:
        data = cap.read_bytes()
    except OSError:
        return np.zeros(0, np.float32)
    usable = len(data) // 8 * 8
    return np.frombuffer(data[:usable], np.float32).reshape(-1, 2)[:, 0]
