"""The daemon as Windows users run it: pythonw.exe (no console), win32 tray icon docked into the X tray (trayer)
through Wine's systray, its menu opened by the right-click callback the shell sends, Windows session messages."""

from __future__ import annotations

import ctypes
from pathlib import Path

import numpy as np

from daemon.desktop.icons import AMBER, GREY, RED
from tests_win import daemon_proc, winutil
from tests_win.conftest import ROOT
from tests_win.daemon_proc import choose, choose_in_submenu, open_menu, running
from tests_win.winutil import WM_CLOSE, WM_ENDSESSION, WM_QUERYENDSESSION, child_env, user32, wait_for


def message_box(pid: int) -> winutil.Window | None:
    """A visible dialog (#32770: MessageBox) owned by process `pid`."""
    boxes = winutil.find(lambda w: w.pid == pid and w.cls == "#32770" and w.visible)
    return boxes[0] if boxes else None


def box_text(hwnd: int) -> str:
    """All static texts inside a dialog."""
    texts: list[str] = []

    @ctypes.WINFUNCTYPE(ctypes.c_bool, ctypes.c_void_p, ctypes.c_void_p)
    def visit(child: int, _l: int) -> bool:
        buf = ctypes.create_unicode_buffer(1024)
        user32.GetWindowTextW(child, buf, 1024)
        texts.append(buf.value)
        return True

    user32.EnumChildWindows(hwnd, visit, 0)
    return "\n".join(texts)


def test_menu_runs_open_settings_with_notepad_fallback_and_quit_stops_cleanly(tmp_path: Path) -> None:
    with running(tmp_path) as daemon:
        choose_in_submenu(open_menu(daemon), "Files", 0)  # Files > Open settings
        # No program owns .json on a fresh Windows: os.startfile fails, and the file opens in Notepad.
        notepad = wait_for(lambda: winutil.find(lambda w: "settings.json" in w.title and w.pid != daemon.pid
                                                and w.visible), 30, "Notepad showing settings.json")[0]
        winutil.post(notepad.hwnd, WM_CLOSE)
        wait_for(lambda: not winutil.pid_alive(notepad.pid), 15, "Notepad to close")
        choose(open_menu(daemon), "Quit")
        assert daemon.wait_exit(30) == 0
        log = daemon.log()
        assert "VoxTray stopped" in log and "Traceback" not in log, log[-3000:]


def test_logging_off_lets_windows_end_the_session_and_stops_cleanly_first(tmp_path: Path) -> None:
    with running(tmp_path) as daemon:
        tray = daemon.tray()
        assert winutil.send(tray.hwnd, WM_QUERYENDSESSION, 0, 0) == 1, "VoxTray must not block log-off"
        winutil.send(tray.hwnd, WM_ENDSESSION, 1, 0)
        # Windows may end the process as soon as WM_ENDSESSION returns: the clean stop must be done by then.
        assert "VoxTray stopped" in daemon.log()
        assert daemon.wait_exit(30) == 0


def test_a_fatal_start_error_under_pythonw_is_logged_and_shown_in_a_box(tmp_path: Path) -> None:
    bad = tmp_path / "settings.json"
    bad.write_text('{"volume": "loud"}', encoding="utf-8")
    log_dir = tmp_path / "logs"
    env = child_env(VOXTRAY_LOG_DIR=str(log_dir), VOXTRAY_DATA_DIR=str(tmp_path / "data"))
    proc = daemon_proc.start(tmp_path, "run", settings=bad, env=env)
    try:
        box = wait_for(lambda: message_box(proc.pid), 60, "an error box from the daemon")
        text = box_text(box.hwnd)
        assert "volume" in text and "could not start" in text, text
        assert box.title == "VoxTray"
        assert "volume" in winutil.log_text(log_dir)
        assert proc.poll() is None, "the process waits for the user to read the box"
        winutil.post(box.hwnd, WM_CLOSE)
        assert proc.wait(30) == 2
    finally:
        winutil.stop_tree(proc)
    assert bad.read_text(encoding="utf-8") == '{"volume": "loud"}', "a broken settings file is never overwritten"


def test_a_second_daemon_under_pythonw_says_already_running_in_a_box(tmp_path: Path) -> None:
    with running(tmp_path) as daemon:
        env = child_env(VOXTRAY_LOG_DIR=str(daemon.log_dir), VOXTRAY_DATA_DIR=str(daemon.data_dir))
        second = daemon_proc.start(tmp_path, "run", settings=tmp_path / "cfg" / "settings.json", env=env)
        try:
            box = wait_for(lambda: message_box(second.pid), 60, "the second daemon's error box")
            assert f"already running (pid {daemon.pid})" in box_text(box.hwnd)
            winutil.post(box.hwnd, WM_CLOSE)
            assert second.wait(30) == 1
        finally:
            winutil.stop_tree(second)
        assert winutil.pid_alive(daemon.pid), "the first daemon keeps running"


def test_output_of_a_verb_under_pythonw_lands_in_the_log(tmp_path: Path) -> None:
    """pythonw has no stdout/stderr: what a verb prints goes to the log instead of nowhere (or a crash)."""
    log_dir = tmp_path / "logs"
    env = child_env(VOXTRAY_LOG_DIR=str(log_dir), VOXTRAY_DATA_DIR=str(tmp_path / "data"))
    settings = daemon_proc.write_settings(tmp_path / "cfg")
    proc = daemon_proc.start(tmp_path, "voices", "list", settings=settings, env=env)
    assert proc.wait(120) == 0
    log = winutil.log_text(log_dir)
    assert "stdout: " in log and "sample" in log, log[-2000:]


def tray_pixels(colour: tuple[int, int, int]) -> int:
    """Pixels of `colour` (within a small tolerance) in trayer's panel, top right of the screen."""
    from PIL import ImageGrab

    shot = ImageGrab.grab()  # Wine's screen DC reads the X root window, trayer included
    panel = np.asarray(shot.crop((shot.width - 200, 0, shot.width, 40)).convert("RGB")).astype(int)
    return int(np.count_nonzero(np.all(np.abs(panel - np.array(colour)) <= 12, axis=-1)))


def test_the_tray_icon_docks_and_shows_the_voice_that_speaks(tmp_path: Path) -> None:
    """edge-tts reachable (the real client against its loopback stand-in; no XTTS under Wine): the docked icon
    turns from grey (starting) to amber once the probe has heard edge-tts speak."""
    from tests.fixtures.edge_server import EdgeStandIn, _ServerThread

    edge = EdgeStandIn()
    server = _ServerThread(edge)
    server.start()
    try:
        with running(tmp_path, launcher=ROOT / "tests_win" / "edge_daemon.py",
                     env_extra={"VOXTRAY_TEST_EDGE_WSS": edge.wss_url, "VOXTRAY_TEST_EDGE_VOICES": edge.voices_url},
                     use_local_cloning=False) as daemon:
            wait_for(lambda: "voice tier -> edge" in daemon.log(), 60, "the edge tier in the log")
            wait_for(lambda: tray_pixels(AMBER) >= 60, 20, "an amber icon in the tray")
            assert tray_pixels(GREY) < 10, "no grey 'starting' icon beside it"
            assert edge.texts, "the probe really asked edge-tts to speak"
    finally:
        server.stop()


def test_the_icon_is_not_amber_when_edge_tts_cannot_be_reached(tmp_path: Path) -> None:
    """No network under Wine, no SAPI voice: nothing can speak, so the icon is red with '!', never amber."""
    with running(tmp_path, use_local_cloning=False) as daemon:
        wait_for(lambda: "voice tier -> none" in daemon.log(), 60, "'nothing can speak' in the log")
        wait_for(lambda: tray_pixels(RED) >= 40, 20, "a red icon in the tray")
        assert tray_pixels(AMBER) < 10
