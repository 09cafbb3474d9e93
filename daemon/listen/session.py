"""One spoken question: audio source -> voice-activity detection -> transcripts at pauses -> the final transcript.

    session = Listening(recognizer, Microphone(settings.input_device), mode="toggle", pause_s=0.8,
                        on_partial=show, on_done=ask)
    session.start()             # opens the source; runs on its own thread ("listen")
    session.finish("release")   # end of speech now (hold released, toggle pressed again, Enter); any thread
    session.cancel()            # Esc: nothing is asked
    heard = session.wait(10.0)  # the Heard result (also passed to on_done)

Toggle mode ends by itself after `pause_s` of silence following speech (or with no speech within `no_speech_s`),
sooner (`sentence_pause_s`) when what was heard up to the pause is a finished sentence (the recognition of it
ends with ". ? !"): most questions end there, and the user does not wait out the long pause meant for someone
thinking mid-sentence. Hold mode ends on finish(). Both end at `max_s`.

Latency: the recogniser runs while the user speaks, once per pause in the speech (after `partial_pause_s` of
silence), on the audio since the last committed point; the result is shown in the question box as what was heard
so far. A recognised stretch of at least `commit_s` is committed: its text is kept, and later recognitions start
after it. So at the end of speech only the tail since the last pause is left to recognise (or nothing: when
nothing was said after that pause, its recognition is the final transcript), and the wait no longer grows with
the question (a recognition costs ~0.3 s + ~25 ms per word of its audio on 2 cores: bench/stt_latency.py).
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from concurrent.futures import Future
from dataclasses import dataclass
from typing import Protocol

import numpy as np

from daemon.listen import RATE
from daemon.listen.recognizer import Recognizer, Transcript
from daemon.listen.vad import SpeechDetector

log = logging.getLogger(__name__)


class AudioSource(Protocol):
    """What a session reads from: daemon.listen.mic.Microphone, or a clocked file in benchmarks."""

    live: threading.Event
    t_latest: float | None

    def start(self) -> None: ...
    def read(self, timeout: float = 0.05) -> np.ndarray | None: ...
    def stop(self) -> None: ...


@dataclass
class Heard:
    """What came of one listening session. Times are time.monotonic() stamps."""

    text: str = ""
    language: str = ""
    ended_by: str = ""  # release | press | enter | pause | sentence | max | no-speech | cancel | error
    t_start: float = 0.0
    t_speech_end: float | None = None  # the release / press / Enter, or (pause) when the last speech arrived
    t_ready: float | None = None  # the final transcript was ready
    audio_s: float = 0.0
    speech_s: float = 0.0
    recognise_s: float = 0.0  # the final recognition's own time
    reused: bool = False  # the recognition started at the last pause covered everything said
    stretches: int = 0  # recognised stretches committed before the final recognition
    tail_s: float = 0.0  # the audio the final recognition saw (the tail after the last committed stretch)
    error: str = ""
    audio: np.ndarray | None = None  # kept only when asked (debugging)

    @property
    def latency_s(self) -> float | None:
        """End of speech -> final transcript ready."""
        if self.t_speech_end is None or self.t_ready is None:
            return None
        return self.t_ready - self.t_speech_end


@dataclass
class _Pending:
    start: int  # the first sample this recognition saw
    covered: int  # the sample just past the last one it saw
    speech_end: int  # just past the last speech sample in it
    future: Future[Transcript]


class Listening:
    """Listens until the end of speech, then recognises what was said (on its own thread)."""

    def __init__(self, recognizer: Recognizer, source: AudioSource, *, mode: str = "toggle", pause_s: float = 0.8,
                 max_s: float = 30.0, no_speech_s: float = 8.0, partial_pause_s: float = 0.15,
                 sentence_pause_s: float = 0.0, commit_s: float = 3.0,
                 on_partial: Callable[[str], None] | None = None, on_done: Callable[[Heard], None] | None = None,
                 keep_audio: bool = False, vad: SpeechDetector | None = None) -> None:
        self.recognizer = recognizer
        self.source = source
        self.mode = mode
        self.pause_s = pause_s
        self.max_s = max_s
        self.no_speech_s = no_speech_s
        self.partial_pause_s = partial_pause_s
        self.sentence_pause_s = sentence_pause_s  # 0: off
        self.commit_s = commit_s
        self.on_partial = on_partial
        self.on_done = on_done
        self.keep_audio = keep_audio
        self.vad = vad
        self.result: Heard | None = None
        self._finish: tuple[str, float] | None = None
        self._cancelled = threading.Event()
        self._done = threading.Event()
        self._thread: threading.Thread | None = None
        self._chunks: list[np.ndarray] = []
        self._samples = 0
        self._ended = False
        self._committed: list[Transcript] = []  # recognised stretches kept (in order)
        self._seg_start = 0  # the first sample not yet committed

    # ---- public (any thread) ------------------------------------------------------------------------
    def start(self) -> None:
        """Open the source (raises AudioDeviceError) and start listening."""
        self.vad = self.vad or SpeechDetector()
        t_start = time.monotonic()
        self.source.start()
        self._thread = threading.Thread(target=self._run, args=(t_start,), name="listen", daemon=True)
        self._thread.start()

    @property
    def active(self) -> bool:
        return self._thread is not None and not self._done.is_set()

    @property
    def listening(self) -> bool:
        """Still taking audio (not yet ended)."""
        return self.active and self._finish is None and not self._cancelled.is_set() and not self._ended

    def finish(self, reason: str = "press") -> None:
        if self._finish is None:
            self._finish = (reason, time.monotonic())

    def cancel(self) -> None:
        self._cancelled.set()

    def wait(self, timeout: float | None = None) -> Heard | None:
        self._done.wait(timeout)
        return self.result

    # ---- the listening thread -----------------------------------------------------------------------
    def _audio(self, start: int = 0) -> np.ndarray:
        audio = np.concatenate(self._chunks) if self._chunks else np.zeros(0, dtype=np.float32)
        if len(self._chunks) > 1:
            self._chunks = [audio]
        return audio[start:]

    def _submit(self, vad: SpeechDetector) -> _Pending:
        """Recognise what was said since the last committed point (up to now: a pause)."""
        start = self._seg_start
        return _Pending(start, self._samples, vad.speech_end_sample or 0, self.recognizer.submit(self._audio(start)))

    def _commit(self, pending: _Pending) -> None:
        """Keep a finished recognition of a long enough stretch: later ones start in the pause after it."""
        if pending.covered - pending.start < self.commit_s * RATE or not _text(pending.future):
            return
        self._committed.append(pending.future.result())
        self._seg_start = min(pending.covered, pending.speech_end + int(0.1 * RATE))

    def _heard_text(self, pending: _Pending | None) -> str:
        """Everything recognised so far: the committed stretches and the latest recognition after them."""
        parts = [t.text for t in self._committed]
        if pending is not None and pending.start >= self._seg_start and pending.future.done():
            parts.append(_text(pending.future))
        return " ".join(p for p in parts if p).strip()

    def _run(self, t_start: float) -> None:
        heard = Heard(t_start=t_start)
        try:
            self._listen(heard)
        except Exception as exc:
            log.exception("listening failed")
            heard.ended_by, heard.error = "error", f"{type(exc).__name__}: {exc}"
        finally:
            self.source.stop()
        self.result = heard
        self._done.set()
        if self.on_done is not None:
            try:
                self.on_done(heard)
            except Exception:
                log.exception("the listening result handler failed")

    def _listen(self, heard: Heard) -> None:
        vad = self.vad
        assert vad is not None
        pending: _Pending | None = None
        shown = ""
        t_last_speech: float | None = None
        last_end = None
        while True:
            chunk = self.source.read(0.03)
            now = time.monotonic()
            if chunk is not None and chunk.size:
                self._chunks.append(chunk)
                self._samples += chunk.size
                vad.feed(chunk)
                if vad.speech_end_sample != last_end:
                    last_end = vad.speech_end_sample
                    t_last_speech = self.source.t_latest or now
            if self._cancelled.is_set():
                heard.ended_by = "cancel"
                self._ended = True
                return
            # A pause in the speech: recognise what was said since the last committed point (shown, and maybe the
            # final transcript's tail); a finished recognition followed by more speech is committed first.
            if (vad.heard_speech and not vad.speaking and vad.silence_s >= self.partial_pause_s
                    and (pending is None or (pending.future.done() and pending.covered < (vad.speech_end_sample or 0)))):
                if pending is not None:
                    self._commit(pending)
                pending = self._submit(vad)
            if pending is not None and pending.future.done() and self.on_partial is not None:
                text = self._heard_text(pending)
                if text and text != shown:
                    shown = text
                    self.on_partial(text)
            ended = self._ending(vad, now, heard, t_last_speech) or self._sentence_done(vad, pending, heard,
                                                                                        t_last_speech)
            if ended:
                break
        self._ended = True
        self.source.stop()  # the microphone is closed while the final recognition runs
        # Whatever the source still holds belongs to the question.
        while (rest := self.source.read(0.0)) is not None:
            self._chunks.append(rest)
            self._samples += rest.size
            vad.feed(rest)
        heard.audio_s = self._samples / RATE
        heard.speech_s = vad.speech_frames * 512 / RATE
        if not vad.heard_speech:
            heard.t_ready = time.monotonic()
            return
        covered = (pending is not None and pending.covered >= (vad.speech_end_sample or 0) and not vad.speaking)
        if covered and pending is not None:
            heard.reused = True
            final = pending
        else:
            if pending is not None:
                _text(pending.future)  # wait for it: it may be committed, and the tail start after it
                self._commit(pending)
            final = self._submit(vad)
        transcript = final.future.result()  # a failed recognition raises here (the session's error)
        heard.text = self._heard_text(final)
        heard.language = max([*self._committed, transcript], key=lambda t: t.audio_s).language  # the longest's
        heard.recognise_s, heard.stretches, heard.tail_s = transcript.seconds, len(self._committed), transcript.audio_s
        heard.t_ready = time.monotonic()
        if self.keep_audio:
            heard.audio = self._audio()

    def _sentence_done(self, vad: SpeechDetector, pending: _Pending | None, heard: Heard,
                       t_last_speech: float | None) -> bool:
        """Toggle mode: a pause of `sentence_pause_s` after a finished sentence, recognised up to its last word."""
        if (self.mode != "toggle" or not self.sentence_pause_s or pending is None or not pending.future.done()
                or vad.speaking or not vad.heard_speech or vad.silence_s < self.sentence_pause_s
                or pending.covered < (vad.speech_end_sample or 0)):
            return False
        if not finished_sentence(self._heard_text(pending)):
            return False
        heard.ended_by, heard.t_speech_end = "sentence", t_last_speech
        return True

    def _ending(self, vad: SpeechDetector, now: float, heard: Heard, t_last_speech: float | None) -> bool:
        if self._finish is not None:
            heard.ended_by, heard.t_speech_end = self._finish
            return True
        if self._samples >= self.max_s * RATE:
            heard.ended_by, heard.t_speech_end = "max", now
            return True
        if self.mode != "toggle":
            return False
        if vad.heard_speech and not vad.speaking and vad.silence_s >= self.pause_s:
            heard.ended_by, heard.t_speech_end = "pause", t_last_speech
            return True
        if not vad.heard_speech and now - heard.t_start >= self.no_speech_s:
            heard.ended_by, heard.t_speech_end = "no-speech", now
            return True
        return False


FINISHED = (".", "?", "!", "。", "？", "！")


def finished_sentence(text: str) -> bool:
    """Whether a recognition reads as a finished sentence: ends with . ? ! (not "..."), at least three words."""
    text = text.strip()
    return len(text.split()) >= 3 and text.endswith(FINISHED) and not text.endswith(("...", "…"))


def _text(future: Future[Transcript]) -> str:
    try:
        return future.result().text
    except Exception:
        return ""
