"""Picks the engine for each utterance (tiers, health, GPU headroom) and fails over BETWEEN sentences.

Failover contract: when an engine fails, times out or runs out of GPU memory on sentence k, sentence k is
re-spoken from its start by the next usable tier and the rest of the utterance stays on that tier. To make
"none spoken twice" hold, a sentence's audio reaches the sink only once the engine has finished it, with one
exception for latency: the FIRST sentence of an utterance streams straight through (nothing else is playing,
so waiting would be heard as delay). If that streamed sentence fails midway, the sink is stopped (its
unplayed audio flushed) before the next tier speaks it again from the start. Later sentences are synthesised
while the previous one plays, so holding them back costs no latency. See docs/fallback.md.

Each attempt runs the engine on its own thread (`_EngineRun`) with a deadline for the first chunk and for each
gap after it. Which engines may speak (breakers, probes, the tray's tier) is speech/availability.py.
"""

from __future__ import annotations

import logging
import queue
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Protocol

import numpy as np

from daemon import paths
from daemon.errors import (
    EngineError,
    EngineOutOfMemoryError,
    EngineTimeoutError,
    EngineUnavailableError,
    MisspokeError,
)
from daemon.live import SettingsField, SettingsSource
from daemon.settings import Settings
from daemon.speech.availability import Availability
from daemon.speech.check import SpeechCheck
from daemon.speech.engines.base import Engine
from daemon.speech.sinks import SampleSink
from daemon.status import StatusBus, Tier
from daemon.voices import VoiceRef

log = logging.getLogger(__name__)

POLL_S = 0.05  # how often waits look at the cancel flag
STALL_FACTOR = 3.0  # a gap between chunks may be this many first-chunk deadlines


class CancelFlag(Protocol):
    def is_set(self) -> bool: ...


@dataclass(frozen=True)
class _Chunk:
    data: np.ndarray


@dataclass(frozen=True)
class _Done:
    synth_s: float


@dataclass(frozen=True)
class _Failed:
    error: BaseException


class _EngineRun:
    """Runs engine.stream() on its own thread so that the router can enforce deadlines and cancel."""

    def __init__(self, engine: Engine, text: str, voice: VoiceRef | None, language: str) -> None:
        self.queue: queue.Queue[_Chunk | _Done | _Failed] = queue.Queue(maxsize=256)
        self._abandoned = threading.Event()
        self._thread = threading.Thread(
            target=self._run, args=(engine, text, voice, language), name=f"engine-{engine.name}", daemon=True
        )
        self._thread.start()

    def abandon(self) -> None:
        """Stop caring: the thread closes the engine's generator at its next chunk and drops the output."""
        self._abandoned.set()

    def _put(self, item: _Chunk | _Done | _Failed) -> bool:
        while not self._abandoned.is_set():
            try:
                self.queue.put(item, timeout=POLL_S)
                return True
            except queue.Full:
                continue
        return False

    def _run(self, engine: Engine, text: str, voice: VoiceRef | None, language: str) -> None:
        synth_s = 0.0
        gen: Iterator[np.ndarray] | None = None
        try:
            t0 = time.monotonic()
            gen = iter(engine.stream(text, voice, language))
            while True:
                try:
                    chunk = next(gen)
                except StopIteration:
                    synth_s += time.monotonic() - t0
                    break
                synth_s += time.monotonic() - t0
                if chunk.size and not self._put(_Chunk(np.asarray(chunk, dtype=np.float32).reshape(-1))):
                    return
                t0 = time.monotonic()
            self._put(_Done(synth_s))
        except BaseException as exc:  # any engine failure is reported, never raised on this thread
            self._put(_Failed(exc))
        finally:
            close = getattr(gen, "close", None)
            if close is not None:
                try:
                    close()
                except Exception:
                    log.debug("closing %s stream failed", engine.name, exc_info=True)


class Router:
    """Chooses engines by tier and health, speaks sentences, and fails over between them."""

    settings = SettingsField()

    def __init__(
        self,
        engines: dict[str, Engine],
        settings: Settings | SettingsSource,
        status: StatusBus,
        headroom: Callable[[], bool] | None = None,
        *,
        on_oom: Callable[[], None] | None = None,
        backoff_initial_s: float = 5.0,
        backoff_max_s: float = 300.0,
        probe: bool = True,
    ) -> None:
        self.engines = dict(engines)
        self.settings = settings
        self.status = status
        self.check: SpeechCheck | None = None  # sentences of `checked` engines heard before they play (app.py)
        self.on_oom = on_oom
        self.availability = Availability(self.engines, status, headroom, lambda: self.settings.xtts_max_rtf,
                                         backoff_initial_s=backoff_initial_s, backoff_max_s=backoff_max_s, probe=probe)
        self._lock = threading.RLock()
        self._active: Engine | None = None
        self._spoken_in_utterance = 0

    # ----- choosing -----
    def order(self) -> list[str]:
        """Engine names to try, best first (a forced engine keeps the last-resort engines behind it)."""
        s = self.settings
        names: list[str] = list(s.engine_order) if s.engine == "auto" else [s.engine]
        names += [n for n, e in self.engines.items() if e.last_resort and n not in names]
        return [n for n in names if n in self.engines]

    def usable(self, name: str, *, judge: bool = True) -> tuple[bool, str]:
        """Can `name` speak the next utterance? Returns (ok, why not). `judge=False`: only look (never trip)."""
        return self.availability.usable(name, judge=judge)

    def choose(self) -> Engine:
        """The engine for the next utterance; also starts a new utterance (failover state is reset)."""
        with self._lock:
            skipped: list[str] = []
            names = self.order()
            if not names:
                raise EngineUnavailableError(
                    f"No speech engine is available: check the log and `{paths.command()} doctor`.")
            chosen = names[-1]
            for name in names:
                ok, why = self.usable(name)
                if ok:
                    chosen = name
                    break
                skipped.append(f"{self.engines[name].label}: {why}")
            self._active = self.engines[chosen]
            self._spoken_in_utterance = 0
            self._active.begin_utterance()
            if not self.availability.watching:  # without the watcher (one-shot CLI) the choice itself is published
                self.availability.publish(chosen, "; ".join(skipped) if skipped else "preferred voice")
            return self._active

    def preview(self) -> tuple[str | None, str]:
        """The engine the next utterance WOULD get and why, without side effects; (None, why) when none can."""
        with self._lock:
            skipped: list[str] = []
            for name in self.order():
                ok, why = self.usable(name, judge=False)
                if ok:
                    return name, "; ".join(skipped) if skipped else "preferred voice"
                skipped.append(f"{self.engines[name].label}: {why}")
            return None, "nothing can speak: " + ("; ".join(skipped) if skipped else "no engine configured")

    def start_watch(self) -> None:
        """Keep the tray's tier true: the tier `preview()` names, at once and whenever readiness changes."""
        self.availability.start_watch(self.order, self.preview)

    def readiness_changed(self) -> None:
        """Settings (engine, order, cloning) changed: the tier watcher publishes the tier again now."""
        self.availability.readiness_changed()

    # ----- speaking -----
    def speak_sentence(self, sentence: str, voice: VoiceRef | None, sink: SampleSink, cancel: CancelFlag,
                       language: str = "") -> str:
        """Speak one sentence (in `language`, "" = unknown) on the utterance's engine, failing over as needed;
        returns the engine's name. A sentence the engine cannot read in its language goes to the next voice in
        order that can (this sentence only). Raises EngineError only when every tier failed on this sentence.
        """
        engine = self._active or self.choose()
        if language and not engine.speaks(language):
            engine = self._reader_of(language, engine)
        stream_through = self._spoken_in_utterance == 0
        tried: list[str] = []
        errors: list[str] = []
        while True:
            tried.append(engine.name)
            try:
                self._speak_on(engine, sentence, voice, sink, cancel, stream_through, language)
                self._spoken_in_utterance += 1
                return engine.name
            except EngineError as exc:
                if cancel.is_set():
                    return engine.name
                misspoke = isinstance(exc, MisspokeError)  # this sentence only: nothing is marked down
                reason = f"{engine.label}: {exc}" if misspoke else self._failure(engine, exc)
                errors.append(reason)
                nxt = self._next_after(engine.name, tried, language)
                if nxt is None:
                    with self._lock:
                        self.availability.publish_tier(Tier.NONE, "no engine could speak: " + "; ".join(errors))
                    raise EngineError(
                        "No voice could speak (" + "; ".join(errors) + "). Check the log and run "
                        f"`{paths.command()} doctor`."
                    ) from exc
                if not misspoke:
                    with self._lock:
                        self._active = nxt
                        self.availability.publish(nxt.name, reason)
                engine = nxt

    def _speak_on(
        self, engine: Engine, text: str, voice: VoiceRef | None, sink: SampleSink, cancel: CancelFlag,
        stream_through: bool, language: str = "",
    ) -> None:
        first_deadline = self.settings.first_chunk_deadline_s
        run = _EngineRun(engine, text, voice, language)
        held: list[np.ndarray] = []
        sent = False
        audio_samples = 0
        got_first = False
        try:
            while True:
                limit = first_deadline if not got_first else first_deadline * STALL_FACTOR
                item = self._wait(run, limit, cancel)
                if item is None:
                    if cancel.is_set():
                        engine.interrupt()  # barge-in: the engine stops at its next step, not its next chunk
                        return
                    what = "first audio" if not got_first else "the next audio chunk"
                    raise EngineTimeoutError(f"{engine.label} gave no {what} in {limit:g} s")
                if isinstance(item, _Chunk):
                    got_first = True
                    audio_samples += item.data.size
                    if stream_through:
                        sink.play(item.data, engine.sample_rate)
                        sent = True
                    else:
                        held.append(item.data)
                elif isinstance(item, _Failed):
                    if isinstance(item.error, EngineError):
                        raise item.error
                    raise EngineError(f"{engine.name} failed: {item.error!r}") from item.error
                else:
                    self.availability.rtf[engine.name].add(item.synth_s, audio_samples / float(engine.sample_rate))
                    break
        except EngineError:
            run.abandon()
            engine.interrupt()
            if sent:
                sink.stop()  # flush the unplayed part of the failed attempt before the next tier re-speaks it
            raise
        if audio_samples == 0:
            raise EngineError(f"{engine.name} produced no audio for: {text[:40]!r}")
        if held and engine.checked and self.check is not None:  # a held sentence: checked by ear before playing
            review = self.check.review(text, np.concatenate(held), engine.sample_rate, language)
            if review is not None:
                if review.audio is None:
                    raise MisspokeError(f"it said {review.heard[:50]!r}")
                held = [review.audio]
        for chunk in held:
            if cancel.is_set():
                return
            sink.play(chunk, engine.sample_rate)
        sink.end_source()

    @staticmethod
    def _wait(run: _EngineRun, limit: float, cancel: CancelFlag) -> _Chunk | _Done | _Failed | None:
        deadline = time.monotonic() + limit
        while not cancel.is_set():
            left = deadline - time.monotonic()
            if left <= 0:
                return None
            try:
                return run.queue.get(timeout=min(POLL_S, left))
            except queue.Empty:
                continue
        run.abandon()
        return None

    # ----- health -----
    def _failure(self, engine: Engine, exc: EngineError) -> str:
        name = engine.name
        reason = f"{engine.label} failed: {exc}"
        if isinstance(exc, EngineOutOfMemoryError):
            reason = f"{engine.label} ran out of GPU memory"
            if self.on_oom is not None:
                try:
                    self.on_oom()
                except Exception:
                    log.exception("on_oom callback failed")
        self.availability.trip(name, reason)
        return reason

    def _after(self, name: str) -> list[str]:
        """The engines after `name` in order (all of them when it is not in the order)."""
        names = self.order()
        return names[names.index(name) + 1:] if name in names else names

    def _reader_of(self, language: str, engine: Engine) -> Engine:
        """The first voice after `engine` in order that reads `language` and can speak now (else `engine`)."""
        for name in self._after(engine.name):
            other = self.engines[name]
            if other.speaks(language) and (self.usable(name, judge=False)[0] or other.last_resort):
                log.info("%s does not read %s: %s reads this sentence", engine.label, language, other.label)
                return other
        return engine

    def _next_after(self, failed: str, tried: list[str], language: str = "") -> Engine | None:
        for name in self._after(failed):
            if name in tried or (language and not self.engines[name].speaks(language)
                                 and not self.engines[name].last_resort):
                continue
            ok, why = self.usable(name)
            if ok or self.engines[name].last_resort:
                return self.engines[name]
            log.info("skipping %s: %s", name, why)
        return None

    def record_rtf(self, name: str, rtf: float) -> None:
        """Feed a real-time factor measured outside the router (e.g. by the engine or a benchmark)."""
        self.availability.rtf[name].record(rtf)

    def is_down(self, name: str) -> bool:
        return self.availability.breakers[name].down

    def mark_down(self, name: str, reason: str) -> None:
        """Mark an engine down from outside (e.g. the VRAM guard unloading XTTS)."""
        self.availability.trip(name, reason)

    def close(self) -> None:
        """Stop the background prober and the tier watcher."""
        self.availability.close()
