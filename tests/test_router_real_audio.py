"""Failover with real parts end to end, heard through the real Player (PortAudio -> ALSA file capture).

Real: the tiny random-weight XTTS (tests/fixtures/xtts.py), EdgeEngine with the real edge-tts client against
the websocket stand-in (its MP3 tones name the sentences), the espeak-ng system voice, Router, Pipeline,
Player and StatusBus. Faults: CUDA OOM cannot happen on this CPU machine, so it is injected by the Faulty
wrapper between XTTS's chunks (the narrowest boundary); "edge-tts gone" is the stand-in cutting the TCP
connection mid-stream. Sentences are identified in the capture by tone frequency (edge) and by the number
of samples each engine produced (XTTS noise, system speech): captured speech == produced speech proves
nothing lost and nothing spoken twice.
"""

from __future__ import annotations

import logging

import numpy as np
import pytest

from daemon.errors import EngineOutOfMemoryError
from daemon.settings import Settings
from daemon.speech.engines.edge import EdgeEngine
from daemon.speech.engines.system import SystemEngine
from daemon.speech.pipeline import Pipeline
from daemon.speech.player import Player
from daemon.speech.router import Router
from daemon.speech.xtts.engine import XttsEngine
from daemon.status import Status, StatusBus, Tier
from tests.fixtures.audio import AlsaCapture
from tests.fixtures.edge_server import EdgeStandIn
from tests.fixtures.tones import Faulty, dominant_hz_seconds, raise_on, sentence_hz

pytestmark = pytest.mark.slow

SIX = " ".join(f"Sentence {i} of six." for i in range(1, 7))


def _tiers(status: StatusBus) -> list[Tier]:
    seen: list[Tier] = []

    def on(old: Status, new: Status) -> None:
        if old.tier != new.tier:
            seen.append(new.tier)

    status.subscribe(on)
    return seen


def _speech_seconds(audio: np.ndarray, rate: int) -> float:
    """Seconds of captured audio that carry sound (10 ms frames above -50 dBFS)."""
    n = rate // 100
    frames = audio[: audio.size - audio.size % n].reshape(-1, n)
    return float(np.count_nonzero(np.sqrt(np.mean(frames**2, axis=1)) > 10 ** (-50 / 20))) / 100


def _produced_seconds(*engines: Faulty) -> float:
    """Seconds of sound in what the engines produced for the sentences they completed."""
    return sum(_speech_seconds(audio, e.sample_rate) for e in engines for _, audio in e.produced)


@pytest.fixture
def capture_player(alsa_capture: AlsaCapture):  # type: ignore[no-untyped-def]
    player = Player(sample_rate=alsa_capture.rate)
    yield player, alsa_capture
    player.close()


def _rig(settings: Settings, xtts_fail, status: StatusBus):  # type: ignore[no-untyped-def]
    xtts_engine = XttsEngine(settings, status)
    xtts_engine.load()
    xtts = Faulty(xtts_engine, xtts_fail)
    edge = Faulty(EdgeEngine(settings))
    system = Faulty(SystemEngine(settings))
    return xtts, edge, system


def test_oom_on_sentence_2_of_4_is_heard_once_each_through_the_real_player(
    xtts_settings: Settings, edge_server: EdgeStandIn, capture_player, xtts_cleanup: None  # type: ignore[no-untyped-def]
) -> None:
    player, capture = capture_player
    settings = xtts_settings.model_copy(update={"xtts_max_rtf": 1000.0, "first_chunk_deadline_s": 30.0})
    status = StatusBus()
    tiers = _tiers(status)
    ooms: list[int] = []
    xtts, edge, system = _rig(settings, raise_on(2, lambda: EngineOutOfMemoryError("CUDA out of memory")), status)
    router = Router({"xtts": xtts, "edge": edge, "system": system}, settings, status, on_oom=lambda: ooms.append(1))
    pipe = Pipeline(router, player, settings, status)
    try:
        result = pipe.speak_text(" ".join(f"Sentence {i} of four." for i in range(1, 5)))
    finally:
        pipe.close()
        router.close()
        edge.close()
    assert result.engines == ["xtts", "edge", "edge", "edge"]
    assert ooms == [1] and tiers == [Tier.XTTS, Tier.EDGE]
    audio = capture.wait_for_audio(_produced_seconds(xtts, edge) * 0.9)
    hz = [sentence_hz(f"Sentence {i}") for i in range(1, 5)]
    heard = dominant_hz_seconds(audio, capture.rate, hz)
    for i in (2, 3, 4):  # each edge sentence once: 0.4 s of its tone, not 0 and not 0.8
        assert heard[hz[i - 1]] == pytest.approx(0.4, abs=0.08), heard
    assert _speech_seconds(audio, capture.rate) == pytest.approx(_produced_seconds(xtts, edge), abs=0.15)


def test_edge_gone_mid_sentence_moves_the_rest_to_the_system_voice(
    edge_server: EdgeStandIn, capture_player  # type: ignore[no-untyped-def]
) -> None:
    player, capture = capture_player
    settings = Settings(engine_order=["edge", "system"], use_local_cloning=False, first_chunk_deadline_s=5.0)
    status = StatusBus()
    tiers = _tiers(status)
    edge_server.mode, edge_server.fail_only_on = "drop", "Sentence 3"
    edge, system = Faulty(EdgeEngine(settings)), Faulty(SystemEngine(settings))
    router = Router({"edge": edge, "system": system}, settings, status, probe=False)
    pipe = Pipeline(router, player, settings, status)
    try:
        result = pipe.speak_text(" ".join(f"Sentence {i} of four." for i in range(1, 5)))
    finally:
        pipe.close()
        edge.close()
    assert result.engines == ["edge", "edge", "system", "system"]
    assert tiers == [Tier.EDGE, Tier.SYSTEM]
    assert [t for t, _ in system.produced] == ["Sentence 3 of four.", "Sentence 4 of four."]
    audio = capture.wait_for_audio(_produced_seconds(edge, system) * 0.9)
    hz = [sentence_hz(f"Sentence {i}") for i in range(1, 5)]
    heard = dominant_hz_seconds(audio, capture.rate, hz)
    assert heard[hz[0]] == pytest.approx(0.4, abs=0.08) and heard[hz[1]] == pytest.approx(0.4, abs=0.08)
    assert heard[hz[2]] < 0.05, "the cut-off edge attempt at sentence 3 must not be heard"
    assert _speech_seconds(audio, capture.rate) == pytest.approx(_produced_seconds(edge, system), abs=0.2)


def test_acceptance_killing_each_tier_in_turn_keeps_all_six_sentences(
    xtts_settings: Settings, edge_server: EdgeStandIn, capture_player, xtts_cleanup: None,  # type: ignore[no-untyped-def]
    caplog: pytest.LogCaptureFixture,
) -> None:
    """XTTS dies (OOM) at sentence 3, the edge service dies mid-stream at sentence 5: six sentences heard."""
    caplog.set_level(logging.INFO, logger="daemon.speech.availability")
    player, capture = capture_player
    settings = xtts_settings.model_copy(update={"xtts_max_rtf": 1000.0, "first_chunk_deadline_s": 30.0})
    status = StatusBus()
    tiers = _tiers(status)
    xtts, edge, system = _rig(settings, raise_on(3, lambda: EngineOutOfMemoryError("CUDA out of memory")), status)
    # the edge service goes away in the middle of sentence 5
    edge_server.mode, edge_server.drop_after, edge_server.fail_only_on = "drop", 1, "Sentence 5"
    router = Router({"xtts": xtts, "edge": edge, "system": system}, settings, status, probe=False)
    pipe = Pipeline(router, player, settings, status)
    try:
        result = pipe.speak_text(SIX)
    finally:
        pipe.close()
        edge.close()
    assert result.engines == ["xtts", "xtts", "edge", "edge", "system", "system"]
    assert tiers == [Tier.XTTS, Tier.EDGE, Tier.SYSTEM]
    logged = [r.getMessage() for r in caplog.records if "voice tier ->" in r.getMessage()]
    assert [m.split()[3] for m in logged] == ["xtts", "edge", "system"]
    audio = capture.wait_for_audio(_produced_seconds(xtts, edge, system) * 0.9)
    hz = [sentence_hz(f"Sentence {i}") for i in range(1, 7)]
    heard = dominant_hz_seconds(audio, capture.rate, hz)
    assert heard[hz[2]] == pytest.approx(0.4, abs=0.08) and heard[hz[3]] == pytest.approx(0.4, abs=0.08)
    assert len(xtts.produced) == 2 and len(system.produced) == 2
    assert _speech_seconds(audio, capture.rate) == pytest.approx(_produced_seconds(xtts, edge, system), abs=0.25)
