"""Pause / resume / repeat on Windows, under Wine: SendInput types the pause hotkey (ctrl+alt+shift+space) while
an answer plays -> RegisterHotKey fires in the daemon (pythonw.exe) -> the sound stops (the capture no longer
grows) -> again -> it goes on; then the tray's "Repeat the last answer" replays it without a new LLM request and
the tray's "Pause" holds the repeat. (Wine's mixer keeps its ALSA device running while no stream plays, so
"stops" here means the capture gets only silence.) The answer comes as in test_ask_hotkey.py (question box, loopback LLM, the
real edge-tts client against its stand-in, PortAudio -> Wine's ALSA driver -> the ALSA `file` capture).

Faked: nothing in the daemon; edge-tts's two endpoint URLs point at the stand-in (tests_win/edge_daemon.py).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path

import numpy as np

from tests.fixtures.edge_server import EdgeStandIn, _ServerThread
from tests.fixtures.llm_server import start_llm_server
from tests_win import daemon_proc, winutil
from tests_win.conftest import ROOT
from tests_win.test_ask_hotkey import BOX_TITLE, keyboard
from tests_win.winutil import captured, wait_for

VK_ESCAPE = 0x1B


def choose_until(daemon: daemon_proc.Daemon, item: str, done: Callable[[], bool], what: str, each_s: float) -> None:
    """Pick `item` in the tray menu until `done()`. The tray re-renders on its own thread after a status change (the
    answer ended, the repeat started), so a menu opened at once can still show the item greyed, where Enter does
    nothing: close it (Escape) and open it again, as a user would."""
    for _attempt in range(3):
        menu = daemon_proc.open_menu(daemon)
        daemon_proc.choose(menu, item)
        deadline = time.monotonic() + each_s
        while time.monotonic() < deadline:
            if done():
                return
            time.sleep(0.1)
        if winutil.find(lambda w, m=menu: w.hwnd == m and w.visible):  # still open (Enter on a greyed item may close)
            try:
                winutil.post(menu, daemon_proc.WM_KEYDOWN, VK_ESCAPE)
            except AssertionError:  # closed meanwhile
                pass
        wait_for(lambda: not winutil.find(lambda w: w.cls == "#32768" and w.visible), 10, "the menu to close")
    raise AssertionError(f"timed out waiting for {what}")


def loud_during(capture: Path, seconds: float) -> int:
    """How many audible samples the capture got during `seconds`."""
    before = captured(capture).size
    time.sleep(seconds)
    return int(np.count_nonzero(np.abs(captured(capture)[before:]) > 0.01))


def test_pause_hotkey_and_the_tray_repeat_and_pause(tmp_path: Path, capture: Path) -> None:
    llm = start_llm_server(api="ollama", tokens=["The sky ", "is blue. ", "Sunsets ", "are red."])
    edge = EdgeStandIn(tone_s=2.5)  # each sentence a 2.5 s tone: long enough to pause mid-sentence
    thread = _ServerThread(edge)
    thread.start()
    try:
        with daemon_proc.running(tmp_path, launcher=ROOT / "tests_win" / "edge_daemon.py",
                                 env_extra={"VOXTRAY_TEST_EDGE_WSS": edge.wss_url,
                                            "VOXTRAY_TEST_EDGE_VOICES": edge.voices_url},
                                 remote_llm_url=llm.url, llm_api="ollama", engine="edge",
                                 output_device="Primary Sound Driver") as daemon:
            wait_for(lambda: "global hotkeys (win32)" in daemon.log(), 60, "hotkeys registered")
            assert "ctrl+alt+shift+space" in daemon.log(), "hotkey_pause is registered with the others"
            keyboard("combo", "ctrl+alt+space")
            wait_for(lambda: winutil.find(lambda w: w.title == BOX_TITLE and w.pid == daemon.pid and w.visible), 15,
                     "the question box")
            keyboard("type", "Why is the sky blue?", "--enter")
            wait_for(lambda: np.count_nonzero(np.abs(captured(capture)) > 0.05) > 4800, 60, "the answer playing")
            keyboard("combo", "ctrl+alt+shift+space")
            wait_for(lambda: "utterance 1 paused" in daemon.log(), 15, "the pause hotkey to pause the answer")
            time.sleep(0.2)  # what Wine's mixer already held
            assert loud_during(capture, 0.5) == 0, "paused: nothing is heard"
            keyboard("combo", "ctrl+alt+shift+space")
            wait_for(lambda: "speech resumed" in daemon.log(), 15, "the pause hotkey again to resume it")
            assert loud_during(capture, 0.5) > 4800, "resumed: the answer is heard again"
            wait_for(lambda: "answer done" in daemon.log(), 60, "the rest of the answer")
            choose_until(daemon, "Repeat the last answer", lambda: "replaying utterance 1" in daemon.log(),
                         "the tray's repeat from the kept audio", each_s=10)
            choose_until(daemon, "Pause", lambda: "utterance 2 paused" in daemon.log(),  # the repeat lasts ~5 s
                         "the tray's Pause to hold the repeat", each_s=1.5)
            log = daemon.log()
            assert len(llm.questions) == 1, "the repeat asked the LLM nothing"
            assert "Traceback" not in log, log[-3000:]
    finally:
        thread.stop()
        llm.stop()
