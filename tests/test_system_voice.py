"""The system voice runs in child processes: a crash, hang or silence costs an EngineError, never the daemon.

Real: SystemEngine, espeak-ng child processes, WAV files, psutil, `python -m daemon.speech.sapi_child`.
SAPI: real SAPI voices cannot exist on this machine (Linux), nor under Wine 8 (seen there with the Windows
CPython and comtypes 1.4.17: SAPI.SpVoice is created, but its GetVoices fails with E_NOTIMPL, so the child exits 3),
so SAPI itself is absent here (comtypes is not installed: the child's "no SAPI" exit) or faked at its import
boundary (a stand-in `comtypes.client` on the child's PYTHONPATH that records what the child does to the SAPI
objects and writes a tone where SAPI would write speech)."""

from __future__ import annotations

import importlib.util
import json
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Generator, Iterator, Sequence
from pathlib import Path
from typing import Any, cast

import numpy as np
import psutil
import pytest

from daemon.audio import rms_db
from daemon.errors import EngineError, EngineTimeoutError, EngineUnavailableError
from daemon.settings import Settings
from daemon.speech.engines.child import FOLDER_PREFIX, remove_stale_folders
from daemon.speech.engines.system import SystemEngine, split_long
from daemon.speech.sapi_child import wpm_to_rate

ROOT = Path(__file__).resolve().parent.parent
PY = sys.executable
needs_espeak = pytest.mark.skipif(shutil.which("espeak-ng") is None, reason="espeak-ng is not installed")


@pytest.fixture
def engines() -> Iterator[list[SystemEngine]]:
    made: list[SystemEngine] = []
    yield made
    for engine in made:
        engine.close()


def make(engines: list[SystemEngine], **kw: Any) -> SystemEngine:
    engine = SystemEngine(kw.pop("settings", Settings()), **kw)
    engines.append(engine)
    return engine


def hang_command(pidfile: Path) -> list[str]:
    """A child that records its PID, then never finishes."""
    code = "import os, sys, time; open(sys.argv[1], 'w').write(str(os.getpid())); time.sleep(60)"
    return [PY, "-c", code, str(pidfile)]


def wait_pid(pidfile: Path, timeout: float = 10.0) -> int:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if pidfile.exists() and pidfile.read_text():
            return int(pidfile.read_text())
        time.sleep(0.02)
    raise AssertionError(f"the child never wrote {pidfile}")


def dead_pid() -> int:
    proc = subprocess.Popen([PY, "-c", "pass"])
    proc.wait()
    return proc.pid


# ----- espeak-ng, for real -----
@needs_espeak
def test_a_sentence_is_spoken_at_the_rate_of_the_wav(engines: list[SystemEngine]) -> None:
    engine = make(engines)
    assert engine.ready()
    audio = engine.synthesize("Hello, this is the system voice speaking.")
    assert engine.sample_rate == 22050  # what espeak-ng writes
    assert audio.dtype == np.float32 and audio.size > 0.8 * engine.sample_rate
    assert rms_db(audio) > -35 and float(np.abs(audio).max()) <= 1.0


def test_the_sample_rate_comes_from_the_wav_written(engines: list[SystemEngine]) -> None:
    code = (
        "import sys, wave, math, struct; w = wave.open(sys.argv[1], 'wb'); w.setnchannels(1); w.setsampwidth(2);"
        "w.setframerate(16000); w.writeframes(b''.join(struct.pack('<h', int(9000 * math.sin(i / 5)))"
        " for i in range(8000))); w.close()"
    )
    engine = make(engines, command=lambda out: [PY, "-c", code, str(out)])
    audio = engine.synthesize("anything")
    assert engine.sample_rate == 16000
    assert audio.size > 7000 and rms_db(audio) > -20


@needs_espeak
def test_settings_choose_the_espeak_voice_and_rate(engines: list[SystemEngine]) -> None:
    engine = make(engines, settings=Settings(system_voice="English (Great Britain)", system_rate=300))
    fast = engine.synthesize("The quick brown fox jumps over the lazy dog.")
    argv = engine._argv(Path("out.wav"))
    assert argv[argv.index("-v") + 1] == "gmw/en" and argv[argv.index("-s") + 1] == "300"
    slow = make(engines, settings=Settings(system_rate=100)).synthesize("The quick brown fox jumps over the lazy dog.")
    assert slow.size > 1.8 * fast.size
    assert "English (America)" in engine.voices()
    unknown = make(engines, settings=Settings(system_voice="-v nonsense"))
    assert "-v" not in unknown._argv(Path("out.wav"))  # unknown: the default voice, never a stray option
    assert unknown.synthesize("Still speaking.").size > 0


@needs_espeak
def test_a_200_kb_text_streams_in_pieces_without_harm(engines: list[SystemEngine]) -> None:
    text = "The quick brown fox jumps over the lazy dog, again and again. " * 3300
    assert len(text) > 200_000
    engine = make(engines)
    gen = cast(Generator[np.ndarray, None, None], engine.stream(text))
    chunks = [next(gen) for _ in range(3)]
    gen.close()  # the child already making piece 4 is killed
    assert all(c.size > 0.5 * engine.sample_rate for c in chunks)
    espeaks = [p for p in psutil.Process().children(recursive=True) if p.name() == "espeak-ng"]
    assert espeaks == []
    assert list(engine._tmp.iterdir()) == []


@needs_espeak
def test_a_long_text_is_spoken_whole(engines: list[SystemEngine]) -> None:
    text = "This sentence is one of many in a long answer. " * 200  # ~9.6 KB, 20 pieces
    audio = make(engines).synthesize(text)
    assert audio.size > 200 * 2.0 * 22050  # about 2.5 s a sentence at 175 wpm


def test_long_text_is_cut_at_sentence_ends() -> None:
    text = "One two three. " * 100
    pieces = split_long(text, 100)
    assert all(len(p) <= 100 and p.endswith(".") for p in pieces)
    assert " ".join(pieces) == text.strip()
    assert split_long("x" * 250, 100) == ["x" * 100, "x" * 100, "x" * 50]
    assert split_long("   \n ") == []


# ----- faults: hang, crash, silence, missing binary -----
def test_a_hanging_child_is_killed_at_its_deadline(engines: list[SystemEngine], tmp_path: Path) -> None:
    pidfile = tmp_path / "pid"
    engine = make(engines, command=hang_command(pidfile), timeout_s=lambda text: 1.0)
    t0 = time.monotonic()
    with pytest.raises(EngineTimeoutError, match=r"took over 1 s"):
        engine.synthesize("Hello.")
    assert time.monotonic() - t0 < 2.0
    assert not psutil.pid_exists(wait_pid(pidfile))
    assert engine.ready()  # a timeout is one failure, not the end of the engine


@needs_espeak
def test_closing_the_stream_kills_the_child_making_the_next_piece(engines: list[SystemEngine], tmp_path: Path) -> None:
    pidfile = tmp_path / "pid"
    calls: list[Path] = []

    def command(out: Path) -> Sequence[str]:
        calls.append(out)
        return ["espeak-ng", "-w", str(out), "--stdin"] if len(calls) == 1 else hang_command(pidfile)

    engine = make(engines, command=command)
    gen = cast(Generator[np.ndarray, None, None], engine.stream("A first sentence long enough to fill a piece. " * 14))
    assert next(gen).size > 0
    pid = wait_pid(pidfile)
    t0 = time.monotonic()
    gen.close()
    assert time.monotonic() - t0 < 1.0
    assert not psutil.pid_exists(pid)


def test_engine_close_stops_a_running_child_at_once(engines: list[SystemEngine], tmp_path: Path) -> None:
    pidfile = tmp_path / "pid"
    engine = make(engines, command=hang_command(pidfile), timeout_s=lambda text: 60.0)
    errors: list[BaseException] = []

    def speak() -> None:
        try:
            engine.synthesize("Hello.")
        except BaseException as exc:
            errors.append(exc)

    worker = threading.Thread(target=speak, daemon=True)
    worker.start()
    pid = wait_pid(pidfile)
    engine.close()
    worker.join(timeout=3)
    assert not worker.is_alive()
    assert len(errors) == 1 and isinstance(errors[0], EngineError)
    assert not psutil.pid_exists(pid)
    assert not engine.ready()


@pytest.mark.skipif(sys.platform == "win32", reason="POSIX signals")
def test_a_crashing_child_is_an_engine_error_naming_the_signal(engines: list[SystemEngine]) -> None:
    crash = [PY, "-c", "import os, signal; os.kill(os.getpid(), signal.SIGSEGV)"]
    engine = make(engines, command=crash)
    with pytest.raises(EngineError, match=r"crashed \(SIGSEGV\)"):
        engine.synthesize("Hello.")
    assert engine.ready()


def test_a_failing_child_is_an_engine_error_with_its_exit_code_and_message(engines: list[SystemEngine]) -> None:
    fail = [PY, "-c", "import sys; print('first', file=sys.stderr); print('voice broke', file=sys.stderr); sys.exit(7)"]
    with pytest.raises(EngineError, match=r"^the system voice failed \(exit code 7\): voice broke$"):
        make(engines, command=fail).synthesize("Hello.")


def test_a_chatty_child_cannot_block_on_its_pipes(engines: list[SystemEngine]) -> None:
    code = (
        "import sys, wave; sys.stderr.write('noise ' * 400000 + '\\nlast words\\n'); sys.stderr.flush();"
        "w = wave.open(sys.argv[1], 'wb'); w.setnchannels(1); w.setsampwidth(2); w.setframerate(8000);"
        "w.writeframes(b'\\x00\\x40' * 4000); w.close()"
    )
    engine = make(engines, command=lambda out: [PY, "-c", code, str(out)], timeout_s=lambda text: 10.0)
    assert engine.synthesize("Hello.").size == 4000 and engine.sample_rate == 8000


def test_no_audio_or_a_broken_wav_is_an_engine_error(engines: list[SystemEngine]) -> None:
    with pytest.raises(EngineError, match="wrote no audio"):
        make(engines, command=[PY, "-c", "pass"]).synthesize("Hello.")
    garbage = [PY, "-c", "import sys; open(sys.argv[1], 'wb').write(b'RIFF' + bytes(100))"]
    with pytest.raises(EngineError, match="unreadable WAV"):
        make(engines, command=lambda out: [*garbage, str(out)]).synthesize("Hello.")


def test_the_text_reaches_the_child_on_stdin_whatever_it_holds(engines: list[SystemEngine], tmp_path: Path) -> None:
    seen = tmp_path / "seen.txt"
    code = "import sys; open(sys.argv[1], 'wb').write(sys.stdin.buffer.read()); sys.exit(5)"
    engine = make(engines, command=[PY, "-c", code, str(seen)])
    with pytest.raises(EngineError, match="exit code 5"):
        engine.synthesize("--help -v x; rm -rf / 'quotes' \"and\" Ünïcödé \udcff")
    assert seen.read_bytes().decode("utf-8") == "--help -v x; rm -rf / 'quotes' \"and\" Ünïcödé ?"


def test_a_missing_espeak_ng_is_unavailable_with_the_install_hint(
    engines: list[SystemEngine], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PATH", str(tmp_path))
    engine = make(engines)
    assert not engine.ready()
    with pytest.raises(EngineUnavailableError, match="sudo apt install espeak-ng"):
        engine.synthesize("Hello.")
    with pytest.raises(EngineUnavailableError, match="sudo apt install espeak-ng"):
        engine.voices()
    gone = make(engines, command=[str(tmp_path / "no-such-espeak"), "--stdin"])
    assert gone.ready()
    with pytest.raises(EngineUnavailableError, match=r"no-such-espeak was not found; .*sudo apt install espeak-ng"):
        gone.synthesize("Hello.")
    assert not gone.ready()


# ----- the temp folder -----
def test_close_removes_the_engine_folder(engines: list[SystemEngine]) -> None:
    engine = make(engines, command=[PY, "-c", "pass"])
    folder = engine._tmp
    assert folder.is_dir() and folder.name.startswith(f"{FOLDER_PREFIX}{os.getpid()}-")
    with pytest.raises(EngineError):
        engine.synthesize("Hello.")
    assert list(folder.iterdir()) == []  # each utterance's files go when it ends
    engine.close()
    assert not folder.exists()


def test_stale_cleanup_removes_only_dead_voxtray_folders(tmp_path: Path) -> None:
    dead, old = dead_pid(), time.time() - 2 * 86400

    def folder(name: str, age: float | None = old) -> Path:
        path = tmp_path / name
        path.mkdir()
        (path / "utt-0.wav").write_bytes(b"x")
        if age is not None:
            os.utime(path, (age, age))
        return path

    stale = folder(f"{FOLDER_PREFIX}{dead}-abc123_x")
    kept = [
        folder(f"{FOLDER_PREFIX}{dead}-recent", age=None),  # too young
        folder(f"{FOLDER_PREFIX}{os.getpid()}-alive"),  # its process runs
        folder(f"{FOLDER_PREFIX}abc12345"),  # no PID in the name: not ours to judge
        folder(f"voxtray-other-{dead}-abc"),
        folder(f"myapp-sys-{dead}-abc"),
    ]
    a_file = tmp_path / f"{FOLDER_PREFIX}{dead}-file"
    a_file.write_text("x")
    os.utime(a_file, (old, old))
    link = tmp_path / f"{FOLDER_PREFIX}{dead}-link"
    link.symlink_to(kept[0])
    if hasattr(os, "geteuid") and os.geteuid() == 0:
        foreign = folder(f"{FOLDER_PREFIX}{dead}-foreign")
        os.chown(foreign, 54321, 54321)
        os.utime(foreign, (old, old))
        kept.append(foreign)

    assert remove_stale_folders(tmp_path) == [stale]
    assert not stale.exists()
    assert all(p.is_dir() for p in kept) and a_file.exists() and link.is_symlink()


def test_a_new_engine_clears_stale_folders_of_dead_engines(
    engines: list[SystemEngine], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    stale = tmp_path / f"{FOLDER_PREFIX}{dead_pid()}-left"
    stale.mkdir()
    os.utime(stale, (time.time() - 90000, time.time() - 90000))
    engine = make(engines, command=[PY, "-c", "pass"])
    assert not stale.exists()
    assert engine._tmp.parent == tmp_path


# ----- Windows: the SAPI child, absent or faked -----
FAKE_CLIENT = '''"""A stand-in for comtypes.client: SAPI objects that record what is done to them and write a tone."""
import json, math, os, struct, wave

LOG = os.environ["FAKE_SAPI_LOG"]
VOICES = json.loads(os.environ.get("FAKE_SAPI_VOICES", "[]"))


def log(*item):
    with open(LOG, "a", encoding="utf-8") as f:
        f.write(json.dumps(item) + "\\n")


class Token:
    def __init__(self, description):
        self.description = description

    def GetDescription(self):
        return self.description


class Tokens:
    def __init__(self):
        self.Count = len(VOICES)

    def Item(self, i):
        return Token(VOICES[i])


class Recorder:
    def __setattr__(self, name, value):
        shown = value.description if isinstance(value, Token) else value if isinstance(value, (int, str)) else type(value).__name__
        log("set", type(self).__name__, name, shown)
        object.__setattr__(self, name, value)


class SpVoice(Recorder):
    def GetVoices(self):
        if os.environ.get("FAKE_SAPI_NO_NAMES"):  # what Wine 8's SpVoice does through IDispatch
            raise OSError(-2147467263, "Not implemented.")
        return Tokens()

    def Speak(self, text, flags):
        log("Speak", text, flags)
        if os.environ.get("FAKE_SAPI_FAIL"):
            raise OSError(-2147201021, "SPERR_UNINITIALIZED")
        stream = self.AudioOutputStream
        rate = {22: 22050}[stream.Format.Type]
        with wave.open(stream.path, "wb") as w:
            w.setnchannels(1); w.setsampwidth(2); w.setframerate(rate)
            w.writeframes(b"".join(struct.pack("<h", int(8000 * math.sin(i / 8))) for i in range(rate // 2)))


class SpFileStream(Recorder):
    def Open(self, path, mode, events):
        log("Open", mode, events)
        object.__setattr__(self, "path", path)

    def Close(self):
        log("Close")


class SpAudioFormat(Recorder):
    pass


def CreateObject(progid, dynamic=False):
    log("CreateObject", progid, dynamic)
    if not dynamic:
        raise RuntimeError("this would generate type libraries")
    return {"SAPI.SpVoice": SpVoice, "SAPI.SpFileStream": SpFileStream, "SAPI.SpAudioFormat": SpAudioFormat}[progid]()
'''
VOICES = ["Microsoft David Desktop - English (United States)", "Microsoft Hedda Desktop - German (Österreich)"]


@pytest.fixture
def fake_sapi(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A fake comtypes for the child process; returns the log of what the child did with SAPI."""
    pkg = tmp_path / "fake" / "comtypes"
    pkg.mkdir(parents=True)
    (pkg / "__init__.py").write_text("", encoding="utf-8")
    (pkg / "client.py").write_text(FAKE_CLIENT, encoding="utf-8")
    log = tmp_path / "sapi.log"
    monkeypatch.setenv("PYTHONPATH", str(pkg.parent))
    monkeypatch.setenv("FAKE_SAPI_LOG", str(log))
    monkeypatch.setenv("FAKE_SAPI_VOICES", json.dumps(VOICES))
    return log


def sapi_child(*args: str, stdin: bytes = b"Hello there.") -> subprocess.CompletedProcess[bytes]:
    argv = [PY, "-m", "daemon.speech.sapi_child", *args]
    return subprocess.run(argv, input=stdin, capture_output=True, timeout=60, cwd=ROOT)


def one_line(err: bytes) -> str:
    lines = err.decode("utf-8").splitlines()
    assert len(lines) == 1, lines
    return lines[0]


def test_sapi_child_rejects_bad_arguments_with_exit_2(tmp_path: Path) -> None:
    out = f"--out={tmp_path / 'x.wav'}"
    for args, stdin, what in [
        ((), b"Hello", "--out=FILE.wav or --list is required"),
        (("--wpm=fast", out), b"Hello", "invalid int value"),
        (("--bogus", out), b"Hello", "unrecognized arguments"),
        ((out,), b"  \n", "no text on stdin"),
    ]:
        done = sapi_child(*args, stdin=stdin)
        assert done.returncode == 2, (args, done.stderr)
        assert what in one_line(done.stderr)


@pytest.mark.skipif(importlib.util.find_spec("comtypes") is not None, reason="comtypes is installed here")
def test_sapi_child_without_sapi_exits_3_with_one_line(tmp_path: Path) -> None:
    for args in ((f"--out={tmp_path / 'x.wav'}", "--voice=Zira"), ("--list",)):
        done = sapi_child(*args)
        assert done.returncode == 3
        assert one_line(done.stderr).startswith("SAPI is not available here: comtypes cannot be imported")
    assert not (tmp_path / "x.wav").exists()


@pytest.mark.skipif(importlib.util.find_spec("comtypes") is not None, reason="comtypes is installed here")
def test_the_engine_on_sapi_without_sapi_is_unavailable(engines: list[SystemEngine]) -> None:
    engine = make(engines, backend="sapi")
    assert engine.ready()
    with pytest.raises(EngineUnavailableError, match=r"comtypes cannot be imported.*Windows voice is installed"):
        engine.synthesize("Hello.")
    assert not engine.ready()
    with pytest.raises(EngineUnavailableError, match="SAPI is not available"):
        engine.voices()


def test_words_per_minute_map_to_sapi_rates() -> None:
    assert wpm_to_rate(175) == 0
    assert wpm_to_rate(525) == 10 and wpm_to_rate(500) == 10 and wpm_to_rate(5000) == 10
    assert wpm_to_rate(58) == -10 and wpm_to_rate(50) == -10 and wpm_to_rate(0) == -10
    assert wpm_to_rate(250) == 3 and wpm_to_rate(120) == -3


def test_sapi_child_drives_sapi_without_type_libraries(fake_sapi: Path, tmp_path: Path) -> None:
    out = tmp_path / "x.wav"
    done = sapi_child(f"--out={out}", "--wpm=250", "--voice=hedda", stdin="Grüß Gott.".encode())
    assert done.returncode == 0, done.stderr
    assert done.stderr == b""
    calls = [tuple(json.loads(line)) for line in fake_sapi.read_text(encoding="utf-8").splitlines()]
    assert all(c[2] is True for c in calls if c[0] == "CreateObject")
    assert ("set", "SpVoice", "Voice", VOICES[1]) in calls
    assert ("set", "SpVoice", "Rate", 3) in calls
    assert ("set", "SpAudioFormat", "Type", 22) in calls
    assert ("set", "SpFileStream", "Format", "SpAudioFormat") in calls
    assert ("Open", 3, False) in calls and ("set", "SpVoice", "AudioOutputStream", "SpFileStream") in calls
    speak = calls.index(("Speak", "Grüß Gott.", 0))
    assert calls.index(("Open", 3, False)) < speak < calls.index(("Close",))
    assert out.stat().st_size > 44

    listed = sapi_child("--list", stdin=b"")
    assert listed.returncode == 0 and listed.stdout.decode("utf-8").splitlines() == VOICES


def test_sapi_child_exits_3_when_no_voice_is_installed(fake_sapi: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FAKE_SAPI_VOICES", "[]")
    done = sapi_child("--list")
    assert done.returncode == 3 and "no SAPI voice is installed" in one_line(done.stderr)
    monkeypatch.setenv("FAKE_SAPI_NO_NAMES", "1")  # seen under Wine 8: SpVoice is created, GetVoices fails
    done = sapi_child("--out=x.wav")
    assert done.returncode == 3 and "SAPI cannot list its voices here" in one_line(done.stderr)


def test_the_engine_speaks_through_the_sapi_child(
    fake_sapi: Path, engines: list[SystemEngine], monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    engine = make(engines, backend="sapi", settings=Settings(system_voice="Zira", system_rate=175))
    audio = engine.synthesize("Hello from Windows.")
    assert engine.sample_rate == 22050 and audio.size > 10000 and rms_db(audio) > -20
    assert "no SAPI voice matches 'Zira'" in caplog.text  # the default voice spoke instead
    assert engine.voices() == VOICES
    monkeypatch.setenv("FAKE_SAPI_FAIL", "1")
    with pytest.raises(EngineError, match=r"exit code 1\): SAPI failed: .*SPERR_UNINITIALIZED"):
        engine.synthesize("Hello again.")
    assert engine.ready()
