"""Tier 3: the system voice through pyttsx3 (SAPI5 on Windows, espeak-ng on Linux). Works offline, always."""

from __future__ import annotations

import contextlib
import io
import itertools
import logging
import queue
import sys
import tempfile
import threading
from collections.abc import Callable, Iterator
from concurrent.futures import Future
from pathlib import Path
from typing import Any

import numpy as np

from daemon.errors import EngineError, EngineUnavailableError
from daemon.settings import Settings
from daemon.speech.audio import read_wav, trim_silence
from daemon.speech.engines.base import Engine, VoiceRef

log = logging.getLogger(__name__)

INSTALL_HELP = {
    "linux": "install espeak-ng (Debian/Ubuntu: sudo apt install espeak-ng libespeak-ng1)",
    "win32": "check that a Windows voice is installed (Settings > Time & language > Speech)",
}


class SystemEngine(Engine):
    """Synthesises through pyttsx3 to a temporary WAV on one dedicated thread (pyttsx3 is not thread-safe)."""

    name = "system"
    tier = 3

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.sample_rate = 22050
        self._jobs: queue.Queue[tuple[Callable[[Any], Any], Future[Any]] | None] = queue.Queue(maxsize=8)
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()
        self._init_error: str | None = None
        self._tmp = Path(tempfile.mkdtemp(prefix="voxtray-sys-"))
        self._names = itertools.count()

    # pyttsx3 lives on its own thread; every call is a job run there.
    def _run(self, fn: Callable[[Any], Any], timeout: float = 60.0) -> Any:
        with self._lock:
            if self._thread is None or not self._thread.is_alive():
                self._thread = threading.Thread(target=self._worker, name="system-voice", daemon=True)
                self._thread.start()
        fut: Future[Any] = Future()
        self._jobs.put((fn, fut), timeout=timeout)
        return fut.result(timeout=timeout)

    def _worker(self) -> None:
        if sys.platform == "win32":
            try:
                import comtypes  # SAPI5 needs COM initialised on this thread

                comtypes.CoInitialize()
            except Exception:
                log.debug("COM initialisation failed", exc_info=True)
        engine: Any = None
        try:
            import pyttsx3

            engine = pyttsx3.init()
            engine.setProperty("rate", self.settings.system_rate)
            if self.settings.system_voice:
                self._select_voice(engine, self.settings.system_voice)
        except Exception as exc:
            self._init_error = f"the system voice could not start ({exc}); {INSTALL_HELP.get(sys.platform, '')}"
            log.error("%s", self._init_error)
        while True:
            job = self._jobs.get()
            if job is None:
                break
            fn, fut = job
            if self._init_error:
                fut.set_exception(EngineUnavailableError(self._init_error))
                continue
            try:
                fut.set_result(fn(engine))
            except Exception as exc:
                fut.set_exception(exc)
        with contextlib.suppress(Exception):
            engine.stop()

    @staticmethod
    def _select_voice(engine: Any, wanted: str) -> None:
        for v in engine.getProperty("voices"):
            if wanted.lower() in (str(v.id).lower(), str(v.name).lower()) or wanted.lower() in str(v.name).lower():
                engine.setProperty("voice", v.id)
                return
        log.warning("system_voice %r not found; using the default voice", wanted)

    def ready(self) -> bool:
        return self._init_error is None

    def voices(self) -> list[str]:
        """Names of the installed system voices."""
        return list(self._run(lambda e: [str(v.name) for v in e.getProperty("voices")]))

    def _synth_file(self, engine: Any, text: str, path: Path) -> None:
        with contextlib.redirect_stdout(io.StringIO()):  # pyttsx3's espeak driver prints "Audio saved to ..."
            engine.save_to_file(text, str(path))
            engine.runAndWait()

    def stream(self, text: str, voice: VoiceRef | None = None) -> Iterator[np.ndarray]:
        """The whole sentence at once (the system voice cannot stream), silence trimmed."""
        path = self._tmp / f"utt-{next(self._names)}.wav"  # unique: an abandoned call never shares a file
        try:
            for _attempt in range(2):  # the espeak driver occasionally returns before writing: retry once
                self._run(lambda e: self._synth_file(e, text, path))
                if path.exists() and path.stat().st_size > 44:
                    break
                log.debug("system voice wrote no audio for %r; retrying", text[:40])
            else:
                raise EngineError("the system voice produced no audio")
            samples, rate = read_wav(path)
        except EngineError:
            raise
        except Exception as exc:
            raise EngineError(f"system voice failed: {exc}") from exc
        finally:
            path.unlink(missing_ok=True)
        self.sample_rate = rate
        audio = trim_silence(samples, rate)
        if audio.size:
            yield audio

    def close(self) -> None:
        if self._thread is not None and self._thread.is_alive():
            with contextlib.suppress(queue.Full):
                self._jobs.put(None, timeout=1)
            self._thread.join(timeout=5)
        with contextlib.suppress(OSError):
            self._tmp.rmdir()
