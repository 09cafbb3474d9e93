"""Pipeline: streamed text -> sentences -> router -> sink, with barge-in.

Real: SentenceSplitter, Router, Pipeline threads and queues, StatusBus. Stand-ins (tests/fixtures/tones.py):
ToneEngine for the synthesis model and MemorySink for the audio device.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Iterator

import pytest

from daemon.settings import Settings
from daemon.speech.pipeline import Pipeline
from daemon.speech.router import Router
from daemon.status import StatusBus
from tests.fixtures.tones import MemorySink, ToneEngine


def _pipeline(engine: ToneEngine) -> tuple[Pipeline, MemorySink]:
    settings = Settings(engine_order=["edge", "system"], use_local_cloning=False)
    sink = MemorySink()
    status = StatusBus()
    router = Router({engine.name: engine}, settings, status, probe=False)
    return Pipeline(router, sink, settings, status), sink


def test_speaks_every_sentence_once_in_order() -> None:
    engine = ToneEngine("system", 3)
    pipe, sink = _pipeline(engine)
    try:
        result = pipe.speak_text("Sentence 1 is here. Sentence 2 follows! And sentence 3?")
    finally:
        pipe.close()
    assert [s.text for s in result.sentences] == ["Sentence 1 is here.", "Sentence 2 follows!", "And sentence 3?"]
    assert result.engines == ["system"] * 3
    assert len(sink.sources) == 3
    assert result.timings.first_audio is not None and result.timings.end is not None and not result.cancelled
    # A steady pause (sentence_gap_s, 0.2 s) between the sentences, none before the first.
    assert [round(gap.size / rate, 3) for rate, gap in sink.gaps] == [0.2, 0.2]


def test_the_pause_between_sentences_is_a_setting_and_can_be_off() -> None:
    engine = ToneEngine("system", 3)
    settings = Settings(engine_order=["edge", "system"], use_local_cloning=False, sentence_gap_s=0.0)
    sink = MemorySink()
    status = StatusBus()
    pipe = Pipeline(Router({engine.name: engine}, settings, status, probe=False), sink, settings, status)
    try:
        pipe.speak_text("One sentence here. Another one there.")
    finally:
        pipe.close()
    assert len(sink.sources) == 2 and sink.gaps == []


def test_first_sentence_is_spoken_while_later_deltas_still_arrive() -> None:
    engine = ToneEngine("system", 3)
    pipe, sink = _pipeline(engine)
    heard_first = threading.Event()
    seen_before_last_delta: list[bool] = []

    def deltas() -> Iterator[str]:
        yield "Sentence 1 arrives first. Sentence "  # the next word tells the splitter the sentence ended
        seen_before_last_delta.append(heard_first.wait(5.0))
        yield "2 comes later."

    original_play = sink.play

    def play(samples, rate):  # type: ignore[no-untyped-def]
        original_play(samples, rate)
        heard_first.set()

    sink.play = play  # type: ignore[method-assign]
    try:
        result = pipe.speak(deltas())
    finally:
        pipe.close()
    assert seen_before_last_delta == [True]
    assert len(result.sentences) == 2
    assert result.timings.first_audio is not None and result.timings.first_sentence is not None
    assert result.timings.first_audio < result.timings.end  # type: ignore[operator]


def test_cancel_stops_within_100_ms_and_drops_the_rest() -> None:
    engine = ToneEngine("system", 3, chunks=20, chunk_delay=0.05)  # 1 s per sentence
    pipe, sink = _pipeline(engine)
    out: list[object] = []
    t = threading.Thread(target=lambda: out.append(pipe.speak_text("Sentence 1 is long. Sentence 2 is long too.")))
    t.start()
    deadline = time.monotonic() + 5
    while not sink._current and time.monotonic() < deadline:
        time.sleep(0.01)
    t0 = time.monotonic()
    pipe.cancel()
    t.join(timeout=1.0)
    elapsed = time.monotonic() - t0
    try:
        assert not t.is_alive()
        assert elapsed < 0.1, elapsed
        assert out and out[0].cancelled  # type: ignore[attr-defined]
        assert sink.stops >= 1
        # the next utterance works normally
        result = pipe.speak_text("Sentence 3 after the barge-in.")
        assert result.engines == ["system"]
    finally:
        pipe.close()


def test_error_in_text_stream_is_raised_after_speaking_what_arrived() -> None:
    engine = ToneEngine("system", 3)
    pipe, _sink = _pipeline(engine)

    def deltas() -> Iterator[str]:
        yield "Sentence 1 made it. Sentence 2 is cut"
        raise ConnectionError("stream broke")

    try:
        try:
            pipe.speak(deltas())
        except ConnectionError:
            pass
        else:
            raise AssertionError("the stream's error must reach the caller")
    finally:
        pipe.close()
    assert engine.spoken == ["Sentence 1 made it.", "Sentence 2 is cut"]


def test_a_voice_slower_than_real_time_is_logged_as_the_sound_running_dry(caplog: pytest.LogCaptureFixture) -> None:
    """0.4 s sentences in 3 chunks: made in ~0.02 s they never leave the sound card waiting; with 0.3 s per
    chunk (0.9 s a sentence, 2.25x slower than real time) every later chunk comes after the last one ended."""
    for delay, starved in ((0.0, False), (0.3, True)):
        engine = ToneEngine("system", 3, chunks=3, chunk_delay=delay)
        pipe, _sink = _pipeline(engine)
        try:
            with caplog.at_level(logging.INFO, logger="daemon.speech.pipeline"):
                result = pipe.speak_text("One sentence here. Another one there.")
        finally:
            pipe.close()
        assert (result.starved_s > 0.3) is starved, result.starved_s
        assert ("the sound ran dry" in caplog.text) is starved
        caplog.clear()
