"""The LLM client against real local HTTP stand-ins (tests/fixtures/llm_server.py): both protocols, faults.

Nothing is faked: the client speaks HTTP/1.1 to servers on 127.0.0.1 that stream Ollama NDJSON and OpenAI SSE.
"""

from __future__ import annotations

import logging
import threading
import time

import pytest

from daemon.brain.client import LLMClient
from daemon.brain.errors import (
    NOT_AN_LLM,
    LLMHTTPError,
    LLMNotAnLLMError,
    LLMNotConfiguredError,
    LLMProtocolError,
    LLMStreamCutError,
    LLMTimeoutError,
    LLMUnreachableError,
)
from daemon.settings import Settings
from tests.fixtures.llm_server import DEFAULT_TOKENS, LLMStandIn, _handler, _QuietServer, refused_url

ANSWER = "".join(DEFAULT_TOKENS)
Q = [{"role": "user", "content": "Why is the sky blue?"}]


def client_for(url: str, **kw: object) -> LLMClient:
    return LLMClient(Settings(remote_llm_url=url, **kw))  # type: ignore[arg-type]


@pytest.mark.parametrize("api", ["ollama", "openai"])
def test_auto_detects_protocol_picks_first_model_and_streams_answer(llm_server, api: str) -> None:
    srv = llm_server(api=api)
    client = client_for(srv.url)
    deltas = list(client.chat(Q))
    assert client.api == api
    assert "".join(deltas) == ANSWER and len(deltas) == len(DEFAULT_TOKENS)
    chat = srv.chat_requests[-1]
    assert chat.body["model"] == "tiny-llm:latest" and chat.body["stream"] is True
    assert srv.questions == ["Why is the sky blue?"]
    assert chat.headers.get("ngrok-skip-browser-warning") == "1"


def test_detection_and_model_are_remembered(llm_server) -> None:
    srv = llm_server(api="openai")
    client = client_for(srv.url)
    list(client.chat(Q))
    gets = len([r for r in srv.requests if r.method == "GET"])
    list(client.chat(Q))
    assert len([r for r in srv.requests if r.method == "GET"]) == gets


def test_url_ending_in_v1_is_the_openai_base(llm_server) -> None:
    srv = llm_server(api="openai")
    client = client_for(srv.url + "/v1/", llm_model="other:7b")
    assert "".join(client.chat(Q)) == ANSWER
    assert [r.path for r in srv.requests] == ["/v1/chat/completions"]


def test_api_key_is_sent_as_bearer_and_never_logged(llm_server, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    srv = llm_server(api="ollama", api_key="sk-very-secret-42")
    client = client_for(srv.url, llm_api_key="sk-very-secret-42")
    assert "".join(client.chat(Q)) == ANSWER
    assert srv.chat_requests[-1].headers["Authorization"] == "Bearer sk-very-secret-42"
    bad = client_for(srv.url, llm_api_key="wrong-key-99")
    with pytest.raises(LLMHTTPError) as info:
        list(bad.chat(Q))
    assert "llm_api_key" in str(info.value) and "wrong-key-99" not in str(info.value)
    logged = caplog.text + " ".join(str(r.args) for r in caplog.records)
    assert "sk-very-secret-42" not in logged and "wrong-key-99" not in logged


def test_api_key_from_environment(llm_server, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("VOXTRAY_LLM_API_KEY", "env-key-7")
    srv = llm_server(api="openai", api_key="env-key-7")
    assert "".join(client_for(srv.url).chat(Q)) == ANSWER


def test_empty_url_says_what_to_set() -> None:
    with pytest.raises(LLMNotConfiguredError, match="remote_llm_url is empty"):
        client_for("").chat(Q)


def test_refused_connection_is_retried_once_then_reported() -> None:
    t0 = time.monotonic()
    with pytest.raises(LLMUnreachableError, match="cannot reach the remote LLM"):
        client_for(refused_url()).chat(Q)
    assert time.monotonic() - t0 < 2.0


def test_refused_then_listening_succeeds_on_the_retry(llm_server) -> None:
    """The server appears during the retry delay: the one retry catches it."""
    url = refused_url()
    port = int(url.rsplit(":", 1)[1])
    cfg = LLMStandIn(api="ollama", url=url)
    client = client_for(url, llm_api="ollama", llm_model="tiny-llm:latest")

    def late_start() -> None:
        time.sleep(0.1)
        server = _QuietServer(("127.0.0.1", port), _handler(cfg))
        server.daemon_threads = True
        cfg._server = server
        server.serve_forever(0.02)

    threading.Thread(target=late_start, daemon=True).start()
    try:
        assert "".join(client.chat(Q)) == ANSWER
    finally:
        deadline = time.monotonic() + 2
        while cfg._server is None and time.monotonic() < deadline:
            time.sleep(0.01)
        cfg.stop()


@pytest.mark.parametrize("api", ["ollama", "openai"])
def test_no_first_token_in_time_is_a_timeout(llm_server, api: str) -> None:
    srv = llm_server(api=api, fault="first_token_timeout")
    client = client_for(srv.url, llm_first_token_timeout_s=0.4)
    t0 = time.monotonic()
    with pytest.raises(LLMTimeoutError, match=r"did not start answering within 0\.4 s"):
        list(client.chat(Q))
    assert 0.35 < time.monotonic() - t0 < 2.0


@pytest.mark.parametrize("api", ["ollama", "openai"])
def test_stall_mid_stream_keeps_received_part(llm_server, api: str) -> None:
    srv = llm_server(api=api, fault="stall", fault_after=4)
    stream = client_for(srv.url, llm_idle_timeout_s=0.3).chat(Q)
    got: list[str] = []
    with pytest.raises(LLMTimeoutError, match=r"stopped sending for 0\.3 s"):
        for d in stream:
            got.append(d)
    assert "".join(got) == "".join(DEFAULT_TOKENS[:4]) == stream.text


def test_http_500_reports_server_detail(llm_server) -> None:
    srv = llm_server(api="ollama", fault="500")
    client = client_for(srv.url, llm_api="ollama", llm_model="tiny-llm:latest")
    with pytest.raises(LLMHTTPError, match=r"HTTP 500: CUDA out of memory"):
        client.chat(Q)


@pytest.mark.parametrize("fault", ["html404", "html200"])
def test_html_page_where_json_expected_is_the_dead_tunnel_message(llm_server, fault: str) -> None:
    srv = llm_server(api="ollama", fault=fault)
    for client in (client_for(srv.url), client_for(srv.url, llm_api="openai", llm_model="m")):
        with pytest.raises(LLMNotAnLLMError) as info:
            client.chat(Q)
        assert str(info.value).startswith(NOT_AN_LLM)
    assert NOT_AN_LLM == (
        "the remote LLM URL is not answering as an LLM — restart the Colab bridge and update remote_llm_url"
    )


@pytest.mark.parametrize("api", ["ollama", "openai"])
def test_malformed_json_line_is_reported_after_the_good_part(llm_server, api: str) -> None:
    srv = llm_server(api=api, fault="malformed", fault_after=2)
    got: list[str] = []
    with pytest.raises(LLMProtocolError, match="malformed line"):
        for d in client_for(srv.url).chat(Q):
            got.append(d)
    assert "".join(got) == "".join(DEFAULT_TOKENS[:2])


@pytest.mark.parametrize("api", ["ollama", "openai"])
def test_cut_stream_is_reported_after_the_good_part(llm_server, api: str) -> None:
    srv = llm_server(api=api, fault="cut", fault_after=5)
    got: list[str] = []
    with pytest.raises(LLMStreamCutError, match="broke in the middle of the answer"):
        for d in client_for(srv.url).chat(Q):
            got.append(d)
    assert "".join(got) == "".join(DEFAULT_TOKENS[:5])


def test_unknown_model_names_the_setting(llm_server) -> None:
    srv = llm_server(api="ollama")
    with pytest.raises(LLMHTTPError, match="set llm_model"):
        client_for(srv.url, llm_model="nope:1b").chat(Q)


def test_close_from_another_thread_ends_a_stalled_stream_quietly(llm_server) -> None:
    srv = llm_server(api="openai", fault="stall", fault_after=2)
    stream = client_for(srv.url, llm_idle_timeout_s=30).chat(Q)
    got: list[str] = []
    it = iter(stream)
    got.append(next(it))
    got.append(next(it))
    timer = threading.Timer(0.1, stream.close)
    t0 = time.monotonic()
    timer.start()
    rest = list(it)  # blocked on the socket until close() shuts it down; no error
    assert rest == [] and stream.cancelled and time.monotonic() - t0 < 1.0


def test_health_reports_ok_and_failure(llm_server) -> None:
    srv = llm_server(api="ollama")
    assert client_for(srv.url).health() == (True, "ollama, model tiny-llm:latest")
    ok, note = client_for(refused_url()).health()
    assert not ok and "cannot reach" in note
    ok, note = client_for(srv.url, llm_model="ghost").health()
    assert not ok and "llm_model" in note
