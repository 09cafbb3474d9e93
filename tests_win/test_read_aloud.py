"""Read aloud on Windows, under Wine: another program (a Tk app on the Windows CPython) has text selected and
the focus; the selection is copied with a simulated Ctrl+C and the user's clipboard — text, a registered binary
format and a bitmap's CF_DIB — is given back byte for byte. End to end: SendInput types the read hotkey ->
RegisterHotKey fires in the daemon (pythonw.exe) -> the selection reaches the real edge-tts client (loopback
stand-in); the clipboard is the user's again afterwards.

Faked: nothing in the daemon; edge-tts's two endpoint URLs point at the stand-in (tests_win/edge_daemon.py).
"""

from __future__ import annotations

import ctypes
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from daemon.desktop import winclipboard
from tests.fixtures.edge_server import EdgeStandIn, _ServerThread
from tests_win import daemon_proc, winutil
from tests_win.conftest import ROOT
from tests_win.winutil import child_env, read_pid, user32, wait_for

SELECTED = "Read this selected sentence aloud, please."
CF_DIB = 8
DIB = bytes(range(40)) + b"\x00\xff" * 8  # any bytes: the clipboard does not look inside an HGLOBAL format


def user_clipboard() -> list[tuple[int, bytes]]:
    """What the user had copied: text, a registered format with binary bytes, and a bitmap's CF_DIB."""
    custom = ctypes.WinDLL("user32").RegisterClipboardFormatW("VoxTray Test Format")
    return [(winclipboard.CF_UNICODETEXT, "the user's own clipboard ✓\0".encode("utf-16-le")),
            (custom, b"\x00\x01binary\xff\xfe" * 100), (CF_DIB, DIB)]


def other_app(selected: str, title: str) -> subprocess.Popen[bytes]:
    code = ("import sys, tkinter as tk; r = tk.Tk(); r.title(sys.argv[2]); r.geometry('400x100+100+300'); "
            "e = tk.Entry(r, width=60); e.pack(); e.insert(0, sys.argv[1]); "
            "r.after(200, lambda: (r.focus_force(), e.focus_set(), e.selection_range(0, 'end'))); r.mainloop()")
    return subprocess.Popen([sys.executable, "-c", code, selected, title], stdin=subprocess.DEVNULL)


@pytest.fixture
def focused_app() -> Iterator[Callable[[str], None]]:
    procs: list[subprocess.Popen[bytes]] = []

    def start(selected: str) -> None:
        for old in procs:
            old.kill()
        title = f"Other app {len(procs)}"
        procs.append(other_app(selected, title))
        them = wait_for(lambda: winutil.find(lambda w: w.title == title and w.visible), 30, "the other app")[0]
        wait_for(lambda: user32.GetForegroundWindow() == them.hwnd, 15, "the other app to have the focus")

    yield start
    for proc in procs:
        proc.kill()


def saved() -> dict[int, bytes]:
    u, k = winclipboard._apis()
    return dict(winclipboard.save_formats(u, k))


def test_ctrl_c_copies_the_selection_and_the_clipboard_comes_back_byte_for_byte(focused_app) -> None:
    u, k = winclipboard._apis()
    mine = user_clipboard()
    winclipboard.restore_formats(u, k, mine)
    before = saved()
    assert all(before[fmt] == data for fmt, data in mine), "the user's formats are on the clipboard"
    focused_app(SELECTED)
    assert winclipboard.copy_selection(timeout_s=3.0) == (SELECTED, True)
    after = saved()
    assert after == before, "every format given back byte for byte (and none added)"

    focused_app("")  # nothing selected: Ctrl+C copies nothing, the clipboard's text is read, nothing is touched
    sequence = u.GetClipboardSequenceNumber()
    assert winclipboard.copy_selection(timeout_s=0.5) == ("the user's own clipboard ✓", False)
    assert u.GetClipboardSequenceNumber() == sequence and saved() == before


def test_read_hotkey_reads_another_apps_selection_in_the_daemon(tmp_path: Path, focused_app) -> None:
    edge = EdgeStandIn()
    thread = _ServerThread(edge)
    thread.start()
    u, k = winclipboard._apis()
    mine = user_clipboard()
    winclipboard.restore_formats(u, k, mine)
    before = saved()
    log_dir, data_dir = tmp_path / "logs", tmp_path / "data"
    settings = daemon_proc.write_settings(tmp_path / "cfg", engine="edge", output_device="Primary Sound Driver")
    env = child_env(VOXTRAY_LOG_DIR=str(log_dir), VOXTRAY_DATA_DIR=str(data_dir), VOXTRAY_TEST_EDGE_WSS=edge.wss_url,
                    VOXTRAY_TEST_EDGE_VOICES=edge.voices_url)
    daemon = daemon_proc.start(tmp_path, "run", settings=settings, env=env, launcher=ROOT / "tests_win" / "edge_daemon.py")
    pid = None
    try:
        pid = wait_for(lambda: read_pid(data_dir), 90, "the daemon's pid")
        wait_for(lambda: "global hotkeys (win32)" in winutil.log_text(log_dir), 60, "hotkeys registered")
        focused_app(SELECTED)
        done = subprocess.run([sys.executable, "-m", "tests_win.sendinput", "combo", "ctrl+alt+insert"], cwd=ROOT,
                              stdin=subprocess.DEVNULL, capture_output=True, text=True, timeout=60, check=False)
        assert done.returncode == 0, done.stdout + done.stderr
        wait_for(lambda: any("selected sentence" in t for t in edge.texts), 60, "the selection at edge-tts")
        assert "".join(edge.texts).count("Read this selected sentence aloud") == 1, edge.texts
        assert saved() == before, "the user's clipboard is back, byte for byte"
        log = winutil.log_text(log_dir)
        assert "reading the selection aloud" in log and "Traceback" not in log, log[-3000:]
    finally:
        winutil.stop_tree(daemon, pid)
        thread.stop()


def test_tray_read_aloud_gives_the_focus_back_and_reads_the_selection(tmp_path: Path, focused_app) -> None:
    """The tray menu takes the focus (pystray makes its hidden window the foreground one): Read aloud gives it back
    to the program the user was in before the simulated Ctrl+C, so the selection is read, not the clipboard."""
    edge = EdgeStandIn()
    thread = _ServerThread(edge)
    thread.start()
    u, k = winclipboard._apis()
    winclipboard.restore_formats(u, k, user_clipboard())
    before = saved()
    try:
        with daemon_proc.running(tmp_path, launcher=ROOT / "tests_win" / "edge_daemon.py",
                                 env_extra={"VOXTRAY_TEST_EDGE_WSS": edge.wss_url,
                                            "VOXTRAY_TEST_EDGE_VOICES": edge.voices_url},
                                 engine="edge", output_device="Primary Sound Driver") as daemon:
            wait_for(lambda: "voice tier -> edge" in daemon.log(), 60, "the edge tier in the log")
            focused_app(SELECTED)
            app_window = user32.GetForegroundWindow()
            daemon_proc.choose(daemon_proc.open_menu(daemon), "Read aloud")
            wait_for(lambda: any("selected sentence" in t for t in edge.texts), 60, "the selection at edge-tts")
            log = daemon.log()
            assert "focus given back to the window the user was in" in log, log[-3000:]
            assert "reading the selection aloud" in log and "Traceback" not in log, log[-3000:]
            assert user32.GetForegroundWindow() == app_window, "the user's program keeps the focus"
            assert saved() == before, "the user's clipboard is back, byte for byte"
    finally:
        thread.stop()
