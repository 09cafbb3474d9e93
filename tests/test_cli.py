"""The CLI for real, as child processes: say (file and device), interrupt, no device, doctor, single instance."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import psutil
import pytest

from daemon.audio import read_wav
from tests.fixtures.audio import AlsaCapture

ROOT = Path(__file__).resolve().parent.parent
LONG_TEXT = " ".join(f"This is sentence number {i} of a long reply that keeps going." for i in range(1, 12))


@pytest.fixture
def settings_file(tmp_path: Path) -> Path:
    path = tmp_path / "settings.json"
    path.write_text(json.dumps({"use_local_cloning": False, "output_sample_rate": 48000}))
    return path


def cli(settings: Path, *args: str, env: dict[str, str] | None = None, **kw: object) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "daemon", "--settings", str(settings), *args],
        cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env={**os.environ, **(env or {})},
        **kw,  # type: ignore[call-overload]
    )


def finish(proc: subprocess.Popen[str], timeout: float = 120) -> tuple[int, str, str]:
    out, err = proc.communicate(timeout=timeout)
    return proc.returncode, out, err


def test_say_system_writes_a_non_silent_wav(settings_file: Path, tmp_path: Path) -> None:
    out = tmp_path / "hello.wav"
    code, stdout, err = finish(cli(settings_file, "say", "Hello. This is VoxTray.", "--engine", "system", "--out", str(out)))
    assert code == 0, err
    samples, rate = read_wav(out)
    assert 0.8 < samples.size / rate < 5.0
    assert np.sqrt(np.mean(samples**2)) > 0.01
    assert "engine: system" in stdout


def test_say_plays_through_the_device_for_as_long_as_the_text(
    settings_file: Path, tmp_path: Path, alsa_capture: AlsaCapture
) -> None:
    text = "Hello. This is VoxTray speaking through the real audio path."
    ref = tmp_path / "ref.wav"
    assert finish(cli(settings_file, "say", text, "--engine", "system", "--out", str(ref)))[0] == 0
    ref_samples, ref_rate = read_wav(ref)
    code, _, err = finish(cli(settings_file, "say", text, "--engine", "system", env=alsa_capture.env))
    assert code == 0, err
    played = alsa_capture.read()
    voiced = lambda x, r: np.count_nonzero(np.abs(x) > 0.01) / r  # noqa: E731
    assert voiced(played, alsa_capture.rate) > 1.0
    assert abs(voiced(played, alsa_capture.rate) - voiced(ref_samples, ref_rate)) < 0.25 * voiced(ref_samples, ref_rate)


def test_interrupting_say_cuts_the_audio_off(settings_file: Path, alsa_capture: AlsaCapture) -> None:
    proc = cli(settings_file, "say", LONG_TEXT, "--engine", "system", env=alsa_capture.env)
    alsa_capture.wait_for_audio(0.5, timeout=60)
    proc.send_signal(signal.SIGINT)
    code, _, _ = finish(proc, timeout=15)
    assert code == 130
    time.sleep(0.3)
    played = np.count_nonzero(np.abs(alsa_capture.read()) > 0.01) / alsa_capture.rate
    assert played < 8.0  # the whole text is ~30 s


def test_say_without_an_audio_device_gives_one_clear_error(settings_file: Path, tmp_path: Path) -> None:
    conf = tmp_path / "empty.conf"
    conf.write_text("pcm.!default { type hw card 7 }\n")  # a machine whose only 'device' is a missing card
    code, _, err = finish(cli(settings_file, "say", "Hello.", "--engine", "system",
                              env={"ALSA_CONFIG_PATH": f"/usr/share/alsa/alsa.conf:{conf}"}))
    assert code == 1
    assert err.strip().splitlines() == [err.strip()], "one line"
    assert err.startswith("voxtray: No audio output device is available.")
    assert "--out FILE.wav" in err and "Traceback" not in err


def test_doctor_reports_no_gpu_and_no_audio_device_honestly(settings_file: Path, tmp_path: Path) -> None:
    conf = tmp_path / "empty.conf"
    conf.write_text("pcm.!default { type hw card 7 }\n")
    code, out, err = finish(cli(settings_file, "doctor", "--offline",
                                env={"ALSA_CONFIG_PATH": f"/usr/share/alsa/alsa.conf:{conf}"}))
    assert code == 1, err
    assert "no NVIDIA GPU" in out and "no usable output device" in out
    assert "[skip] edge-tts" in out and "--offline" in out, "tests never reach beyond loopback"
    for name in ("Python", "torch", "GPU (NVML)", "audio output", "edge-tts", "remote LLM", "XTTS model", "voices", "hotkeys"):
        assert name in out


def test_second_daemon_says_already_running_and_first_stops_cleanly(settings_file: Path) -> None:
    env = {"DISPLAY": ""}
    first = cli(settings_file, "run", "--headless", env=env)
    try:
        assert first.stdout is not None
        line = first.stdout.readline()
        assert "running" in line
        code, _, err = finish(cli(settings_file, "run", "--headless", env=env), timeout=60)
        assert code == 1 and "already running" in err
        children = psutil.Process(first.pid).children(recursive=True)
        first.send_signal(signal.SIGTERM)
        assert first.wait(timeout=20) == 0
        assert not [c for c in children if c.is_running() and c.status() != psutil.STATUS_ZOMBIE]
    finally:
        if first.poll() is None:
            first.kill()
            first.wait(5)


def test_say_with_no_usable_voice_fails_and_writes_no_wav(settings_file: Path, tmp_path: Path) -> None:
    """espeak-ng taken off PATH (a real missing binary): nothing can speak, so no WAV and a non-zero exit."""
    out = tmp_path / "nothing.wav"
    empty = tmp_path / "bin"
    empty.mkdir()
    code, _stdout, err = finish(cli(settings_file, "say", "Hello.", "--engine", "system", "--out", str(out),
                                    env={"PATH": str(empty)}))
    assert code == 1, err
    assert not out.exists()
    lines = [line for line in err.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("voxtray: ") and "espeak-ng" in lines[0] + err, err
    assert "Traceback" not in err


def test_messages_name_commands_that_exist() -> None:
    """Every `python -m daemon VERB` a doc string names and every `{paths.command()} VERB` a message names is a
    real verb; no message hardcodes the command (`voxtray` when installed, `python -m daemon` in a clone)."""
    import ast
    import re

    from daemon.cli import VERBS

    named: set[str] = set()
    for path in (ROOT / "daemon").rglob("*.py"):
        text = path.read_text(encoding="utf-8")
        assert not re.search(r"`voxtray (?!://)[a-z]", text), f"{path} hardcodes a `voxtray ...` command"
        tree = ast.parse(text)
        docs = {id(node.body[0].value) for node in ast.walk(tree)
                if isinstance(node, ast.Module | ast.ClassDef | ast.FunctionDef | ast.AsyncFunctionDef)
                and node.body and isinstance(node.body[0], ast.Expr)}
        for node in ast.walk(tree):
            if isinstance(node, ast.Constant) and isinstance(node.value, str) and id(node) not in docs:
                assert "python -m daemon " not in node.value, f"{path}:{node.lineno}: use paths.command()"
        named.update(re.findall(r"python -m daemon (\w+)", text))
        named.update(re.findall(r"\{paths\.command\(\)\} (\w+)", text))
    assert named and named <= set(VERBS) | {"run"}, named - set(VERBS)


def test_sigterm_during_say_out_writes_what_was_spoken(settings_file: Path, tmp_path: Path) -> None:
    out = tmp_path / "part.wav"
    text = " ".join(f"This is sentence number {i} of a very long reply." for i in range(1, 300))
    proc = cli(settings_file, "say", text, "--engine", "system", "--out", str(out))
    time.sleep(1.5)
    assert proc.poll() is None, "still speaking when the signal comes"
    proc.send_signal(signal.SIGTERM)
    code, _, err = finish(proc, timeout=30)
    assert code == 143, err
    samples, rate = read_wav(out)
    assert 0.5 < samples.size / rate < 299 * 2.0, "a partial WAV: what was spoken before the signal"
    assert "Traceback" not in err


def test_an_unwritable_voices_folder_is_one_line_and_exit_1(tmp_path: Path, ljspeech: Path) -> None:
    """The voices folder cannot be made (a file stands where a folder should: as root, permissions cannot
    block writes here): one clear line naming the place, exit 1 (the environment), no traceback."""
    blocker = tmp_path / "afile"
    blocker.write_text("not a folder")
    settings = tmp_path / "settings.json"
    settings.write_text(json.dumps({"use_local_cloning": False, "voices_dir": str(blocker / "voices")}))
    code, _out, err = finish(cli(settings, "voices", "add", str(ljspeech / "LJ001-0001.wav"), "--name", "x"))
    assert code == 1, err
    lines = [line for line in err.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("voxtray: ") and "afile" in lines[0], err
    assert "Traceback" not in err


def test_output_a_pipe_cannot_encode_prints_question_marks_instead_of_failing(tmp_path: Path, ljspeech: Path) -> None:
    """Windows pipes and redirections use the ANSI code page (cp1252): a Cyrillic voice name must not stop the
    command with UnicodeEncodeError (PYTHONIOENCODING=cp1252 gives this Linux child the same streams)."""
    voices = tmp_path / "voices"
    voices.mkdir()
    shutil.copy(ljspeech / "LJ001-0001.wav", voices / "Жанна.wav")
    settings = tmp_path / "settings.json"
    settings.write_text(json.dumps({"voices_dir": str(voices), "use_local_cloning": False}))
    code, out, err = finish(cli(settings, "voices", "list", env={"PYTHONIOENCODING": "cp1252"}))
    assert code == 0, err
    assert "?????" in out and "Traceback" not in err
