"""Issue 13, the LLM's bounds: hostile stand-in servers (tests/fixtures/llm_server.py) against the real client.

Each bound is a deadline on the whole read: keep-alives and empty deltas are no progress, and a line dribbled a
byte at a time cannot hold a question past its bound (the old client set the timeout per recv(), so these
servers held it until they stopped: a watchdog stops every server after WATCHDOG_S, so a regression fails on
the elapsed time instead of hanging the suite).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator

import pytest

from daemon.brain.client import LLMClient
from daemon.brain.errors import LLMAnswerCutError, LLMRedirectError, LLMTimeoutError
from daemon.settings import Settings
from tests.fixtures.llm_server import DEFAULT_TOKENS, LLMStandIn

Q = [{"role": "user", "content": "Why is the sky blue?"}]
WATCHDOG_S = 6.0
FIRST_S, IDLE_S = 0.6, 0.4


@pytest.fixture
def hostile(llm_server) -> Iterator:  # type: ignore[no-untyped-def]
    """`hostile(**behaviour)` -> a stand-in that is stopped after WATCHDOG_S whatever happens."""
    timers: list[threading.Timer] = []

    def make(**behaviour: object) -> LLMStandIn:
        srv = llm_server(**behaviour)
        timer = threading.Timer(WATCHDOG_S, srv.stop)
        timer.daemon = True
        timer.start()
        timers.append(timer)
        return srv

    yield make
    for t in timers:
        t.cancel()


def client(srv: LLMStandIn, **kw: object) -> LLMClient:
    values: dict[str, object] = {"remote_llm_url": srv.url, "llm_first_token_timeout_s": FIRST_S,
                                 "llm_idle_timeout_s": IDLE_S, "use_local_cloning": False}
    return LLMClient(Settings(**{**values, **kw}))  # type: ignore[arg-type]


def read(c: LLMClient) -> tuple[str, BaseException | None, float]:
    """(text received, the exception that ended it, seconds from the request)."""
    c.model()  # probing is not part of the answer's bounds
    t0 = time.monotonic()
    stream = c.chat(Q)
    got: list[str] = []
    try:
        for delta in stream:
            got.append(delta)
    except Exception as exc:
        return "".join(got), exc, time.monotonic() - t0
    return "".join(got), None, time.monotonic() - t0


@pytest.mark.parametrize("api", ["openai", "ollama"])
@pytest.mark.parametrize("fault", ["keepalive", "dribble"])
def test_keepalives_and_dribble_before_the_first_token_end_at_the_first_token_bound(hostile, api, fault) -> None:
    srv = hostile(api=api, fault=fault, fault_after=0)
    text, exc, elapsed = read(client(srv))
    assert isinstance(exc, LLMTimeoutError), exc
    assert "did not start answering within 0.6 s" in str(exc)
    assert text == "" and FIRST_S - 0.05 < elapsed < FIRST_S + 0.8, elapsed


@pytest.mark.parametrize("api", ["openai", "ollama"])
@pytest.mark.parametrize("fault", ["keepalive", "dribble"])
def test_keepalives_and_dribble_mid_answer_end_at_the_idle_bound(hostile, api, fault) -> None:
    """SSE ': ping' comments / Ollama empty-content lines every 50 ms, or one endless line a byte every 20 ms,
    after 3 real tokens: the idle timer runs from the last CONTENT token and is never reset by them."""
    srv = hostile(api=api, fault=fault, fault_after=3)
    text, exc, elapsed = read(client(srv))
    assert isinstance(exc, LLMTimeoutError), exc
    assert "stopped sending for 0.4 s" in str(exc) and exc.spoken == "The language model stopped answering."
    assert text == "".join(DEFAULT_TOKENS[:3])
    assert elapsed < IDLE_S + 0.8, elapsed


@pytest.mark.parametrize("api", ["openai", "ollama"])
def test_a_2_mb_answer_is_cut_at_the_length_bound(hostile, api) -> None:
    srv = hostile(api=api, fault="huge")
    text, exc, elapsed = read(client(srv, llm_max_answer_chars=5000))
    assert isinstance(exc, LLMAnswerCutError), exc
    assert "llm_max_answer_chars (5000 characters)" in str(exc)
    assert exc.spoken == "The answer was too long, so I stopped it there."
    assert len(text) == 5000 and text.startswith("All work and no play")
    assert elapsed < 3.0


def test_a_steady_but_endless_answer_is_cut_at_the_total_time_bound(hostile) -> None:
    srv = hostile(api="openai", tokens=["word "] * 400, delay_s=0.01)
    text, exc, elapsed = read(client(srv, llm_max_answer_s=0.5, llm_idle_timeout_s=5.0))
    assert isinstance(exc, LLMAnswerCutError), exc
    assert "llm_max_answer_s (0.5 s)" in str(exc) and exc.spoken == "The answer took too long, so I stopped it there."
    assert text.startswith("word word") and len(text) < 400 * 5
    assert 0.45 < elapsed < 1.3, elapsed


def test_the_total_time_bound_also_covers_the_wait_for_the_first_token(hostile) -> None:
    srv = hostile(api="ollama", fault="keepalive", fault_after=0)
    _text, exc, elapsed = read(client(srv, llm_max_answer_s=0.3, llm_first_token_timeout_s=30))
    assert isinstance(exc, LLMTimeoutError) and "llm_max_answer_s" in str(exc)
    assert elapsed < 1.1


@pytest.mark.parametrize("api", ["openai", "ollama"])
def test_a_redirect_says_which_url_to_use(llm_server, api) -> None:
    srv = llm_server(api=api, fault="redirect", redirect_to="https://new-tunnel.example.test")
    with pytest.raises(LLMRedirectError) as info:  # while probing the API ...
        client(srv).chat(Q)
    message = str(info.value)
    assert "redirects to https://new-tunnel.example.test (HTTP 302); use that URL" in message
    assert "set remote_llm_url to https://new-tunnel.example.test." in message
    assert "after 0 characters" not in message
    with pytest.raises(LLMRedirectError) as info:  # ... and on the chat request itself
        client(srv, llm_api=api, llm_model="tiny-llm:latest").chat(Q)
    assert info.value.location == "https://new-tunnel.example.test"


def test_a_redirect_keeps_a_path_prefix_and_drops_the_api_path(llm_server) -> None:
    srv = llm_server(api="openai", fault="redirect", redirect_to="https://h.example.test/llm")
    with pytest.raises(LLMRedirectError) as info:
        client(srv, llm_api="openai", llm_model="m").chat(Q)
    assert info.value.location == "https://h.example.test/llm"
