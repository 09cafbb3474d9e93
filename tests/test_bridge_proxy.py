"""The bridge's authenticating proxy, for real: colab/bridge.py runs as a child process (its own start-up code)
in front of a local Ollama stand-in on 127.0.0.1. Only Ollama itself is stood in (no GPU/Colab here)."""

from __future__ import annotations

import http.client
import json
import statistics
import threading
import time
from typing import Any
from urllib.parse import urlsplit

from daemon.brain.link import BRIDGE_DOWN, describe_bridge_failure
from tests.fixtures.bridge import RunningBridge, free_port_url, load_bridge_module
from tests.fixtures.ollama import MODEL, OllamaStandIn

CHAT = {"model": MODEL, "messages": [{"role": "user", "content": "hi"}], "stream": True}


def _request(url: str, method: str, path: str, body: Any = None, headers: dict[str, str] | None = None,
             ) -> tuple[int, dict[str, str], bytes]:
    parts = urlsplit(url)
    conn = http.client.HTTPConnection(parts.hostname or "", parts.port, timeout=10)
    try:
        data = json.dumps(body).encode() if body is not None and not isinstance(body, bytes) else body
        conn.request(method, path, body=data, headers=headers or {})
        resp = conn.getresponse()
        return resp.status, dict(resp.getheaders()), resp.read()
    finally:
        conn.close()


def _first_token_s(url: str, token: str | None) -> tuple[float, str, http.client.HTTPConnection,
                                                         http.client.HTTPResponse]:
    """Seconds from sending a chat request to reading its first NDJSON line; the connection stays open."""
    parts = urlsplit(url)
    conn = http.client.HTTPConnection(parts.hostname or "", parts.port, timeout=10)
    headers = {"Content-Type": "application/json", **({"Authorization": f"Bearer {token}"} if token else {})}
    t0 = time.perf_counter()
    conn.request("POST", "/api/chat", body=json.dumps(CHAT).encode(), headers=headers)
    resp = conn.getresponse()
    line = resp.readline()
    elapsed = time.perf_counter() - t0
    assert resp.status == 200, (resp.status, line)
    return elapsed, json.loads(line)["message"]["content"], conn, resp


def test_missing_or_wrong_token_gets_401_and_never_reaches_the_llm(
    running_bridge: RunningBridge, ollama_standin: OllamaStandIn
) -> None:
    ollama_standin.reset()
    wrong = running_bridge.token[:-1] + ("A" if running_bridge.token[-1] != "A" else "B")
    for headers in ({}, {"Authorization": f"Bearer {wrong}"}, {"Authorization": "Bearer "},
                    {"Authorization": f"Basic {running_bridge.token}"}, {"Authorization": running_bridge.token},
                    {"Authorization": f"Bearer {running_bridge.token}x"}):
        for method, path, body in (("GET", "/api/tags", None), ("POST", "/api/chat", CHAT)):
            status, got_headers, data = _request(running_bridge.url, method, path, body, headers)
            assert status == 401, (headers, status)
            assert got_headers.get("WWW-Authenticate", "").startswith("Bearer")
            assert "wrong token" in json.loads(data)["error"]
            assert describe_bridge_failure(status, data).startswith("the bridge rejected the token")
    assert ollama_standin.requests == []


def test_right_token_passes_through_and_the_llm_never_sees_it(
    running_bridge: RunningBridge, ollama_standin: OllamaStandIn
) -> None:
    ollama_standin.reset()
    status, _, data = _request(running_bridge.url, "GET", "/api/tags", None,
                               {"Authorization": f"Bearer {running_bridge.token}", "Origin": "https://evil.example"})
    assert status == 200
    assert json.loads(data)["models"][0]["name"] == MODEL
    (_method, path, headers, _body), = ollama_standin.requests
    assert path == "/api/tags"
    lowered = {k.lower(): v for k, v in headers.items()}
    assert "authorization" not in lowered and "origin" not in lowered
    # Ollama refuses unknown Host headers: the proxy sends the upstream's own.
    assert lowered["host"] == urlsplit(ollama_standin.url).netloc


def test_streaming_answer_is_passed_through_unbuffered(
    running_bridge: RunningBridge, ollama_standin: OllamaStandIn
) -> None:
    """The stand-in holds the rest of the answer until the first token has reached the client through the proxy:
    a buffering proxy would deadlock here (and fail on the stand-in's 10 s bound)."""
    ollama_standin.reset()
    gate = threading.Event()
    ollama_standin.gate = gate
    _elapsed, first, conn, resp = _first_token_s(running_bridge.url, running_bridge.token)
    try:
        assert first == "Ready"
        gate.set()
        rest = [json.loads(line) for line in resp.read().splitlines() if line.strip()]
    finally:
        conn.close()
    assert "".join(r["message"]["content"] for r in rest) == ". All good."
    assert rest[-1]["done"] is True


def test_first_token_latency_through_the_proxy_is_within_5_ms_of_direct(
    running_bridge: RunningBridge, ollama_standin: OllamaStandIn
) -> None:
    ollama_standin.reset()
    direct: list[float] = []
    proxied: list[float] = []
    for _ in range(3):  # warm both paths (connection pool, first-request costs)
        for url, token in ((ollama_standin.url, None), (running_bridge.url, running_bridge.token)):
            _first_token_s(url, token)[2].close()
    for _ in range(20):
        for url, token, sink in ((ollama_standin.url, None, direct),
                                 (running_bridge.url, running_bridge.token, proxied)):
            elapsed, first, conn, _resp = _first_token_s(url, token)
            conn.close()
            assert first == "Ready"
            sink.append(elapsed)
    d, p = statistics.median(direct), statistics.median(proxied)
    print(f"first token: direct {d * 1000:.2f} ms, through the bridge proxy {p * 1000:.2f} ms")
    assert p - d < 0.005, f"proxy adds {(p - d) * 1000:.1f} ms (direct {d * 1000:.2f} ms, proxied {p * 1000:.2f} ms)"


def test_requests_over_the_size_limit_get_413_and_never_reach_the_llm(
    running_bridge: RunningBridge, ollama_standin: OllamaStandIn
) -> None:
    ollama_standin.reset()
    auth = {"Authorization": f"Bearer {running_bridge.token}", "Content-Type": "application/json"}
    big = b'{"pad": "' + b"x" * 70_000 + b'"}'
    status, _, data = _request(running_bridge.url, "POST", "/api/chat", big, auth)
    assert status == 413 and b"larger than 65536 bytes" in data
    # Without a Content-Length (chunked upload) the limit holds too.
    parts = urlsplit(running_bridge.url)
    conn = http.client.HTTPConnection(parts.hostname or "", parts.port, timeout=10)
    try:
        conn.request("POST", "/api/chat", body=iter([big[:40_000], big[40_000:]]), headers=auth,
                     encode_chunked=True)
        assert conn.getresponse().status == 413
    finally:
        conn.close()
    assert ollama_standin.requests == []
    # Just under the limit is fine (the stand-in answers 404 for a body that is not a chat request).
    status, _, _ = _request(running_bridge.url, "POST", "/api/other", b"x" * 60_000, auth)
    assert status == 404 and len(ollama_standin.requests) == 1


def test_token_check_uses_constant_time_comparison_on_every_path(monkeypatch: Any) -> None:
    """A timing measurement would be flaky on a shared CPU; instead prove every verdict comes from
    hmac.compare_digest (which takes the same time wherever the strings differ), present header or not."""
    bridge = load_bridge_module()
    calls: list[tuple[bytes, bytes]] = []
    real = bridge.hmac.compare_digest

    def spy(a: bytes, b: bytes) -> bool:
        calls.append((a, b))
        return bool(real(a, b))

    monkeypatch.setattr(bridge.hmac, "compare_digest", spy)
    token = bridge.new_token()
    cases = [(None, False), ("", False), ("Bearer ", False), (f"Basic {token}", False),
             ("Bearer " + "x" * len(token), False), ("Bearer " + token[:-1], False), (f"Bearer {token}", True),
             (f"bearer {token}", True)]
    for header, expected in cases:
        before = len(calls)
        assert bridge.token_ok(header, token) is expected, header
        assert len(calls) == before + 1, f"no constant-time comparison for {header!r}"
    assert len(token) >= 43  # 256 random bits


def test_upstream_down_answers_502_json_that_reads_as_bridge_down(start_proxy_thread: Any) -> None:
    token = "t" * 32
    url = start_proxy_thread(free_port_url(), token)
    status, _, data = _request(url, "GET", "/api/tags", None, {"Authorization": f"Bearer {token}"})
    assert status == 502
    assert "not answering" in json.loads(data)["error"]
    assert describe_bridge_failure(status, data) == BRIDGE_DOWN


def test_upstream_key_replaces_the_bridge_token(start_proxy_thread: Any, ollama_standin: OllamaStandIn) -> None:
    ollama_standin.reset()
    token = "b" * 32
    url = start_proxy_thread(ollama_standin.url, token, upstream_key="sk-upstream")
    status, _, _ = _request(url, "GET", "/api/version", None, {"Authorization": f"Bearer {token}"})
    assert status == 200
    assert ollama_standin.requests[0][2]["Authorization"] == "Bearer sk-upstream"


def test_tokens_never_start_with_a_dash_so_command_lines_cannot_mistake_them_for_options() -> None:
    bridge = load_bridge_module()
    tokens = [bridge.new_token() for _ in range(2000)]
    assert not [t for t in tokens if t.startswith("-")]
    assert len(set(tokens)) == len(tokens) and all(len(t) >= 43 for t in tokens)
