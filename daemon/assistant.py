"""Ask and hear: question -> remote LLM (streaming) -> speech pipeline, on the assistant's own worker thread.

    assistant = Assistant(client, conversation, pipeline, status, voice=lambda: current_voice, health=poller)
    assistant.ask("Why is the sky blue?", t_hotkey=t_pressed)   # returns at once
    assistant.stop()                                            # barge-in: stops the LLM stream and the speech
    assistant.read(text, max_chars=200_000)                     # read a text aloud (the selection) the same way
    assistant.wait_idle(10.0)                                   # tests / CLI: wait until the answer is done
    assistant.close()

The LLM's text deltas go straight into `pipeline.speak(deltas, voice)`, so the first sentence is synthesised
while the LLM still writes the rest. An LLM failure is logged, shown in the tray (status llm_ok/llm_note/
message) and spoken as one short sentence, after whatever part of the answer already arrived was spoken.
A new `ask` while one is running stops the old answer first. Timings of each answer (hotkey, request, first
token, first sentence, first audio, end) are logged, kept in `last_timings`, and first audio is published
as `status.update(last_first_audio_s=...)`: seconds from the HOTKEY PRESS (the moment the user asked; the
question's submission when there was no hotkey, e.g. the CLI) to the first audio reaching the player — the one
delay users feel. Every logged time counts from that same origin, so none is negative. One record
(`daemon.timings.AnswerTimings`) holds both sides: the pipeline stamps the speech into it.

Never silent: every question ends in speech — the answer, or one short sentence saying what went wrong: an
LLM failure or a cut answer (its bounds), an answer that cleans to nothing ("The answer was only code; it is
in the log."), or an unexpected error ("Something went wrong ..."). `last_timings.error` is set whenever the
whole answer was not spoken, so the CLI can exit non-zero.
"""

from __future__ import annotations

import logging
import queue
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Protocol

from daemon.answerlog import AnswerLog
from daemon.brain.client import LLMClient
from daemon.brain.conversation import Conversation
from daemon.brain.errors import LLMAnswerCutError, LLMProblem
from daemon.brain.health import ClientSource, HealthPoller
from daemon.brain.link import explain_llm_failure
from daemon.brain.stream import ChatStream
from daemon.speech.clean import unspeakable_reason
from daemon.speech.language import question_language
from daemon.status import Activity, StatusBus
from daemon.timings import AnswerTimings
from daemon.voices import VoiceRef
from daemon.worker import Worker, queued

log = logging.getLogger(__name__)

UNEXPECTED = "Something went wrong while answering; the details are in the log."
LOG_ANSWER_CHARS = 100_000
NOTHING_TO_READ = "There is nothing to read aloud in that text."
NOTHING_TO_REPEAT = "There is no answer to repeat yet."
READ_PIECE = 2000  # a text to read reaches the pipeline in pieces of this many characters (a stop ends it between)


class SpeechPipeline(Protocol):
    """What the assistant needs from daemon.speech.pipeline.Pipeline."""

    def speak(self, deltas: Iterator[str], voice: VoiceRef | None = None, *, first_fragment: bool = True,
              timings: AnswerTimings | None = None, language: str | None = None,
              max_chars: int | None = None) -> object: ...
    def speak_text(self, text: str, voice: VoiceRef | None = None) -> object: ...
    def replay(self, utterance: int) -> object | None: ...
    def cancel(self) -> None: ...


@dataclass
class _Ask:
    question: str
    submitted: float
    hotkey: float | None
    generation: int
    language: str | None = None  # the spoken question's language (the recogniser's)
    read_max: int | None = None  # not a question: a text to read aloud, up to this many characters
    repeat: bool = False  # not a question: the last answer again


@dataclass
class _Last:
    """The last answer (or reading) spoken, for repeat(): its text and the pipeline's utterance that spoke it."""

    text: str
    language: str | None
    utterance: int | None
    read_max: int | None = None


VoiceSource = VoiceRef | Callable[[], VoiceRef | None] | None


class Assistant:
    """Answers questions aloud, one at a time, on a single worker thread ("assistant").

    `client` is an LLMClient or a provider of the current one (the daemon's: a reload applies from the next
    question)."""

    def __init__(self, client: LLMClient | ClientSource, conversation: Conversation, pipeline: SpeechPipeline, status: StatusBus,
                 *, voice: VoiceSource = None, health: HealthPoller | None = None,
                 answers: AnswerLog | None = None) -> None:
        self.client = client
        self.conversation = conversation
        self.pipeline = pipeline
        self.status = status
        self.voice = voice
        self.health = health
        self.answers = answers  # the last answers, kept for "Show the last answer"
        self.last_timings: AnswerTimings | None = None
        self._last: _Last | None = None
        self._queue: queue.Queue[_Ask] = queue.Queue()
        self._lock = threading.Lock()
        self._generation = 0
        self._stream: ChatStream | None = None
        self._busy = threading.Event()
        self._pending = 0
        self._idle = threading.Event()
        self._idle.set()
        self._worker = Worker("assistant", self._step, stop_timeout_s=3.0, retry_s=0.0)  # asleep until asked
        self._worker.start()

    @property
    def client(self) -> LLMClient:
        """The LLM client used for the next question."""
        return self._client()

    @client.setter
    def client(self, client: LLMClient | ClientSource) -> None:
        self._client: ClientSource = client if callable(client) else (lambda: client)

    # ---- public verbs (any thread, never block) ---------------------------------------------------
    def ask(self, question: str, *, t_hotkey: float | None = None, language: str | None = None) -> None:
        """Answer `question` aloud; stops any answer in progress first. Returns at once. `language`: what the
        question was spoken in; a typed question's own language is detected. The answer's sentences are read
        in their own languages; the question's is the guess for the first words, too short to tell."""
        question = question.strip()
        if question:
            log.info("question asked (%d chars)", len(question))
            self._enqueue(_Ask(question, time.monotonic(), t_hotkey, 0, language))

    def read(self, text: str, *, max_chars: int, t_hotkey: float | None = None) -> None:
        """Read `text` aloud (a selection, a file) through the answers' pipeline on the same worker, so stop()
        and a new question end it; up to `max_chars` characters (read_max_chars). Returns at once."""
        if text.strip():
            log.info("reading aloud (%d chars)", len(text))
            self._enqueue(_Ask(text, time.monotonic(), t_hotkey, 0, read_max=max_chars))

    def repeat(self, *, t_hotkey: float | None = None) -> None:
        """Say the last answer (or reading) again without asking the LLM: its kept audio, else its text
        re-synthesised (see Pipeline.replay). Stops what is being said first; returns at once."""
        log.info("repeating the last answer")
        self._enqueue(_Ask("", time.monotonic(), t_hotkey, 0, repeat=True))

    def _enqueue(self, item: _Ask) -> None:
        """Queue a question or a reading after stopping whatever is being answered or read."""
        with self._lock:
            self._generation += 1
            item.generation = self._generation
            self._pending += 1
            self._idle.clear()
        self._interrupt()
        self._queue.put(item)
        self._worker.wake()

    def stop(self) -> None:
        """Barge-in: stop the answer being streamed and spoken (no-op when idle)."""
        with self._lock:
            self._generation += 1
        self._interrupt()

    @property
    def can_repeat(self) -> bool:
        """There is a last answer (or reading) for repeat()."""
        return self._last is not None

    @property
    def busy(self) -> bool:
        return not self._idle.is_set()

    def wait_idle(self, timeout: float | None = None) -> bool:
        """Wait until no question is pending or being answered; True if idle."""
        return self._idle.wait(timeout)

    def close(self) -> None:
        self.stop()
        self._worker.stop()

    # ---- worker -------------------------------------------------------------------------------------
    def _interrupt(self) -> None:
        with self._lock:
            stream = self._stream
        if stream is not None:
            stream.close()
        if self._busy.is_set():
            self.pipeline.cancel()

    def _current(self, gen: int) -> bool:
        with self._lock:
            return gen == self._generation

    def _voice(self) -> VoiceRef | None:
        if callable(self.voice):
            return self.voice()
        return self.voice

    def _step(self) -> float | None:
        """Answer the queued questions in order, then sleep until `ask` wakes the worker."""
        for item in queued(self._queue, self._worker):
            if self._current(item.generation):  # older questions were superseded: skip them
                self._busy.set()
                try:
                    (self._repeat if item.repeat else self._answer if item.read_max is None else self._read)(item)
                except Exception as exc:  # the worker must survive anything, and say so
                    log.exception("answering failed unexpectedly")
                    self._unexpected(item, exc)
                finally:
                    self._busy.clear()
            with self._lock:
                self._pending -= 1
                if self._pending == 0:
                    self._idle.set()
        return None

    def _answer(self, item: _Ask) -> None:
        t = AnswerTimings(item.question, item.submitted, hotkey=item.hotkey)
        self.last_timings = t
        self.status.update(activity=Activity.THINKING, message="")
        voice = self._voice()
        try:
            stream = self.client.chat(self.conversation.messages(item.question))
        except LLMProblem as exc:
            self._failed(t, exc, item, voice)
            return
        with self._lock:
            self._stream = stream
            live = item.generation == self._generation
        t.request = stream.t_request
        if not live:
            stream.close()
            with self._lock:
                self._stream = None
            t.cancelled, t.end = True, time.monotonic()
            self._finished(t)
            return
        problem: list[LLMProblem] = []

        def deltas() -> Iterator[str]:
            try:
                yield from stream
            except LLMProblem as exc:  # keep what arrived: the pipeline speaks it, then we report
                problem.append(exc)

        result = None
        try:
            hint = item.language or question_language(item.question)
            result = self.pipeline.speak(deltas(), voice, timings=t, language=hint)  # stamps speech times into t
        finally:
            with self._lock:
                self._stream = None
            stream.close()
        t.first_token = stream.t_first_token
        t.cancelled = bool(getattr(result, "cancelled", False)) or not self._current(item.generation)
        t.answer = stream.text
        if stream.text.strip():
            self._last = _Last(stream.text, hint, getattr(result, "utterance_id", None))
        sentences = getattr(result, "sentences", None) or []
        t.spoken = sum(1 for s in sentences if getattr(s, "engine", None))
        t.unspoken = len(sentences) - t.spoken
        t.truncated = bool(getattr(result, "truncated", False))
        t.end = time.monotonic()
        self.conversation.add(item.question, stream.text)
        self._keep(item.question, stream.text, cancelled=t.cancelled, truncated=t.truncated)
        if t.cancelled:
            self._finished(t)
            return
        if problem:
            self._failed(t, problem[0], item, voice)
            return
        if not getattr(result, "submitted", len(sentences)):
            self._unspeakable(t, item, voice)
            return
        if t.truncated:
            t.error = (f"the answer ({len(t.answer)} characters) was longer than speak_max_chars; the rest was not "
                       "spoken (all of it is printed / in the log)")
        elif t.unspoken and not t.spoken:
            failures = "; ".join(sorted({s.error for s in sentences if getattr(s, "error", "")}))[:300]
            t.error = f"no voice could speak the answer ({failures or 'every engine failed'})"
        if t.error:
            log.error("%s", t.error)
            self.status.update(message=t.error)
        self._finished(t)

    def _read(self, item: _Ask) -> None:
        """Read a text aloud: streamed to the pipeline in pieces, so speech starts with its first sentence."""
        t = AnswerTimings(f"(reading {len(item.question)} characters)", item.submitted, hotkey=item.hotkey)
        self.last_timings = t
        self.status.update(activity=Activity.SPEAKING, message="")
        text, voice = item.question, self._voice()
        pieces = (text[i:i + READ_PIECE] for i in range(0, len(text), READ_PIECE))
        result = self.pipeline.speak(pieces, voice, first_fragment=False, timings=t, max_chars=item.read_max)
        self._last = _Last(text, None, getattr(result, "utterance_id", None), item.read_max)
        sentences = getattr(result, "sentences", None) or []
        t.spoken = sum(1 for s in sentences if getattr(s, "engine", None))
        t.cancelled = bool(getattr(result, "cancelled", False)) or not self._current(item.generation)
        t.truncated, t.end = bool(getattr(result, "truncated", False)), time.monotonic()
        self._keep("", text, reading=True, cancelled=t.cancelled, truncated=t.truncated)
        if t.cancelled:
            self._finished(t)
        elif not getattr(result, "submitted", len(sentences)):
            note, _ = unspeakable_reason(text)
            t.error = "nothing to read aloud: " + note.replace("the answer", "the text")
            t.spoken_error = NOTHING_TO_READ
            self.status.update(message=t.error)
            self._say(NOTHING_TO_READ, item, voice)
        else:
            if t.truncated:
                t.error = f"the text ({len(text)} characters) was longer than read_max_chars; the rest was not read"
            elif not t.spoken:
                t.error = "no voice could read the text"
            if t.error:
                log.error("%s", t.error)
                self.status.update(message=t.error)
            self._finished(t)

    def _repeat(self, item: _Ask) -> None:
        """The last answer again: its kept audio, else its text through the voices (never the LLM)."""
        last = self._last
        if last is None:
            self.status.update(message=NOTHING_TO_REPEAT)
            self._say(NOTHING_TO_REPEAT, item, self._voice())
            return
        self.status.update(activity=Activity.SPEAKING, message="")
        if last.utterance is not None and self.pipeline.replay(last.utterance) is not None:
            log.info("repeated the last answer from its kept audio")
        else:
            log.info("repeating the last answer from its text (%d characters)", len(last.text))
            result = self.pipeline.speak(iter([last.text]), self._voice(), first_fragment=False, language=last.language,
                                         max_chars=last.read_max)
            last.utterance = getattr(result, "utterance_id", None)  # its audio is kept now, when it fits
        self.status.update(activity=Activity.IDLE)

    def _finished(self, t: AnswerTimings) -> None:
        log.info("answer %s: %s", "cancelled" if t.cancelled else "done", t.describe())
        changes: dict[str, object] = {"activity": Activity.IDLE}
        if t.first_audio_s is not None:
            changes["last_first_audio_s"] = round(t.first_audio_s, 3)
        if t.first_token is not None:
            changes["llm_ok"] = True
        self.status.update(**changes)

    def _failed(self, t: AnswerTimings, exc: LLMProblem, item: _Ask, voice: VoiceRef | None) -> None:
        cut = isinstance(exc, LLMAnswerCutError)  # a bound of ours, not a failing server
        note, spoken = (str(exc), None) if cut else explain_llm_failure(exc, self.client.url)
        t.error, t.error_kind, t.spoken_error = note, type(exc).__name__, spoken or exc.spoken
        t.end = time.monotonic()
        log.error("LLM: %s (%s)", exc, t.describe())
        if cut:
            self.status.update(message=note)
        else:
            self.status.update(llm_ok=False, llm_note=note, message=note)
            if self.health is not None:
                self.health.check_soon()
        self._say(t.spoken_error, item, voice)

    def _unspeakable(self, t: AnswerTimings, item: _Ask, voice: VoiceRef | None) -> None:
        """The answer cleaned to nothing (whitespace, only code, emoji, links): say so; it goes to the log."""
        note, spoken = unspeakable_reason(t.answer)
        t.error, t.error_kind, t.spoken_error = f"{note}; nothing was read aloud", "Unspeakable", spoken
        log.warning("%s (%d characters); the answer follows:\n%s", note, len(t.answer), t.answer[:LOG_ANSWER_CHARS])
        changes: dict[str, object] = {"message": t.error}
        if t.first_token is not None:
            changes["llm_ok"] = True
        self.status.update(**changes)
        self._say(spoken, item, voice)

    def _unexpected(self, item: _Ask, exc: Exception) -> None:
        """A bug somewhere below: the question still ends in one spoken sentence, and the CLI fails."""
        t = self.last_timings
        if t is not None and t.question == item.question and t.submitted == item.submitted:
            t.error = f"answering failed unexpectedly ({type(exc).__name__}: {exc}); details are in the log"[:500]
            t.error_kind, t.spoken_error = type(exc).__name__, UNEXPECTED
            t.end = t.end or time.monotonic()
        self.status.update(message="Answering failed unexpectedly; details are in the log.")
        try:
            self.pipeline.cancel()  # whatever was half spoken
        except Exception:
            log.exception("could not stop the speech after the error")
        self._say(UNEXPECTED, item, self._voice_or_none())

    def _keep(self, question: str, text: str, **flags: bool) -> None:
        """Keep the answer (or the text read) for "Show the last answer"; never fails the answer."""
        if self.answers is not None:
            try:
                self.answers.record(question, text, **flags)
            except Exception:
                log.exception("could not keep the answer")

    def _voice_or_none(self) -> VoiceRef | None:
        try:
            return self._voice()
        except Exception:
            return None

    def _say(self, sentence: str, item: _Ask, voice: VoiceRef | None) -> None:
        """Speak one short sentence about the answer (unless the question was superseded), then go idle."""
        if self._current(item.generation):
            self.status.update(activity=Activity.SPEAKING)
            try:
                self.pipeline.speak_text(sentence, voice)
            except Exception:
                log.exception("could not speak: %s", sentence)
        self.status.update(activity=Activity.IDLE)
