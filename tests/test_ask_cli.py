"""`python -m daemon ask` as a user runs it: a real child process, a real stand-in LLM, espeak-ng, a WAV out."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from daemon.audio import read_wav
from tests.conftest import ROOT
from tests.fixtures.llm_server import DEFAULT_TOKENS, refused_url


def run_ask(tmp_path: Path, url: str, *args: str) -> subprocess.CompletedProcess[str]:
    settings = tmp_path / "settings.json"
    settings.write_text(json.dumps({"remote_llm_url": url, "engine": "system", "use_local_cloning": False}))
    return subprocess.run([sys.executable, "-m", "daemon", "--settings", str(settings), "ask", *args],
                          cwd=ROOT, capture_output=True, text=True, timeout=120, check=False)


def test_ask_writes_the_spoken_answer_to_a_wav(llm_server, tmp_path: Path) -> None:
    srv = llm_server(api="openai")
    out = tmp_path / "answer.wav"
    proc = run_ask(tmp_path, srv.url, "Why is the sky blue?", "--out", str(out))
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == "".join(DEFAULT_TOKENS)
    assert srv.questions == ["Why is the sky blue?"]
    samples, rate = read_wav(out)
    assert samples.size / rate > 2.0  # two spoken sentences
    assert "first audio" in proc.stderr


def test_ask_with_unreachable_llm_fails_with_one_clear_line(tmp_path: Path) -> None:
    out = tmp_path / "answer.wav"
    proc = run_ask(tmp_path, refused_url(), "Hello?", "--out", str(out))
    assert proc.returncode == 1
    assert "voxtray: cannot reach the remote LLM" in proc.stderr and "remote_llm_url" in proc.stderr
    assert out.exists()  # the short spoken error message


def test_ask_rejects_a_non_wav_out(tmp_path: Path) -> None:
    proc = run_ask(tmp_path, "http://127.0.0.1:9", "Hello?", "--out", str(tmp_path / "a.mp3"))
    assert proc.returncode == 2 and "--out must name a .wav file" in proc.stderr
