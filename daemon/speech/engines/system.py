"""Tier 3: the system voice (espeak-ng on Linux, SAPI5 on Windows). Works offline, always.

Every piece of text is synthesised by a child process into a WAV file, with a deadline (engines/child.py): a
child that crashes, hangs or writes nothing costs one EngineError (the router fails over), never the daemon.
What the child is, and how voices are listed, is the backend's: engines/espeak.py or engines/sapi.py.
"""

from __future__ import annotations

import itertools
import logging
import shutil
import sys
import threading
import wave
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Literal, Protocol

import numpy as np

from daemon.audio import read_wav, trim_silence
from daemon.errors import EngineError, EngineTimeoutError, EngineUnavailableError
from daemon.settings import Settings
from daemon.speech.engines.base import Engine
from daemon.speech.engines.child import Child, exit_reason, last_line, new_folder
from daemon.speech.engines.espeak import EspeakBackend
from daemon.speech.engines.sapi import SapiBackend
from daemon.status import Tier
from daemon.voices import VoiceRef

log = logging.getLogger(__name__)

BackendName = Literal["espeak", "sapi"]
Command = Sequence[str] | Callable[[Path], Sequence[str]]  # argv, or out.wav -> argv; the text goes to stdin

PIECE_CHARS = 500  # longer text is spoken in pieces, each by its own child, the next made while one plays


class VoiceBackend(Protocol):
    """What the engine needs of a system speech program (espeak-ng, SAPI)."""

    name: str
    label: str  # how the user calls it
    hint: str  # what the user can do when it is missing
    cwd: Path | None  # where its children run
    no_voice_rc: int | None  # the exit code that means "no voice here"

    def missing(self) -> str | None: ...
    def argv(self, out: Path, settings: Settings, language: str = "") -> list[str]: ...
    def voices(self) -> list[str]: ...


BACKENDS: dict[str, Callable[[], VoiceBackend]] = {"espeak": EspeakBackend, "sapi": SapiBackend}


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


@dataclass
class _Job:
    child: Child
    out: Path


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
        backend: BackendName | None = None,
        command: Command | None = None,
        timeout_s: Callable[[str], float] = child_timeout,
    ) -> None:
        self.settings = settings
        self.sample_rate = 22050
        self.backend: str = backend or ("sapi" if sys.platform == "win32" else "espeak")
        self._voice: VoiceBackend = BACKENDS[self.backend]()
        self._command = command
        self._timeout_s = timeout_s
        self._unavailable: str | None = None
        self._closed = threading.Event()
        self._lock = threading.Lock()
        self._running: set[Child] = set()
        self._names = itertools.count()
        self._warned: set[str] = set()
        if command is None:
            self._unavailable = self._voice.missing()
        self._tmp = new_folder()

    def ready(self) -> bool:
        return self._unavailable is None and not self._closed.is_set()

    # ----- speaking -----
    def stream(self, text: str, voice: VoiceRef | None = None, language: str = "") -> Iterator[np.ndarray]:
        """Pieces of the text as they are made (one piece for a normal sentence), silence trimmed."""
        pieces = split_long(text)
        if not pieces:
            return
        job: _Job | None = self._start(pieces[0], language)
        try:
            for i in range(len(pieces)):
                assert job is not None
                current, job = job, None
                samples, rate = self._finish(current)
                if i + 1 < len(pieces):
                    job = self._start(pieces[i + 1], language)  # the next piece is made while this one plays
                self.sample_rate = rate
                audio = trim_silence(samples, rate)
                if audio.size:
                    yield audio
        finally:
            if job is not None:
                self._end(job)  # closed early (cancel, failover): kill the child making the next piece

    def _start(self, text: str, language: str = "") -> _Job:
        if self._closed.is_set():
            raise EngineError("the system voice is shut down")
        if self._unavailable:
            raise EngineUnavailableError(self._unavailable)
        out = self._tmp / f"utt-{next(self._names)}.wav"
        argv = self._argv(out, language)
        data = text.encode("utf-8", errors="replace")
        try:
            child = Child(argv, data, self._timeout_s(text), self._voice.cwd)
        except FileNotFoundError as exc:
            self._unavailable = f"the system voice cannot start: {argv[0]} was not found; {self._voice.hint}"
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
            detail = last_line(job.child.stderr.get(grace_s=0.05 if rc == 0 else 0.5))
            if rc == self._voice.no_voice_rc:
                self._unavailable = f"{detail or f'no {self._voice.label} voice'}; {self._voice.hint}"
                raise EngineUnavailableError(self._unavailable)
            if rc != 0:
                raise EngineError(f"the system voice {exit_reason(rc)}" + (f": {detail}" if detail else ""))
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
    def _argv(self, out: Path, language: str = "") -> list[str]:
        if callable(self._command):
            return list(self._command(out))
        if self._command is not None:
            return list(self._command)
        return self._voice.argv(out, self.settings, language)

    # ----- voices -----
    def probe(self) -> bool:
        """Is there a voice at all? (lists them in a child: SAPI without voices, e.g. under Wine, says no)."""
        if self._unavailable is not None:
            return False
        try:
            found = bool(self.voices())
        except EngineUnavailableError as exc:
            self._unavailable = f"{exc}; {self._voice.hint}"
            return False
        except EngineError as exc:
            log.info("could not list the system voices: %s", exc)
            return True  # a listing hiccup is not proof of no voice: the next sentence will tell
        if not found:
            self._unavailable = f"no system voice is installed; {self._voice.hint}"
        return found

    def voices(self) -> list[str]:
        """Names of the installed system voices."""
        return self._voice.voices()

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
