"""Router: tier choice before speaking, failover between sentences, breaker + probe, one status change each.

Real: Router, its engine-runner threads, breaker/probe thread, StatusBus. Stand-ins (tests/fixtures/tones.py):
ToneEngine plays the engines (each sentence is a tone naming it), faults are injected by the Faulty wrapper
between an engine's chunks (the narrowest boundary), and MemorySink records exactly what reached the sink.
"""

from __future__ import annotations

import threading
import time

import pytest

from daemon.errors import EngineError, EngineOutOfMemoryError
from daemon.settings import Settings
from daemon.speech.router import Router
from daemon.status import Status, StatusBus, Tier
from tests.fixtures.tones import Faulty, MemorySink, ToneEngine, dominant_hz_seconds, raise_on, sentence_hz

SENTENCES = [f"Sentence {i} of the reply." for i in range(1, 5)]


class Tiers:
    """Records every tier change published on the bus."""

    def __init__(self, status: StatusBus) -> None:
        self.changes: list[tuple[Tier, str]] = []
        status.subscribe(self._on)

    def _on(self, old: Status, new: Status) -> None:
        if old.tier != new.tier:
            self.changes.append((new.tier, new.tier_reason))

    @property
    def tiers(self) -> list[Tier]:
        return [t for t, _ in self.changes]


def _setup(xtts_fail=None, edge_fail=None, **kw):  # type: ignore[no-untyped-def]
    xtts = Faulty(ToneEngine("xtts", 1), xtts_fail or (lambda t, i: None))
    edge = Faulty(ToneEngine("edge", 2), edge_fail or (lambda t, i: None))
    system = Faulty(ToneEngine("system", 3, sample_rate=22050))
    status = StatusBus()
    tiers = Tiers(status)
    settings = Settings(first_chunk_deadline_s=kw.pop("deadline", 1.0))
    router = Router({"xtts": xtts, "edge": edge, "system": system}, settings, status, **kw)
    return router, xtts, edge, system, tiers


def _speak(router: Router, sentences: list[str], sink: MemorySink) -> list[str]:
    router.choose()
    cancel = threading.Event()
    return [router.speak_sentence(s, None, sink, cancel) for s in sentences]


def _once_each(sink: MemorySink, sentences: list[str]) -> None:
    """Every sentence's tone is in the sink exactly once (0.4 s each), nothing else."""
    hz = [sentence_hz(s) for s in sentences]
    assert len(sink.sources) == len(sentences)
    for (rate, audio), want in zip(sink.sources, hz, strict=True):
        seconds = dominant_hz_seconds(audio, rate, hz)
        assert seconds[want] == pytest.approx(0.4, abs=0.05)
        assert sum(seconds.values()) == pytest.approx(seconds[want])


def test_oom_on_sentence_2_moves_2_to_4_to_edge_each_spoken_once() -> None:
    ooms: list[int] = []
    router, _xtts, edge, _system, tiers = _setup(
        xtts_fail=raise_on(2, lambda: EngineOutOfMemoryError("CUDA out of memory"), at_chunk=0),
        on_oom=lambda: ooms.append(1),
        probe=False,
    )
    sink = MemorySink()
    assert _speak(router, SENTENCES, sink) == ["xtts", "edge", "edge", "edge"]
    _once_each(sink, SENTENCES)
    assert ooms == [1]
    assert edge.calls == SENTENCES[1:]
    assert tiers.tiers == [Tier.XTTS, Tier.EDGE]
    assert "out of GPU memory" in tiers.changes[-1][1]
    assert router.is_down("xtts")


def test_failure_midway_through_a_held_sentence_is_not_heard_twice() -> None:
    router, _xtts, _edge, _system, _tiers = _setup(
        xtts_fail=raise_on(3, lambda: EngineOutOfMemoryError("oom"), at_chunk=2), probe=False
    )
    sink = MemorySink()
    assert _speak(router, SENTENCES, sink) == ["xtts", "xtts", "edge", "edge"]
    _once_each(sink, SENTENCES)
    assert sink.stops == 0  # sentence 3's first chunks were held back, never sent


def test_failure_midway_through_the_streamed_first_sentence_flushes_it() -> None:
    router, _xtts, _edge, _system, _tiers = _setup(
        xtts_fail=raise_on(1, lambda: EngineError("boom"), at_chunk=2), probe=False
    )
    sink = MemorySink()
    assert _speak(router, SENTENCES[:2], sink) == ["edge", "edge"]
    assert sink.stops == 1  # the streamed part of the failed attempt was flushed before edge re-spoke it
    _once_each(sink, SENTENCES[:2])


def test_edge_down_too_falls_to_the_system_voice() -> None:
    router, _xtts, _edge, system, tiers = _setup(
        xtts_fail=raise_on(2, lambda: EngineOutOfMemoryError("oom")),
        edge_fail=raise_on(2, lambda: EngineError("connection refused")),
        probe=False,
    )
    sink = MemorySink()
    assert _speak(router, SENTENCES, sink) == ["xtts", "system", "system", "system"]
    _once_each(sink, SENTENCES)
    assert system.calls == SENTENCES[1:]
    assert tiers.tiers == [Tier.XTTS, Tier.EDGE, Tier.SYSTEM]  # one change per transition


def test_first_chunk_deadline_fails_over() -> None:
    router, _xtts, _edge, _system, tiers = _setup(deadline=0.3, probe=False)
    router.engines["xtts"] = Faulty(ToneEngine("xtts", 1, chunk_delay=1.0))
    sink = MemorySink()
    t0 = time.monotonic()
    assert _speak(router, SENTENCES[:2], sink) == ["edge", "edge"]
    assert time.monotonic() - t0 < 2.0
    _once_each(sink, SENTENCES[:2])
    assert "gave no first audio" in tiers.changes[-1][1]


def test_recovered_xtts_is_taken_back_for_the_next_utterance() -> None:
    fail = {"on": True}
    router, _xtts, _edge, _system, tiers = _setup(
        xtts_fail=lambda t, i: EngineOutOfMemoryError("oom") if fail["on"] and "2" in t else None,
        backoff_initial_s=0.2,
    )
    try:
        sink = MemorySink()
        assert _speak(router, SENTENCES, sink) == ["xtts", "edge", "edge", "edge"]
        fail["on"] = False
        deadline = time.monotonic() + 5
        while router.is_down("xtts") and time.monotonic() < deadline:
            time.sleep(0.02)
        assert not router.is_down("xtts"), "the background probe should bring XTTS back"
        assert _speak(router, SENTENCES[:1], MemorySink()) == ["xtts"]
        assert tiers.tiers == [Tier.XTTS, Tier.EDGE, Tier.XTTS]
    finally:
        router.close()


def test_probe_failure_keeps_the_tier_down_with_longer_backoff() -> None:
    router, _xtts, edge, _system, _tiers = _setup(backoff_initial_s=0.1, backoff_max_s=0.4)
    try:
        edge.inner.is_ready = False  # type: ignore[attr-defined]
        router.mark_down("edge", "connection refused")
        deadline = time.monotonic() + 3
        while router.availability.breakers["edge"].failures < 3 and time.monotonic() < deadline:
            time.sleep(0.02)
        assert router.availability.breakers["edge"].failures >= 3 and router.is_down("edge")
    finally:
        router.close()


def test_rtf_degraded_xtts_is_skipped_before_speaking() -> None:
    router, xtts, _edge, _system, tiers = _setup(probe=False)
    for _ in range(3):
        router.record_rtf("xtts", 4.5)  # e.g. Windows spilling VRAM into system RAM
    sink = MemorySink()
    assert _speak(router, SENTENCES[:2], sink) == ["edge", "edge"]
    assert xtts.calls == []
    assert tiers.tiers == [Tier.EDGE] and "too slow" in tiers.changes[0][1]


def test_no_headroom_skips_xtts() -> None:
    router, xtts, _e, _s, tiers = _setup(probe=False, headroom=lambda: False)
    assert router.choose().name == "edge" and xtts.calls == []
    assert "headroom" in tiers.changes[0][1]


def test_status_bus_gets_exactly_one_change_per_transition() -> None:
    router, _x, _e, _s, tiers = _setup(
        xtts_fail=raise_on(2, lambda: EngineOutOfMemoryError("oom")), probe=False
    )
    for _ in range(3):  # staying on a tier publishes nothing
        _speak(router, SENTENCES, MemorySink())
    assert tiers.tiers == [Tier.XTTS, Tier.EDGE]


def test_every_tier_failing_raises_one_clear_error_and_publishes_none() -> None:
    fail = lambda t, i: EngineError("broken")  # noqa: E731
    router, _x, _e, system, tiers = _setup(xtts_fail=fail, edge_fail=fail, probe=False)
    router.engines["system"] = Faulty(system.inner, fail)
    with pytest.raises(EngineError, match="No voice could speak"):
        _speak(router, SENTENCES[:1], MemorySink())
    assert tiers.tiers[-1] == Tier.NONE


def test_forced_engine_keeps_the_system_voice_as_last_resort() -> None:
    router, _x, _e, _s, _t = _setup(probe=False)
    router.settings = Settings(engine="edge")
    assert router.order() == ["edge", "system"]
    assert router.choose().name == "edge"
