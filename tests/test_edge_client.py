"""EdgeEngine with the REAL edge-tts client (7.x) and aiohttp against the local websocket stand-in.

Nothing in the engine is faked: only the service's address is patched (WSS_URL / VOICE_LIST) to the stand-in
in tests/fixtures/edge_server.py, which speaks the service's framing and streams real MP3.
"""

from __future__ import annotations

import socket
import time

import numpy as np
import pytest
from edge_tts.drm import DRM

from daemon.errors import EngineError, EngineUnavailableError
from daemon.settings import Settings
from daemon.speech.engines.edge import EdgeEngine
from tests.fixtures.edge_server import RATE, EdgeStandIn
from tests.fixtures.tones import dominant_hz_seconds, sentence_hz


@pytest.fixture
def edge(edge_server: EdgeStandIn):  # type: ignore[no-untyped-def]
    engine = EdgeEngine(Settings(first_chunk_deadline_s=2.0))
    yield engine
    engine.close()


def test_first_chunk_is_decoded_before_the_stream_ends(edge: EdgeEngine, edge_server: EdgeStandIn) -> None:
    edge_server.gate.clear()  # the stand-in holds back the second half of the MP3 until the gate opens
    chunks = []
    gen = edge.stream("Sentence 3 streams.")
    chunks.append(next(gen))
    assert not edge_server.gate.is_set(), "the first chunk must come while the service is still sending"
    edge_server.gate.set()
    chunks.extend(gen)
    assert len(chunks) > 2
    audio = np.concatenate(chunks)
    assert abs(audio.size / RATE - edge_server.tone_s) < 0.1
    hz = sentence_hz("Sentence 3")
    assert dominant_hz_seconds(audio, RATE, [hz, sentence_hz("Sentence 1")])[hz] > 0.3
    assert edge_server.texts == ["Sentence 3 streams."]


def test_403_handshake_is_a_clock_error_and_skew_is_restored(edge: EdgeEngine, edge_server: EdgeStandIn) -> None:
    edge_server.mode = "403"
    before = DRM.clock_skew_seconds
    with pytest.raises(EngineUnavailableError, match="clock"):
        list(edge.stream("Sentence 1."))
    assert edge_server.connections == 2  # edge-tts corrects its clock skew once and retries
    assert not edge.ready()
    DRM.clock_skew_seconds = before  # (the fixture also restores it)


def test_no_audio_is_an_engine_error_naming_the_voice_setting(edge: EdgeEngine, edge_server: EdgeStandIn) -> None:
    edge_server.mode = "no_audio"
    with pytest.raises(EngineError, match="edge_tts_voice"):
        list(edge.stream("Sentence 1."))


def test_server_gone_mid_stream_is_an_engine_error(edge: EdgeEngine, edge_server: EdgeStandIn) -> None:
    edge_server.mode = "drop"
    got = []
    with pytest.raises(EngineError, match="closed the connection in the middle"):
        for chunk in edge.stream("Sentence 2."):
            got.append(chunk)
    assert got, "some audio arrived before the server went away"
    assert not edge.ready()
    edge_server.mode = "ok"
    assert edge.probe() and edge.ready()  # the router's background probe brings it back


def test_unreachable_service_fails_fast(monkeypatch: pytest.MonkeyPatch) -> None:
    import edge_tts.communicate

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    monkeypatch.setattr(edge_tts.communicate, "WSS_URL", f"ws://127.0.0.1:{port}/edge/v1?TrustedClientToken=x")
    engine = EdgeEngine(Settings(first_chunk_deadline_s=1.0))
    t0 = time.monotonic()
    try:
        with pytest.raises(EngineError, match="unreachable"):
            list(engine.stream("Sentence 1."))
    finally:
        engine.close()
    assert time.monotonic() - t0 < 5


def test_hanging_service_times_out(edge_server: EdgeStandIn) -> None:
    edge_server.mode = "hang"
    engine = EdgeEngine(Settings(first_chunk_deadline_s=1.0))
    t0 = time.monotonic()
    try:
        with pytest.raises(EngineError):
            list(engine.stream("Sentence 1."))
    finally:
        engine.close()
    assert time.monotonic() - t0 < 8


def test_voice_list_is_fetched_once_and_cached(edge: EdgeEngine, edge_server: EdgeStandIn) -> None:
    first = edge.list_voices()
    second = edge.list_voices()
    assert [v["ShortName"] for v in first] == ["en-GB-RyanNeural", "en-US-AriaNeural"]
    assert second is first and edge_server.voice_requests == 1


def test_rate_pitch_and_voice_reach_the_service(edge_server: EdgeStandIn) -> None:
    engine = EdgeEngine(Settings(edge_tts_voice="en-GB-RyanNeural", edge_tts_rate="+10%", edge_tts_pitch="-5Hz"))
    try:
        assert engine.synthesize("Sentence 1.").size > 0
    finally:
        engine.close()
    assert edge_server.texts == ["Sentence 1."]
    ssml = edge_server.ssml[0]
    assert "(en-GB, RyanNeural)" in ssml and "rate='+10%'" in ssml and "pitch='-5Hz'" in ssml
