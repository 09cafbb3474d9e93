"""Smoke tests of the Windows lane itself: the interpreter, the checkout, and the Windows APIs VoxTray uses."""

from __future__ import annotations

import os
import platform
import sys
import uuid
from pathlib import Path

import pytest

from tests_win.conftest import ROOT, run_python


def test_runs_on_windows_cpython() -> None:
    assert sys.platform == "win32"
    assert os.name == "nt"
    assert platform.system() == "Windows"
    assert sys.version_info[:2] == (3, 11)


def test_daemon_imports_from_the_checkout() -> None:
    import daemon

    assert Path(daemon.__file__).resolve().parent == ROOT / "daemon"


def test_daemon_help_in_a_child_process() -> None:
    proc = run_python("-m", "daemon", "--help")
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.startswith("usage: python -m daemon")
    assert "run the daemon" in proc.stdout


def test_winreg_write_read_delete() -> None:
    import winreg

    name = f"smoke-{uuid.uuid4().hex}"
    with winreg.CreateKey(winreg.HKEY_CURRENT_USER, r"Software\VoxTrayTest") as key:
        winreg.SetValueEx(key, name, 0, winreg.REG_SZ, '"C:\\Program Files\\x\\pythonw.exe" "Z:\\José dir\\a.pyw"')
    with winreg.OpenKey(winreg.HKEY_CURRENT_USER, r"Software\VoxTrayTest") as key:
        value, kind = winreg.QueryValueEx(key, name)
        assert (value, kind) == ('"C:\\Program Files\\x\\pythonw.exe" "Z:\\José dir\\a.pyw"', winreg.REG_SZ)
    with winreg.OpenKey(winreg.HKEY_CURRENT_USER, r"Software\VoxTrayTest", 0, winreg.KEY_ALL_ACCESS) as key:
        winreg.DeleteValue(key, name)
        with pytest.raises(FileNotFoundError):
            winreg.QueryValueEx(key, name)
    winreg.DeleteKey(winreg.HKEY_CURRENT_USER, r"Software\VoxTrayTest")
    with pytest.raises(FileNotFoundError):
        winreg.OpenKey(winreg.HKEY_CURRENT_USER, r"Software\VoxTrayTest")


def test_tk_window_opens_on_the_display() -> None:
    assert os.environ.get("DISPLAY"), "scripts/wine/test.sh sets DISPLAY to its Xvfb"
    import tkinter

    root = tkinter.Tk()
    try:
        root.title("voxtray smoke")
        root.geometry("200x100+50+80")
        tkinter.Label(root, text="hello").pack()
        root.update()
        assert root.winfo_exists()
        assert root.winfo_ismapped()
        assert (root.winfo_width(), root.winfo_height()) == (200, 100)
    finally:
        root.destroy()


def test_sounddevice_lists_windows_devices() -> None:
    import sounddevice as sd

    devices = sd.query_devices()
    assert len(devices) > 0
    apis = {api["name"] for api in sd.query_hostapis()}
    assert "MME" in apis
    assert any(d["max_output_channels"] > 0 for d in devices)
    assert sd.query_devices(kind="output")["max_output_channels"] > 0  # a default output (raises when none)


def test_msvcrt_locking_excludes_another_process(tmp_path: Path) -> None:
    import msvcrt

    lock = tmp_path / "lock"
    lock.write_bytes(b"\0")
    probe = (
        "import msvcrt, sys\n"
        "f = open(sys.argv[1], 'r+b')\n"
        "try:\n"
        "    msvcrt.locking(f.fileno(), msvcrt.LK_NBLCK, 1)\n"
        "except OSError:\n"
        "    print('locked')\n"
        "else:\n"
        "    print('free')\n"
    )
    with open(lock, "r+b") as f:
        msvcrt.locking(f.fileno(), msvcrt.LK_NBLCK, 1)
        try:
            assert run_python("-c", probe, str(lock)).stdout.strip() == "locked"
        finally:
            f.seek(0)
            msvcrt.locking(f.fileno(), msvcrt.LK_UNLCK, 1)
    assert run_python("-c", probe, str(lock)).stdout.strip() == "free"
