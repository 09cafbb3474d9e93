"""The cloned voice end to end on the Windows interpreter: the daemon under pythonw.exe with the tiny XTTS warm (green
icon by its pixels), a typed question spoken in the clone and stopped by the stop hotkey, `say --engine xtts`
through DirectSound, and `ask --audio` (Whisper hears the question, XTTS speaks the answer, one process).

Nothing else can speak here: edge-tts has no network under Wine (nothing points it at a stand-in) and Wine has no
SAPI voice, so any audio in the capture is XTTS's. Real: torch/coqui/faster-whisper DLLs from the heavy lane, the
tiny random-weight XTTS (it speaks noise, up to 16 tokens a sentence), Whisper base, PortAudio -> DirectSound ->
Wine's ALSA driver -> an ALSA file capture. Faked: nothing; no CUDA here, so XTTS runs on the CPU.
"""

from __future__ import annotations

import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

from daemon.desktop.icons import GREEN, GREY
from tests.fixtures.llm_server import LLMStandIn, start_llm_server
from tests.fixtures.whisper import word_error_rate
from tests_win import daemon_proc, winutil
from tests_win.conftest import ROOT, run_python
from tests_win.test_daemon_pythonw import tray_pixels
from tests_win.test_heavy_stack import LJ, LJ_TEXT, models, settings_file  # noqa: F401  (models: a fixture)
from tests_win.winutil import captured, child_env, read_pid, wait_for

# Each test starts Windows processes that import torch/coqui (~20-40 s each under Wine on 2 cores).
pytestmark = pytest.mark.timeout(900)

DIRECTSOUND = "Primary Sound Driver"
ANSWER = [f"Sentence number {n} of a long answer. " for n in range(1, 13)]


@pytest.fixture
def llm() -> Iterator[LLMStandIn]:
    srv = start_llm_server(api="ollama", tokens=ANSWER, delay_s=0.01)
    try:
        yield srv
    finally:
        srv.stop()


def loud(cap: Path) -> int:
    return int(np.count_nonzero(np.abs(captured(cap)) > 0.02))


def keyboard(*args: str) -> None:
    done = subprocess.run([sys.executable, "-m", "tests_win.sendinput", *args], cwd=ROOT, stdin=subprocess.DEVNULL,
                          capture_output=True, text=True, timeout=60, check=False)
    assert done.returncode == 0, done.stdout + done.stderr


def test_the_daemon_warms_xtts_turns_green_speaks_in_the_clone_and_the_stop_hotkey_ends_it(
        tmp_path: Path, models: tuple[Path, Path], llm: LLMStandIn, capture: Path) -> None:  # noqa: F811
    log_dir, data_dir = tmp_path / "logs", tmp_path / "data"
    settings = settings_file(tmp_path, *models, remote_llm_url=llm.url, llm_api="ollama",
                             output_device=DIRECTSOUND)
    env = child_env(VOXTRAY_LOG_DIR=str(log_dir), VOXTRAY_DATA_DIR=str(data_dir))
    proc = daemon_proc.start(tmp_path, "run", settings=settings, env=env)
    pid = None
    try:
        pid = wait_for(lambda: read_pid(data_dir), 120, "the daemon's pid")
        wait_for(lambda: "voice tier -> xtts" in winutil.log_text(log_dir), 300, "XTTS warm (voice tier -> xtts)")
        wait_for(lambda: tray_pixels(GREEN) >= 60, 30, "a green icon in the tray")
        assert tray_pixels(GREY) < 10, "no grey 'starting' icon beside it"

        keyboard("combo", "ctrl+alt+space")
        wait_for(lambda: winutil.find(lambda w: w.title == "VoxTray — Ask" and w.pid == pid and w.visible), 30,
                 "the question box")
        keyboard("type", "Tell me a long story.", "--enter")
        wait_for(lambda: llm.questions, 30, "the question at the LLM stand-in")
        assert llm.questions == ["Tell me a long story."]
        wait_for(lambda: loud(capture) > 4800, 120, "the clone speaking (0.1 s of audio in the capture)")

        keyboard("combo", "ctrl+alt+backspace")  # barge-in while the answer is being spoken
        wait_for(lambda: "answer cancelled" in winutil.log_text(log_dir), 30, "'answer cancelled' in the log")
        time.sleep(1.0)  # what was already in the device buffer drains
        after_stop = loud(capture)
        time.sleep(3.0)
        assert loud(capture) - after_stop < 2400, "nothing more is spoken once stopped (< 0.05 s)"
        log = winutil.log_text(log_dir)
        assert "Traceback" not in log, log[-4000:]
        spoken_s = after_stop / 48000
        assert spoken_s < len(ANSWER) * 0.7, f"stopped mid-answer ({spoken_s:.1f} s spoken)"
    finally:
        winutil.stop_tree(proc, pid)


def test_say_with_the_clone_plays_through_directsound(tmp_path: Path, models: tuple[Path, Path],  # noqa: F811
                                                       capture: Path) -> None:
    settings = settings_file(tmp_path, *models, output_device=DIRECTSOUND)
    proc = run_python("-m", "daemon", "--settings", str(settings), "say", "--engine", "xtts",
                      "Hello from the cloned voice.", timeout=400)
    assert proc.returncode == 0, proc.stdout + proc.stderr[-4000:]
    assert "(engine: xtts)" in proc.stdout, proc.stdout
    assert loud(capture) > 4800, "the clone's audio reached the DirectSound device"


def test_ask_by_audio_hears_the_question_and_answers_in_the_clone(tmp_path: Path, models: tuple[Path, Path],  # noqa: F811
                                                                  llm: LLMStandIn) -> None:
    settings = settings_file(tmp_path, *models, remote_llm_url=llm.url, llm_api="ollama")
    out = tmp_path / "answer.wav"
    proc = run_python("-m", "daemon", "--settings", str(settings), "ask", "--engine", "xtts", "--audio",
                      str(LJ / "LJ001-0002.wav"), "--out", str(out), timeout=400)
    assert proc.returncode == 0, proc.stdout + proc.stderr[-4000:]
    assert len(llm.questions) == 1 and word_error_rate(LJ_TEXT["LJ001-0002"], llm.questions[0]) < 0.2, llm.questions
    from daemon.audio import read_wav

    audio, rate = read_wav(out)
    assert audio.size / rate > 1.0 and np.abs(audio).max() > 0.01
