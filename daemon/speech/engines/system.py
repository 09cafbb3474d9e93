"""Tier 3: the system voice (espeak-ng on Linux, SAPI5 on Windows). Works offline, always.

Every piece of text is synthesised by a child process into a WAV file, with a deadline: a child that crashes,
hangs or writes nothing costs one EngineError (the router fails over), never the daemon.
"""

from __future__ import annotations

import itertools
import logging
import os
import re
import shutil
import signal
import stat
import subprocess
import sys
import tempfile
import threading
import time
import wave
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Literal

import numpy as np
import psutil

from daemon.audio import read_wav, trim_silence
from daemon.errors import EngineError, EngineTimeoutError, EngineUnavailableError
from daemon.settings import Settings
from daemon.speech.engines.base import Engine
from daemon.status import Tier
from daemon.voices import VoiceRef

log = logging.getLogger(__name__)

Backend = Literal["espeak", "sapi"]
Command = Sequence[str] | Callable[[Path], Sequence[str]]  # argv, or out.wav -> argv; the text goes to stdin

FOLDER_PREFIX = "voxtray-sys-"
_FOLDER = re.compile(rf"{re.escape(FOLDER_PREFIX)}(\d+)-[a-z0-9_]+")
STALE_AFTER_S = 86400.0
PIECE_CHARS = 500  # longer text is spoken in pieces, each by its own child, the next made while one plays
LIST_TIMEOUT_S = 20.0
SAPI_NO_VOICE = 3  # sapi_child's exit code for "no SAPI or no voice here"
# Run by its path, not `-m`: the child needs nothing of VoxTray, and `-m daemon...` would need the project on the
# child's sys.path, which a Python started from another folder (or an embedded one) does not give.
SAPI_CHILD = str(Path(__file__).resolve().parents[1] / "sapi_child.py")
ESPEAK_HINT = "install it: sudo apt install espeak-ng"
SAPI_HINT = "check that a Windows voice is installed (Settings > Time & language > Speech)"
_ROOT = Path(__file__).resolve().parents[3]  # where `python -m daemon...` finds the package


def child_timeout(text: str) -> float:
    """Seconds a child may take for text: 10 s + 0.2 s a character, at most 120 s."""
    return min(120.0, 10.0 + 0.2 * len(text))


def split_long(text: str, limit: int = PIECE_CHARS) -> list[str]:
    """Text as pieces of at most `limit` characters, cut after a sentence end, else a clause, else a space."""
    pieces: list[str] = []
    start, n = 0, len(text)
    while start < n:
        end = min(n, start + limit)
        if end < n:
            floor = start + limit // 3
            for marks in ((". ", "! ", "? ", "\n"), (", ", "; ", ": "), (" ", "\t")):
                at = max(text.rfind(m, floor, end) for m in marks)
                if at != -1:
                    end = at + 1
                    break
        piece = text[start:end].strip()
        if piece:
            pieces.append(piece)
        start = end
    return pieces


def remove_stale_folders(root: Path | None = None, max_age_s: float = STALE_AFTER_S) -> list[Path]:
    """Remove this user's voxtray-sys-<pid>-* folders older than max_age_s whose creating process is gone."""
    root = Path(tempfile.gettempdir()) if root is None else root
    removed: list[Path] = []
    try:
        candidates = [p for p in root.iterdir() if _FOLDER.fullmatch(p.name)]
    except OSError:
        return removed
    now = time.time()
    for path in candidates:
        match = _FOLDER.fullmatch(path.name)
        try:
            st = path.lstat()
        except OSError:
            continue
        if not stat.S_ISDIR(st.st_mode) or now - st.st_mtime < max_age_s or not _own(st):
            continue
        if match is None or psutil.pid_exists(int(match.group(1))):
            continue
        shutil.rmtree(path, ignore_errors=True)
        if not path.exists():
            removed.append(path)
            log.debug("removed stale system-voice folder %s", path)
    return removed


def _own(st: os.stat_result) -> bool:
    if sys.platform == "win32":
        return True  # the temp folder is per user on Windows
    return st.st_uid == os.getuid()


def _no_window() -> int:
    if sys.platform == "win32":
        return subprocess.CREATE_NO_WINDOW  # no console flashes under pythonw
    return 0


def _exit_reason(rc: int) -> str:
    if rc < 0:
        try:
            return f"crashed ({signal.Signals(-rc).name})"
        except ValueError:
            return f"crashed (signal {-rc})"
    return f"failed (exit code {rc:#010x})" if rc > 0xFFFF else f"failed (exit code {rc})"


def _last_line(data: bytes) -> str:
    lines = data.decode("utf-8", errors="replace").splitlines()
    return next((line.strip()[:300] for line in reversed(lines) if line.strip()), "")


class _Tail:
    """Reads a pipe on its own thread to EOF, keeping its last `keep` bytes (a chatty child never blocks)."""

    def __init__(self, pipe: IO[bytes] | None, keep: int) -> None:
        self.data = b""
        self._keep = keep
        self._thread = _thread(self._read, pipe)

    def _read(self, pipe: IO[bytes] | None) -> None:
        if pipe is None:
            return
        try:
            while chunk := os.read(pipe.fileno(), 65536):  # whatever has arrived, not a full buffer
                self.data = (self.data + chunk)[-self._keep :]
        except (OSError, ValueError):
            pass
        finally:
            try:
                pipe.close()
            except OSError:
                pass

    def get(self, grace_s: float = 0.5) -> bytes:
        """The bytes read, once the pipe closed or after grace_s (under Wine a helper process that inherited
        the pipe can hold it open after the child exited)."""
        self._thread.join(timeout=grace_s)
        return self.data


class _Child:
    """One child process with a deadline: the text goes to its stdin on a thread, its stderr (and stdout when
    asked) are read on threads, and waiting is on the process, never on a pipe. Pipes, not files: Windows
    CPython under Wine cannot start with a file as a standard handle."""

    def __init__(self, argv: list[str], data: bytes, timeout_s: float, cwd: Path | None, stdout: bool = False) -> None:
        self.timeout_s = timeout_s
        self.deadline = time.monotonic() + timeout_s
        self.proc = subprocess.Popen(
            argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE if stdout else subprocess.DEVNULL,
            stderr=subprocess.PIPE, cwd=cwd, creationflags=_no_window(),
        )
        self.stderr = _Tail(self.proc.stderr, 8192)
        self.stdout = _Tail(self.proc.stdout, 1 << 20)
        _thread(self._write, data)

    def _write(self, data: bytes) -> None:
        stdin = self.proc.stdin
        if stdin is None:
            return
        try:
            stdin.write(data)
        except OSError:
            pass  # the child died or was killed: its exit status says why
        finally:
            try:
                stdin.close()
            except OSError:
                pass

    def wait(self) -> int | None:
        """The exit code, or None when the child still runs at its deadline."""
        try:
            return self.proc.wait(timeout=max(0.0, self.deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            return None

    def stop(self) -> None:
        """Kill the child if it still runs (only it, by its handle) and reap it."""
        if self.proc.poll() is None:
            try:
                self.proc.kill()
            except OSError:
                pass
        try:
            self.proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            log.warning("system voice child %s did not exit after kill", self.proc.pid)


@dataclass
class _Job:
    child: _Child
    out: Path


def _thread(target: Callable[..., None], *args: object) -> threading.Thread:
    thread = threading.Thread(target=target, args=args, name="system-voice-io", daemon=True)
    thread.start()
    return thread


@dataclass(frozen=True)
class EspeakVoice:
    language: str
    name: str
    file: str


class SystemEngine(Engine):
    """The system voice, one child process per piece of text, each with a deadline."""

    name = "system"
    label = "system voice"
    status_tier = Tier.SYSTEM
    last_resort = True
    can_probe = True

    def __init__(
        self,
        settings: Settings,
        *,
        backend: Backend | None = None,
        command: Command | None = None,
        timeout_s: Callable[[str], float] = child_timeout,
    ) -> None:
        self.settings = settings
        self.sample_rate = 22050
        self.backend: Backend = backend or ("sapi" if sys.platform == "win32" else "espeak")
        self._command = command
        self._timeout_s = timeout_s
        self._unavailable: str | None = None
        self._closed = threading.Event()
        self._lock = threading.Lock()
        self._running: set[_Child] = set()
        self._names = itertools.count()
        self._warned: set[str] = set()
        self._voice_cache: tuple[str, str | None] | None = None
        self._espeak = shutil.which("espeak-ng") if self.backend == "espeak" else None
        if self.backend == "espeak" and command is None and self._espeak is None:
            self._unavailable = f"espeak-ng is not installed; {ESPEAK_HINT}"
        try:
            remove_stale_folders()
        except OSError as exc:
            log.debug("stale system-voice folders not checked: %s", exc)
        self._tmp = Path(tempfile.mkdtemp(prefix=f"{FOLDER_PREFIX}{os.getpid()}-"))

    def ready(self) -> bool:
        return self._unavailable is None and not self._closed.is_set()

    # ----- speaking -----
    def stream(self, text: str, voice: VoiceRef | None = None) -> Iterator[np.ndarray]:
        """Pieces of the text as they are made (one piece for a normal sentence), silence trimmed."""
        pieces = split_long(text)
        if not pieces:
            return
        job: _Job | None = self._start(pieces[0])
        try:
            for i in range(len(pieces)):
                assert job is not None
                current, job = job, None
                samples, rate = self._finish(current)
                if i + 1 < len(pieces):
                    job = self._start(pieces[i + 1])  # the next piece is made while this one plays
                self.sample_rate = rate
                audio = trim_silence(samples, rate)
                if audio.size:
                    yield audio
        finally:
            if job is not None:
                self._end(job)  # closed early (cancel, failover): kill the child making the next piece

    def _start(self, text: str) -> _Job:
        if self._closed.is_set():
            raise EngineError("the system voice is shut down")
        if self._unavailable:
            raise EngineUnavailableError(self._unavailable)
        out = self._tmp / f"utt-{next(self._names)}.wav"
        argv = self._argv(out)
        data = text.encode("utf-8", errors="replace")
        try:
            child = _Child(argv, data, self._timeout_s(text), _ROOT if self.backend == "sapi" else None)
        except FileNotFoundError as exc:
            hint = ESPEAK_HINT if self.backend == "espeak" else SAPI_HINT
            self._unavailable = f"the system voice cannot start: {argv[0]} was not found; {hint}"
            raise EngineUnavailableError(self._unavailable) from exc
        except OSError as exc:
            raise EngineError(f"the system voice cannot start: {exc}") from exc
        with self._lock:
            self._running.add(child)
        return _Job(child, out)

    def _finish(self, job: _Job) -> tuple[np.ndarray, int]:
        """Wait for the child (up to its deadline), then read its WAV; the child is gone afterwards."""
        try:
            rc = job.child.wait()
            if rc is None:
                raise EngineTimeoutError(f"the system voice took over {job.child.timeout_s:g} s and was stopped")
            if self._closed.is_set():
                raise EngineError("the system voice is shut down")
            detail = _last_line(job.child.stderr.get(grace_s=0.05 if rc == 0 else 0.5))
            if rc == SAPI_NO_VOICE and self.backend == "sapi":
                self._unavailable = f"{detail or 'no SAPI voice'}; {SAPI_HINT}"
                raise EngineUnavailableError(self._unavailable)
            if rc != 0:
                raise EngineError(f"the system voice {_exit_reason(rc)}" + (f": {detail}" if detail else ""))
            if detail and detail not in self._warned:
                self._warned.add(detail)
                log.warning("system voice: %s", detail)
            return self._read(job.out)
        finally:
            self._end(job)

    @staticmethod
    def _read(path: Path) -> tuple[np.ndarray, int]:
        try:
            samples, rate = read_wav(path)
        except FileNotFoundError:
            raise EngineError("the system voice wrote no audio") from None
        except (OSError, EOFError, wave.Error, KeyError, ValueError) as exc:
            raise EngineError(f"the system voice wrote an unreadable WAV ({exc})") from exc
        if samples.size == 0:
            raise EngineError("the system voice wrote no audio")
        return samples, rate

    def _end(self, job: _Job) -> None:
        """Stop the job's child if it still runs, forget it, delete its WAV."""
        job.child.stop()
        with self._lock:
            self._running.discard(job.child)
        try:
            job.out.unlink(missing_ok=True)
        except OSError:
            pass

    # ----- commands -----
    def _argv(self, out: Path) -> list[str]:
        if callable(self._command):
            return list(self._command(out))
        if self._command is not None:
            return list(self._command)
        rate = self.settings.system_rate
        if self.backend == "sapi":
            argv = [sys.executable, SAPI_CHILD, f"--out={out}", f"--wpm={rate}"]
            return argv + ([f"--voice={self.settings.system_voice}"] if self.settings.system_voice else [])
        voice = self._espeak_voice()
        return [self._espeak or "espeak-ng", "-w", str(out), "-s", str(rate), *(["-v", voice] if voice else []), "--stdin"]

    def _espeak_voice(self) -> str | None:
        """settings.system_voice as an espeak-ng voice (language, file or name; "+variant" kept), or None."""
        wanted = self.settings.system_voice.strip()
        if not wanted:
            return None
        if self._voice_cache is not None and self._voice_cache[0] == wanted:
            return self._voice_cache[1]
        base, plus, variant = wanted.partition("+")
        key = base.replace("_", " ").casefold()
        try:
            known = self.espeak_voices()
        except EngineError as exc:
            log.warning("system voice list unavailable (%s); using the default voice", exc)
            known = []
        exact = [v for v in known if key in (v.language.casefold(), v.file.casefold(), v.name.casefold())]
        close = [v for v in known if key in v.name.casefold()]
        candidates = exact or close
        found = candidates[0] if candidates else None
        arg = None if found is None else found.file + plus + variant
        if found is None and known:
            log.warning("system_voice %r is not an espeak-ng voice; using the default voice", wanted)
        self._voice_cache = (wanted, arg)
        return arg

    # ----- voices -----
    def espeak_voices(self) -> list[EspeakVoice]:
        """The voices `espeak-ng --voices` lists."""
        if self._espeak is None:
            raise EngineUnavailableError(f"espeak-ng is not installed; {ESPEAK_HINT}")
        voices: list[EspeakVoice] = []
        for line in _listing([self._espeak, "--voices"], unavailable_rc=None).splitlines()[1:]:
            cols = line.split()
            if len(cols) >= 5:
                voices.append(EspeakVoice(cols[1], cols[3].replace("_", " "), cols[4]))
        return voices

    def probe(self) -> bool:
        """Is there a voice at all? (lists them in a child: SAPI without voices, e.g. under Wine, says no)."""
        if self._unavailable is not None:
            return False
        try:
            found = bool(self.voices())
        except EngineUnavailableError as exc:
            self._unavailable = f"{exc}; {SAPI_HINT if self.backend == 'sapi' else ESPEAK_HINT}"
            return False
        except EngineError as exc:
            log.info("could not list the system voices: %s", exc)
            return True  # a listing hiccup is not proof of no voice: the next sentence will tell
        if not found:
            self._unavailable = f"no system voice is installed; {SAPI_HINT if self.backend == 'sapi' else ESPEAK_HINT}"
        return found

    def voices(self) -> list[str]:
        """Names of the installed system voices."""
        if self.backend == "espeak":
            return [v.name for v in self.espeak_voices()]
        listing = _listing([sys.executable, SAPI_CHILD, "--list"], unavailable_rc=SAPI_NO_VOICE)
        return [line.strip() for line in listing.splitlines() if line.strip()]

    def close(self) -> None:
        """Kill running children (only this engine's) and remove the temp folder."""
        self._closed.set()
        with self._lock:
            running = list(self._running)
        for child in running:
            try:
                child.proc.kill()  # its stream() sees the exit at once and reaps it
            except OSError:
                pass
        shutil.rmtree(self._tmp, ignore_errors=True)


def _listing(argv: list[str], unavailable_rc: int | None) -> str:
    """stdout of a short listing child (UTF-8), with a deadline; exit code `unavailable_rc` means unavailable."""
    try:
        child = _Child(argv, b"", LIST_TIMEOUT_S, _ROOT, stdout=True)
    except FileNotFoundError as exc:
        raise EngineUnavailableError(f"{argv[0]} was not found") from exc
    except OSError as exc:
        raise EngineError(f"listing the system voices failed: {exc}") from exc
    try:
        rc = child.wait()
        if rc is None:
            raise EngineTimeoutError(f"listing the system voices took over {LIST_TIMEOUT_S:g} s")
        if rc != 0:
            detail = _last_line(child.stderr.get())
            cls = EngineUnavailableError if rc == unavailable_rc else EngineError
            raise cls(f"listing the system voices {_exit_reason(rc)}" + (f": {detail}" if detail else ""))
        return child.stdout.get(grace_s=2.0).decode("utf-8", errors="replace")
    finally:
        child.stop()
