"""One utterance at a time: text deltas -> sentences -> synthesis worker (router + engines) -> sink.

The caller's thread splits the incoming text into sentences and queues them; a single synthesis worker
thread (the only GPU user) speaks them through the router while later deltas are still arriving.
`cancel()` (barge-in) bumps the utterance id, flushes the queue and stops the sink; the worker drops
anything stale. Messages between the threads are typed dataclasses, never string sentinels.

The first sentence may start at its first clause (settings.first_fragment_words). At most
settings.speak_max_chars characters of one utterance (or the caller's `max_chars`) are spoken: past that the
rest is read (so the stream ends normally) but not split or spoken, and one short sentence says so
(`SpeechResult.truncated`).
"""

from __future__ import annotations

import logging
import queue
import threading
import time
from collections.abc import Iterable
from dataclasses import dataclass, field

import numpy as np

from daemon.errors import EngineError
from daemon.live import SettingsField, SettingsSource
from daemon.settings import Settings
from daemon.speech.language import LanguageTrack, fixed_language
from daemon.speech.replay import Clip
from daemon.speech.router import Router
from daemon.speech.sentences import SentenceSplitter
from daemon.speech.sinks import AudioSink, Pausable
from daemon.status import Activity, StatusBus
from daemon.timings import AnswerTimings
from daemon.voices import VoiceRef
from daemon.worker import Worker, queued

log = logging.getLogger(__name__)

POLL_S = 0.05
MERGE_WORDS = 3  # a sentence of fewer words is spoken with the next ("Sure." alone is where XTTS babbles most)
STARVE_S = 0.05  # audio arriving this much after the last audio would have ended counts as the sound running dry
TOO_LONG = "The rest is too long to read aloud."


@dataclass
class SpokenSentence:
    index: int
    text: str
    engine: str | None  # None: no engine could speak it (see error)
    error: str = ""
    language: str = ""


@dataclass
class SpeechResult:
    """What happened to one utterance; its times are stamped into `timings` (the caller's record, if it gave one)."""

    utterance_id: int
    timings: AnswerTimings
    sentences: list[SpokenSentence] = field(default_factory=list)
    cancelled: bool = False
    submitted: int = 0  # sentences handed to the synthesis worker (the truncation notice included)
    starved_s: float = 0.0  # time the sound card would have waited for audio (a voice slower than real time)
    truncated: bool = False  # speak_max_chars was reached: the rest was not spoken

    @property
    def engines(self) -> list[str | None]:
        return [s.engine for s in self.sentences]


@dataclass(frozen=True)
class _Sentence:
    utterance: int
    index: int
    text: str
    language: str = ""


@dataclass(frozen=True)
class _End:
    utterance: int


@dataclass
class _Job:
    utterance: int
    voice: VoiceRef | None
    result: SpeechResult
    track: LanguageTrack = field(default_factory=LanguageTrack)
    played_until: float | None = None  # when the audio handed to the sink so far ends, played in real time
    cancel: threading.Event = field(default_factory=threading.Event)
    done: threading.Event = field(default_factory=threading.Event)
    chosen: bool = False
    clip: Clip | None = None  # the audio played, kept for a repeat (None: a replay, not recorded again)


class _JobSink:
    """Forwards audio of the current job to the real sink, noting the first audio; drops stale audio."""

    def __init__(self, pipeline: Pipeline, job: _Job, index: int = 0) -> None:
        self._pipeline = pipeline
        self._job = job
        self._index = index

    def _live(self) -> bool:
        return not self._job.cancel.is_set() and self._pipeline.current_utterance == self._job.utterance

    def play(self, samples: np.ndarray, rate: int) -> None:
        if not self._live():
            return
        now = time.monotonic()
        job = self._job
        if job.result.timings.first_audio is None:
            job.result.timings.first_audio = now
        if job.played_until is not None and now > job.played_until + STARVE_S:
            waited = now - job.played_until
            job.result.starved_s += waited
            log.info("utterance %d: the sound ran dry for %.2f s before more of sentence %d (its voice made audio "
                     "slower than real time)", job.utterance, waited, self._index)
        job.played_until = max(now, job.played_until or now) + samples.size / rate
        if job.clip is not None:
            job.clip.add(samples, rate)
        self._pipeline.sink.play(samples, rate)

    def end_source(self) -> None:
        if self._live():
            if self._job.clip is not None:
                self._job.clip.end_source()
            self._pipeline.sink.end_source()

    def stop(self) -> None:
        if self._live():
            self._pipeline.sink.stop()


class Pipeline:
    """Speaks streamed text sentence by sentence through the router; cancellable at any point."""

    settings = SettingsField()

    def __init__(
        self, router: Router, sink: AudioSink, settings: Settings | SettingsSource, status: StatusBus, *, max_queue: int = 64
    ) -> None:
        self.router = router
        self.sink = sink
        self.settings = settings
        self.status = status
        self._queue: queue.Queue[_Sentence | _End] = queue.Queue(maxsize=max_queue)
        self._lock = threading.Lock()
        self._speak_lock = threading.Lock()
        self._pause_lock = threading.Lock()  # the hotkey's and the tray's toggles, one at a time
        self._utterance = 0
        self._language = "en"  # the last answer's language
        self._job: _Job | None = None
        self._clip: Clip | None = None  # the last utterance spoken whole, for replay()
        self._worker = Worker("synthesis", self._step, retry_s=0.0)  # asleep until a sentence is queued
        self._worker.start()

    @property
    def current_utterance(self) -> int:
        return self._utterance

    # ----- public verbs -----
    def speak(
        self, deltas: Iterable[str], voice: VoiceRef | None = None, *, wait_playback: bool = True,
        first_fragment: bool = True, timings: AnswerTimings | None = None, language: str | None = None,
        max_chars: int | None = None,
    ) -> SpeechResult:
        """Speak a stream of text deltas; returns when it was all played (or cancelled).

        An exception from `deltas` (e.g. the LLM stream breaking) is raised after the text received so far
        has been spoken. `first_fragment`: the first sentence may start at its first clause (a stream that
        is still being written gains from it; a whole text does not). `timings`: the record to stamp the first
        sentence, first audio and end into (the assistant's, for one answer); a new one when None. `language`:
        what the text is likely in (the spoken question's language), for sentences too short to tell; each
        sentence's own language is detected (daemon/speech/language.py) unless `xtts_language` fixes it.
        `max_chars`: this utterance's limit instead of speak_max_chars (reading a selection: read_max_chars).
        """
        with self._speak_lock:
            with self._lock:
                self._utterance += 1
                stamps = timings if timings is not None else AnswerTimings("", time.monotonic())
                track = LanguageTrack(fixed_language(self.settings.xtts_language), language or self._language)
                job = _Job(self._utterance, voice, SpeechResult(self._utterance, stamps), track=track,
                           clip=Clip(self._utterance, self.settings.repeat_audio_max_s))
                self._job = job
            self._unpause()
            splitter = SentenceSplitter(
                first_fragment_words=self.settings.first_fragment_words if first_fragment else 0,
                merge_words=MERGE_WORDS,
            )
            budget = self.settings.speak_max_chars if max_chars is None else max_chars
            failure: BaseException | None = None
            try:
                for delta in deltas:
                    if job.cancel.is_set():
                        break
                    if not job.result.truncated:
                        budget = self._submit_all(job, splitter.feed(delta), budget)
            except BaseException as exc:  # spoken what we have, then re-raised below
                failure = exc
            if not job.cancel.is_set():
                if not job.result.truncated:
                    self._submit_all(job, splitter.close(), budget)
                self._put(job, _End(job.utterance))
            job.done.wait()
            if wait_playback and not job.cancel.is_set():
                self._drain(job)
            job.result.timings.end = time.monotonic()
            job.result.cancelled = job.cancel.is_set()
            self._keep_clip(job)
            self._language = job.track.current  # the next answer's guess for its first words
            self.status.update(activity=Activity.IDLE)
            if failure is not None:
                raise failure
            return job.result

    def speak_text(self, text: str, voice: VoiceRef | None = None, *, wait_playback: bool = True,
                   language: str | None = None) -> SpeechResult:
        """Speak a whole text."""
        return self.speak([text], voice, wait_playback=wait_playback, first_fragment=False, language=language)

    def replay(self, utterance: int) -> SpeechResult | None:
        """Play utterance `utterance`'s kept audio again (no synthesis); None when it was not kept (another
        utterance came after it, it was cut short or failed in part, or it was longer than repeat_audio_max_s)."""
        clip = self._clip
        if clip is None or clip.utterance != utterance:
            return None
        with self._speak_lock:
            with self._lock:
                self._utterance += 1
                job = _Job(self._utterance, None, SpeechResult(self._utterance, AnswerTimings("", time.monotonic())))
                self._job = job
            self._unpause()
            self.status.update(activity=Activity.SPEAKING)
            log.info("utterance %d: replaying utterance %d (%.1f s of kept audio)", job.utterance, utterance,
                     clip.seconds)
            clip.play(_JobSink(self, job), job.cancel)
            if not job.cancel.is_set():
                self._drain(job)
            job.result.timings.end = time.monotonic()
            job.result.cancelled = job.cancel.is_set()
            self.status.update(activity=Activity.IDLE)
            return job.result

    # ----- pause (the sink holds its position; synthesis goes on into its bounded queue) -----
    @property
    def paused(self) -> bool:
        return isinstance(self.sink, Pausable) and self.sink.paused

    def toggle_pause(self) -> bool:
        """Pause what is being said at the current sample, or resume it; nothing to pause: no-op. Returns
        whether the speech is paused now. Stop, a new question or a repeat end a paused utterance."""
        with self._lock:
            job = self._job
            live = job is not None and job.result.timings.end is None and not job.cancel.is_set()
        if not isinstance(self.sink, Pausable):
            return False
        with self._pause_lock:
            if self.sink.paused:
                self.sink.resume()
                log.info("speech resumed")
            elif live:
                self.sink.pause()
                log.info("utterance %d paused", job.utterance if job is not None else 0)
            paused = self.sink.paused
            self.status.update(speech_paused=paused)
        return paused

    def _unpause(self) -> None:
        """A new utterance: nothing of the old paused one plays (cancel() already dropped it, stop() unpaused)."""
        if isinstance(self.sink, Pausable) and self.sink.paused:
            self.sink.stop()
        self.status.update(speech_paused=False)

    def _keep_clip(self, job: _Job) -> None:
        """Keep the utterance's audio when all of it was played (the repeat replays it), else forget it."""
        clip, spoken = job.clip, job.result.sentences
        whole = not job.result.cancelled and all(s.engine for s in spoken) and len(spoken) == job.result.submitted
        self._clip = clip if clip is not None and whole and not clip.over and clip.parts else None
        if clip is not None and clip.over:
            log.info("utterance %d: %.0f s of audio is more than repeat_audio_max_s; a repeat re-synthesises it",
                     job.utterance, clip.seconds)

    def cancel(self) -> None:
        """Barge-in: stop speaking now (the sink is flushed; queued sentences are dropped)."""
        with self._lock:
            job = self._job
            live = job is not None and job.result.timings.end is None
            self._utterance += 1
            if job is not None:
                job.cancel.set()
            self._flush_queue()
        self.sink.stop()
        self.status.update(speech_paused=False)
        if job is not None:
            job.done.set()
            if live:
                log.info("utterance %d cancelled", job.utterance)

    def close(self) -> None:
        """Cancel anything in progress and stop the worker (the sink is closed by its owner)."""
        self.cancel()
        self._worker.stop()

    # ----- internals -----
    def _submit_all(self, job: _Job, sentences: list[str], budget: int) -> int:
        """Queue sentences while the speak_max_chars budget lasts; returns what is left of it."""
        for sentence in sentences:
            if len(sentence) > budget:
                log.warning("utterance %d: over its length limit (speak_max_chars or read_max_chars); the rest "
                            "is not spoken", job.utterance)
                job.result.truncated = True
                self._submit(job, TOO_LONG)
                return 0
            budget -= len(sentence)
            self._submit(job, sentence)
        return budget

    def _submit(self, job: _Job, sentence: str) -> None:
        if job.result.timings.first_sentence is None:
            job.result.timings.first_sentence = time.monotonic()
            self.status.update(activity=Activity.SPEAKING)
        index = job.result.submitted
        job.result.submitted += 1
        self._put(job, _Sentence(job.utterance, index, sentence, job.track.of(sentence)))

    def _put(self, job: _Job, item: _Sentence | _End) -> None:
        while not job.cancel.is_set():
            try:
                self._queue.put(item, timeout=POLL_S)
            except queue.Full:
                continue
            self._worker.wake()
            return

    def _flush_queue(self) -> None:
        while True:
            try:
                self._queue.get_nowait()
            except queue.Empty:
                return

    def _drain(self, job: _Job) -> None:
        while not job.cancel.is_set():
            if self.sink.drain(5.0 if self.paused else 0.1):  # cancel() stops the sink, which wakes the drain
                return

    def _step(self) -> float | None:
        """Speak what is queued, then sleep until `_put` wakes the worker."""
        for item in queued(self._queue, self._worker):
            job = self._job
            if job is None or item.utterance != job.utterance or job.cancel.is_set():
                continue  # stale: from a cancelled utterance
            if isinstance(item, _End):
                job.done.set()
                continue
            try:
                self._speak_one(job, item)
            except Exception:  # the worker must survive anything
                log.exception("speaking sentence %d failed", item.index)
                job.result.sentences.append(SpokenSentence(item.index, item.text, None, "internal error"))
        return None

    def _speak_one(self, job: _Job, item: _Sentence) -> None:
        if not job.chosen:
            self.router.choose()
            job.chosen = True
        elif job.result.sentences and self.settings.sentence_gap_s > 0:  # a steady pause after the last sentence
            rate = self.sink.output_rate
            sink = _JobSink(self, job, item.index)
            sink.play(np.zeros(int(rate * self.settings.sentence_gap_s), dtype=np.float32), rate)
            sink.end_source()
        try:
            engine = self.router.speak_sentence(item.text, job.voice, _JobSink(self, job, item.index), job.cancel,
                                                item.language)
        except EngineError as exc:
            log.error("sentence %d not spoken: %s", item.index, exc)
            job.result.sentences.append(SpokenSentence(item.index, item.text, None, str(exc)))
            return
        if job.cancel.is_set():
            return
        job.result.sentences.append(SpokenSentence(item.index, item.text, engine, language=item.language))
