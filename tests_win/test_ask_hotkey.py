"""Ask by hotkey on Windows, end to end under Wine: another program has the focus; a separate process types
Ctrl+Alt+Space with SendInput (as a keyboard would) -> RegisterHotKey fires in the daemon (pythonw.exe) -> the
question box opens and TAKES the focus -> the typed question reaches a loopback LLM stand-in (Ollama NDJSON) ->
the answer is spoken by the real edge-tts client against a loopback stand-in -> sounddevice (PortAudio,
DirectSound) plays it through Wine's ALSA driver into an ALSA `file` capture that this test reads back.

Faked: nothing in the daemon; edge-tts's two endpoint URLs point at the stand-in (tests_win/edge_daemon.py).
"""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

from tests.fixtures.edge_server import EdgeStandIn, _ServerThread
from tests.fixtures.llm_server import LLMStandIn, start_llm_server
from tests_win import daemon_proc, winutil
from tests_win.conftest import ROOT
from tests_win.winutil import captured, child_env, read_pid, user32, wait_for

QUESTION = "Why is the sky blue?"
ANSWER = ["The sky ", "is blue ", "because air ", "scatters blue light. ", "Sunsets ", "look red."]
BOX_TITLE = "VoxTray — Ask"


@pytest.fixture
def servers() -> Iterator[tuple[LLMStandIn, EdgeStandIn]]:
    llm = start_llm_server(api="ollama", tokens=ANSWER, delay_s=0.02)
    edge = EdgeStandIn()
    thread = _ServerThread(edge)
    thread.start()
    try:
        yield llm, edge
    finally:
        thread.stop()
        llm.stop()


def other_app() -> subprocess.Popen[bytes]:
    """A window of another program that has the keyboard focus when the hotkey is pressed."""
    code = ("import tkinter as tk; r = tk.Tk(); r.title('Other app'); r.geometry('300x100+100+300'); "
            "e = tk.Entry(r); e.pack(); r.after(200, lambda: (r.focus_force(), e.focus_set())); r.mainloop()")
    return subprocess.Popen([sys.executable, "-c", code], stdin=subprocess.DEVNULL)


def keyboard(*args: str) -> None:
    done = subprocess.run([sys.executable, "-m", "tests_win.sendinput", *args], cwd=ROOT, stdin=subprocess.DEVNULL,
                          capture_output=True, text=True, timeout=60, check=False)
    assert done.returncode == 0, done.stdout + done.stderr


def test_hotkey_box_takes_focus_question_reaches_the_llm_and_the_answer_plays(
        tmp_path: Path, capture: Path, servers: tuple[LLMStandIn, EdgeStandIn]) -> None:
    llm, edge = servers
    log_dir, data_dir = tmp_path / "logs", tmp_path / "data"
    settings = daemon_proc.write_settings(tmp_path / "cfg", remote_llm_url=llm.url, llm_api="ollama", engine="edge",
                                          output_device="Primary Sound Driver")  # DirectSound (FINDINGS.md c)
    env = child_env(VOXTRAY_LOG_DIR=str(log_dir), VOXTRAY_DATA_DIR=str(data_dir), VOXTRAY_TEST_EDGE_WSS=edge.wss_url,
                    VOXTRAY_TEST_EDGE_VOICES=edge.voices_url)
    daemon = daemon_proc.start(tmp_path, "run", settings=settings, env=env, launcher=ROOT / "tests_win" / "edge_daemon.py")
    other: subprocess.Popen[bytes] | None = None
    pid = None
    try:
        pid = wait_for(lambda: read_pid(data_dir), 90, "the daemon's pid")
        wait_for(lambda: "global hotkeys (win32)" in winutil.log_text(log_dir), 60, "hotkeys registered")
        other = other_app()
        them = wait_for(lambda: winutil.find(lambda w: w.title == "Other app" and w.visible), 30, "the other app")[0]
        wait_for(lambda: user32.GetForegroundWindow() == them.hwnd, 15, "the other app to have the focus")

        keyboard("combo", "ctrl+alt+space")
        box = wait_for(lambda: winutil.find(lambda w: w.title == BOX_TITLE and w.pid == pid and w.visible), 15,
                       "the question box")[0]
        wait_for(lambda: user32.GetForegroundWindow() == box.hwnd, 10, "the question box to take the focus")
        keyboard("type", QUESTION, "--enter")
        wait_for(lambda: llm.questions, 30, "the question at the LLM stand-in")
        assert llm.questions == [QUESTION], "every typed key landed in the box, none in the other app"
        wait_for(lambda: len(edge.texts) >= 1, 30, "edge-tts asked to speak the answer")
        wait_for(lambda: np.count_nonzero(np.abs(captured(capture)) > 0.05) > 4800, 60,
                 "at least 0.1 s of the answer in the capture")
        log = winutil.log_text(log_dir)
        assert "Traceback" not in log, log[-3000:]
    finally:
        if other is not None:
            other.kill()
        winutil.stop_tree(daemon, pid)
