"""Desktop pieces on the real Windows APIs (under Wine): RegisterHotKey conflicts, one Tk per process, DPI
awareness, the monitor under the pointer."""

from __future__ import annotations

import subprocess
import sys
import threading
from pathlib import Path

import pytest

from daemon.desktop.dialogs import with_tk
from daemon.desktop.hotkeys import HotkeyError, HotkeyListener
from daemon.desktop.placement import monitor_of
from daemon.desktop.prompt import QuestionBox
from tests_win.conftest import ROOT

HOLDER = """
import ctypes, sys
from ctypes import wintypes
user32 = ctypes.WinDLL("user32", use_last_error=True)
ok = user32.RegisterHotKey(None, 1, 0x1 | 0x2 | 0x4000, 0x76)  # Ctrl+Alt+F7
print("held" if ok else f"failed {ctypes.get_last_error()}", flush=True)
sys.stdin.readline()
"""


def test_a_combo_another_program_holds_is_reported_by_name_and_setting() -> None:
    holder = subprocess.Popen([sys.executable, "-c", HOLDER], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "held"
        listener = HotkeyListener({"ctrl+alt+f7": lambda: None, "ctrl+alt+f8": lambda: None},
                                  names={"ctrl+alt+f7": "hotkey_ask", "ctrl+alt+f8": "hotkey_stop"})
        assert listener.backend == "win32"
        with pytest.raises(HotkeyError, match=r"ctrl\+alt\+f7 is already used by another program.*'hotkey_ask'"):
            listener.start()
        assert not listener.running
        # its other combo was rolled back: a fresh listener can take ctrl+alt+f8
        again = HotkeyListener({"ctrl+alt+f8": lambda: None})
        again.start()
        again.stop()
    finally:
        assert holder.stdin is not None
        holder.stdin.write("\n")
        holder.stdin.flush()
        holder.wait(10)


def test_a_hotkey_fires_from_a_separate_keyboard_process_and_is_released_on_stop() -> None:
    fired = threading.Event()
    listener = HotkeyListener({"ctrl+alt+f9": fired.set})
    listener.start()
    try:
        subprocess.run([sys.executable, "-m", "tests_win.sendinput", "combo", "ctrl+alt+f9"], cwd=ROOT,
                       stdin=subprocess.DEVNULL, capture_output=True, timeout=60, check=True)
        assert fired.wait(10), "WM_HOTKEY did not arrive"
    finally:
        listener.stop()
    holder = subprocess.run([sys.executable, "-c", HOLDER.replace("0x76", "0x78")], input="\n", text=True,
                            capture_output=True, timeout=60, check=False)
    assert holder.stdout.strip() == "held", "the combo is free again after stop()"


def test_tray_dialogs_run_on_the_question_boxs_tk_thread() -> None:
    box = QuestionBox(lambda question, t: None)
    box.start()
    try:
        assert with_tk(lambda parent: threading.current_thread().name) == "question-box"
    finally:
        box.stop()
    assert with_tk(lambda parent: threading.current_thread().name) == threading.current_thread().name


def test_the_daemon_process_is_dpi_aware() -> None:
    code = ("import ctypes; from daemon.desktop.windpi import enable_dpi_awareness; print(enable_dpi_awareness()); "
            "print(ctypes.windll.user32.IsProcessDPIAware())")
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, stdin=subprocess.DEVNULL, capture_output=True,
                         text=True, timeout=60, check=True).stdout.split()
    assert out == ["system", "1"], out


def test_the_monitor_under_the_pointer_is_windows_work_area() -> None:
    fallback = (0, 0, 1, 1)
    left, top, right, bottom = monitor_of((10, 10), fallback)
    assert (left, top) == (0, 0) and right > 640 and bottom > 400
    assert Path(__file__).exists()
