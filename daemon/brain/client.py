"""Streaming client for the remote LLM: Ollama `/api/chat` (NDJSON) and OpenAI `/v1/chat/completions` (SSE).

    client = LLMClient(settings)               # nothing is sent yet
    stream = client.chat(messages)             # connects, sends; raises LLMProblem on failure
    for delta in stream: ...                   # text deltas as they arrive; raises LLMProblem mid-stream
    stream.close()                             # from any thread: abandon the answer (barge-in)

`llm_api: auto` probes the server once (`/api/tags`, then `/v1/models`) and remembers the answer; an empty
`llm_model` picks the first model the server lists. Timeouts: connect, first token, idle gap between lines.
Connection errors (refused, reset before an answer) are retried once. The API key is sent as a bearer token
and never logged. Plain `http.client` on purpose: one socket per request whose timeout can be changed between
reads (first-token vs idle deadlines) and shut down from another thread to cancel at once.
"""

from __future__ import annotations

import http.client
import json
import logging
import socket
import ssl
import threading
import time
from collections.abc import Iterator
from typing import Any
from urllib.parse import urlsplit

from daemon.brain.errors import (
    LLMHTTPError,
    LLMNotAnLLMError,
    LLMNotConfiguredError,
    LLMProblem,
    LLMProtocolError,
    LLMStreamCutError,
    LLMTimeoutError,
    LLMUnreachableError,
)
from daemon.settings import Settings

log = logging.getLogger(__name__)

OLLAMA = "ollama"
OPENAI = "openai"
MAX_LINE = 1 << 20
RETRY_DELAY_S = 0.3
_RETRYABLE = (ConnectionRefusedError, ConnectionResetError, ConnectionAbortedError, BrokenPipeError,
              http.client.RemoteDisconnected)


def redact_url(url: str) -> str:
    """The URL without any user:password part, for logs and messages."""
    parts = urlsplit(url)
    if parts.username or parts.password:
        return url.replace(parts.netloc, parts.hostname or "", 1) if parts.hostname else url
    return url


def _looks_html(content_type: str, body: bytes) -> bool:
    head = body.lstrip()[:64].lower()
    return "html" in content_type.lower() or head.startswith((b"<!doctype", b"<html", b"<head", b"<body"))


def _error_detail(body: bytes) -> str:
    """The server's error text: `error.message`, `error`, `detail`, or the start of the body."""
    text = body.decode("utf-8", "replace").strip()
    try:
        data = json.loads(text)
    except ValueError:
        return text[:200] or "no details"
    if isinstance(data, dict):
        err = data.get("error", data.get("detail", data.get("message")))
        if isinstance(err, dict):
            err = err.get("message", err)
        if err:
            return str(err)[:200]
    return text[:200]


def _default_token(settings: Settings) -> str:
    """The API key: the Colab bridge's keyring token when that module exists, else the setting/env."""
    try:
        from daemon.brain import secrets  # type: ignore[attr-defined]  # written by the Colab bridge work
    except ImportError:
        return settings.llm_key()
    try:
        token = secrets.get_token(settings)
    except Exception as exc:  # a broken keyring must not stop asking questions
        log.warning("could not read the LLM token from the keyring (%s); using the setting", type(exc).__name__)
        return settings.llm_key()
    return str(token or "")


class LLMClient:
    """One remote LLM server. Thread-safe; `chat` may run while `health` polls."""

    def __init__(self, settings: Settings, token: str | None = None) -> None:
        self.url = settings.remote_llm_url.strip().rstrip("/")
        self.connect_timeout = settings.llm_connect_timeout_s
        self.first_token_timeout = settings.llm_first_token_timeout_s
        self.idle_timeout = settings.llm_idle_timeout_s
        self.probe_timeout = max(2 * settings.llm_connect_timeout_s, 5.0)
        self._key = token if token is not None else _default_token(settings)
        self._extra_headers = dict(settings.llm_headers)
        self._api: str | None = None if settings.llm_api == "auto" else settings.llm_api
        self._model: str | None = settings.llm_model.strip() or None
        self._model_fixed = self._model is not None
        self._lock = threading.Lock()
        parts = urlsplit(self.url)
        self._https = parts.scheme == "https"
        self._host = parts.hostname or ""
        self._port = parts.port
        path = parts.path.rstrip("/")
        # A pasted ".../v1" is the OpenAI base; Ollama's native API lives at the root beside it.
        self._root = path[:-3] if path.endswith("/v1") else path
        if path.endswith("/v1") and self._api is None:
            self._api = OPENAI
        self._valid = parts.scheme in ("http", "https") and bool(self._host)

    # ---- public --------------------------------------------------------------------------------------
    @property
    def api(self) -> str | None:
        """'ollama' or 'openai' once known."""
        return self._api

    @property
    def configured(self) -> bool:
        return bool(self.url)

    def detect(self) -> str:
        """The server's protocol (probed once and remembered)."""
        self._check_configured()
        with self._lock:
            if self._api:
                return self._api
        api = self._probe()
        with self._lock:
            self._api = api
        log.info("remote LLM at %s speaks the %s API", redact_url(self.url), api)
        return api

    def list_models(self) -> list[str]:
        """Model names the server offers, in its order."""
        api = self.detect()
        if api == OLLAMA:
            data = self._get_json(self._root + "/api/tags")
            models = data.get("models") if isinstance(data, dict) else None
            return [str(m.get("name") or m.get("model")) for m in models or [] if isinstance(m, dict)]
        data = self._get_json(self._root + "/v1/models")
        items = data.get("data") if isinstance(data, dict) else None
        return [str(m.get("id")) for m in items or [] if isinstance(m, dict)]

    def model(self) -> str:
        """`llm_model`, or the first model the server lists (remembered)."""
        with self._lock:
            if self._model:
                return self._model
        models = self.list_models()
        if not models:
            raise LLMProblem(
                f"the remote LLM at {redact_url(self.url)} lists no models — pull one on the server "
                "(e.g. `ollama pull llama3.2`) or set llm_model.",
                spoken="The language model server has no model loaded.",
            )
        with self._lock:
            self._model = models[0]
        log.info("using the first model the server lists: %s", models[0])
        return models[0]

    def health(self) -> tuple[bool, str]:
        """(ok, note): one cheap request (the model list); never raises."""
        try:
            models = self.list_models()
            if self._model_fixed:
                name = self._model or ""
                if models and name not in models and f"{name}:latest" not in models:
                    have = ", ".join(models[:5])
                    return False, f"model '{name}' is not on the server (it has: {have}) — fix llm_model"
            elif models:
                with self._lock:
                    self._model = self._model or models[0]
            elif not models:
                return False, "the server lists no models — pull one or set llm_model"
            return True, f"{self._api}, model {self._model}"
        except LLMProblem as exc:
            from daemon.brain.link import explain_llm_failure

            return False, explain_llm_failure(exc, self.url)[0]

    def chat(self, messages: list[dict[str, str]]) -> ChatStream:
        """Send the conversation; returns the stream of answer deltas (raises LLMProblem before any)."""
        api = self.detect()
        model = self.model()
        body: dict[str, Any] = {"model": model, "messages": messages, "stream": True}
        path = self._root + ("/api/chat" if api == OLLAMA else "/v1/chat/completions")
        log.info("LLM request: %s %s model=%s messages=%d", api, redact_url(self.url), model, len(messages))
        t_request = time.monotonic()
        conn, sock, resp = self._send("POST", path, body, self.first_token_timeout, stream=True)
        return ChatStream(self, conn, sock, resp, api, t_request)

    # ---- HTTP ----------------------------------------------------------------------------------------
    def _check_configured(self) -> None:
        if not self.url:
            raise LLMNotConfiguredError(
                "remote_llm_url is empty — set it in settings.json to your Colab bridge or Ollama URL "
                "(e.g. http://127.0.0.1:11434)."
            )
        if not self._valid:
            raise LLMNotConfiguredError(
                f"remote_llm_url '{redact_url(self.url)}' is not an http(s) URL — set it to e.g. "
                "https://<your-tunnel>.ngrok-free.app or http://127.0.0.1:11434.",
                spoken="The language model address in the settings is not valid.",
            )

    def _headers(self, body: bytes | None) -> dict[str, str]:
        headers = {"Accept": "application/json, application/x-ndjson, text/event-stream",
                   "User-Agent": "VoxTray/0.1", **self._extra_headers}
        if body is not None:
            headers["Content-Type"] = "application/json"
        if self._key:
            headers["Authorization"] = f"Bearer {self._key}"
        return headers

    def _connect(self) -> tuple[http.client.HTTPConnection, socket.socket]:
        conn: http.client.HTTPConnection
        if self._https:
            conn = http.client.HTTPSConnection(self._host, self._port, timeout=self.connect_timeout)
        else:
            conn = http.client.HTTPConnection(self._host, self._port, timeout=self.connect_timeout)
        conn.connect()
        assert conn.sock is not None
        return conn, conn.sock

    def _connect_once(self, where: str) -> tuple[http.client.HTTPConnection, socket.socket]:
        """Open the connection; refused/reset propagate (to be retried), the rest become LLM errors."""
        try:
            return self._connect()
        except _RETRYABLE:
            raise
        except ssl.SSLError as exc:
            raise LLMUnreachableError(
                f"the secure connection to {where} failed ({exc.reason or exc}) — check remote_llm_url "
                "(http vs https) and the tunnel."
            ) from None
        except TimeoutError:
            raise LLMUnreachableError(
                f"cannot connect to the remote LLM at {where} within {self.connect_timeout:g} s — check "
                "remote_llm_url and that the Colab bridge is running."
            ) from None
        except OSError as exc:
            raise LLMUnreachableError(
                f"cannot reach the remote LLM at {where} ({exc.strerror or exc}) — check remote_llm_url "
                "and your network."
            ) from None

    def _send(
        self, method: str, path: str, payload: Any, read_timeout: float, *, stream: bool = False
    ) -> tuple[http.client.HTTPConnection, socket.socket, http.client.HTTPResponse]:
        """Connect, send and read the status line; one retry on connection errors; checks the status."""
        body = json.dumps(payload).encode() if payload is not None else None
        where = redact_url(self.url)
        for attempt in (1, 2):
            try:
                conn, sock = self._connect_once(where)
                try:
                    sock.settimeout(read_timeout)
                    conn.request(method, path or "/", body=body, headers=self._headers(body))
                    resp = conn.getresponse()
                except BaseException:
                    conn.close()
                    raise
            except _RETRYABLE as exc:
                if attempt == 1:
                    log.info("LLM connection error (%s); retrying once", type(exc).__name__)
                    time.sleep(RETRY_DELAY_S)
                    continue
                raise LLMUnreachableError(
                    f"cannot reach the remote LLM at {where} ({exc.strerror or type(exc).__name__}) — check "
                    "remote_llm_url and that the Colab bridge (or Ollama) is running."
                ) from None
            except TimeoutError:
                if stream:
                    raise LLMTimeoutError(
                        f"the remote LLM at {where} did not start answering within {read_timeout:g} s — it may "
                        "be loading the model; try again, or raise llm_first_token_timeout_s."
                    ) from None
                raise LLMTimeoutError(f"the remote LLM at {where} did not answer within {read_timeout:g} s.") from None
            except http.client.HTTPException as exc:
                raise LLMNotAnLLMError(f"not an HTTP answer: {type(exc).__name__}") from None
            except OSError as exc:
                raise LLMUnreachableError(
                    f"cannot reach the remote LLM at {where} ({exc.strerror or exc}) — check remote_llm_url "
                    "and your network."
                ) from None
            self._check_status(resp, path)
            return conn, sock, resp
        raise AssertionError("unreachable")

    def _check_status(self, resp: http.client.HTTPResponse, path: str) -> None:
        ctype = resp.getheader("Content-Type", "") or ""
        if resp.status < 400 and "html" not in ctype.lower():
            return
        try:
            body = resp.read(65536)
        except (OSError, http.client.HTTPException):
            body = b""
        resp.close()
        if _looks_html(ctype, body):
            raise LLMNotAnLLMError(f"HTTP {resp.status}, an HTML page at {path}")
        detail = _error_detail(body)
        status = resp.status
        if status in (401, 403):
            raise LLMHTTPError(
                f"the remote LLM refused the request (HTTP {status}: {detail}) — set llm_api_key or the "
                "VOXTRAY_LLM_API_KEY environment variable to the bridge's key.",
                status, spoken="The language model refused my key.",
            )
        if status == 404 and "model" in detail.lower():
            raise LLMHTTPError(
                f"the remote LLM has no model '{self._model}' (HTTP 404: {detail}) — set llm_model to one it "
                "lists, or leave it empty to use the first.",
                status, spoken="The language model was not found on the server.",
            )
        if status == 404:
            raise LLMHTTPError(
                f"the remote LLM has no {path} (HTTP 404: {detail}) — check remote_llm_url and llm_api "
                "(ollama or openai).", status,
            )
        raise LLMHTTPError(
            f"the remote LLM failed (HTTP {status}: {detail}) — check the Colab notebook's (or server's) "
            "output, then try again.", status,
        )

    def _get_json(self, path: str) -> Any:
        conn, _sock, resp = self._send("GET", path, None, self.probe_timeout)
        try:
            body = resp.read()
        except (OSError, http.client.HTTPException) as exc:
            raise LLMStreamCutError(f"the remote LLM at {redact_url(self.url)} broke off its reply ({exc}).") from None
        finally:
            conn.close()
        if _looks_html(resp.getheader("Content-Type", "") or "", body):
            raise LLMNotAnLLMError(f"an HTML page at {path}")
        try:
            return json.loads(body)
        except ValueError:
            raise LLMProtocolError(
                f"the remote LLM sent something that is not JSON at {path} ({body[:80]!r}) — check remote_llm_url."
            ) from None

    def _probe(self) -> str:
        """Which API: Ollama's /api/tags answers {"models": [...]}, OpenAI's /v1/models {"data": [...]}."""
        first_error: LLMProblem | None = None
        for api, path, key in ((OLLAMA, "/api/tags", "models"), (OPENAI, "/v1/models", "data")):
            try:
                data = self._get_json(self._root + path)
            except (LLMUnreachableError, LLMTimeoutError, LLMNotConfiguredError):
                raise
            except LLMHTTPError as exc:
                if exc.status in (401, 403):
                    raise
                first_error = first_error or exc
                continue
            except LLMProblem as exc:
                first_error = first_error or exc
                continue
            if isinstance(data, dict) and key in data:
                return api
        if isinstance(first_error, LLMNotAnLLMError):
            raise first_error
        raise LLMProtocolError(
            f"the server at {redact_url(self.url)} is neither Ollama (/api/tags) nor OpenAI-compatible "
            f"(/v1/models) ({first_error}) — check remote_llm_url, or set llm_api and llm_model.",
            spoken="The language model server did not answer like one I know.",
        )


class ChatStream:
    """The answer as text deltas. Iterate once; `close()` from any thread cancels quietly.

    `t_request` / `t_first_token` are `time.monotonic()` stamps; `text` is everything received so far.
    """

    def __init__(self, client: LLMClient, conn: http.client.HTTPConnection, sock: socket.socket,
                 resp: http.client.HTTPResponse, api: str, t_request: float) -> None:
        self._client = client
        self._conn = conn
        self._sock = sock
        self._resp = resp
        self.api = api
        self.t_request = t_request
        self.t_first_token: float | None = None
        self.t_end: float | None = None
        self.text = ""
        self.cancelled = False
        self._last_progress = t_request
        self._closed = False

    def __iter__(self) -> Iterator[str]:
        try:
            parse = self._ollama_deltas if self.api == OLLAMA else self._openai_deltas
            for delta in parse():
                if self.cancelled:
                    return
                if delta:
                    if self.t_first_token is None:
                        self.t_first_token = time.monotonic()
                    self.text += delta
                    yield delta
        finally:
            self.t_end = time.monotonic()
            self._release()

    def close(self) -> None:
        """Stop reading: wakes a reader blocked on the socket at once (safe from any thread)."""
        self.cancelled = True
        try:
            self._sock.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass

    # ---- reading -------------------------------------------------------------------------------------
    def _readline(self) -> bytes:
        now = time.monotonic()
        first = self.t_first_token is None
        limit = self._client.first_token_timeout if first else self._client.idle_timeout
        deadline = (self.t_request if first else self._last_progress) + limit
        where = redact_url(self._client.url)
        try:
            self._sock.settimeout(max(0.001, deadline - now))
            line = self._resp.readline(MAX_LINE)
        except TimeoutError:
            if self.cancelled:
                return b""
            if first:
                raise LLMTimeoutError(
                    f"the remote LLM at {where} did not start answering within {limit:g} s — it may be loading "
                    "the model; try again, or raise llm_first_token_timeout_s."
                ) from None
            raise LLMTimeoutError(
                f"the remote LLM stopped sending for {limit:g} s in the middle of the answer — try again; raise "
                "llm_idle_timeout_s if the server is just slow.",
                spoken="The language model stopped answering.",
            ) from None
        except (OSError, ValueError, http.client.HTTPException) as exc:
            if self.cancelled:
                return b""
            raise self._cut(f"{type(exc).__name__}") from None
        self._last_progress = time.monotonic()
        return line

    def _cut(self, why: str) -> LLMStreamCutError:
        return LLMStreamCutError(
            f"the connection to the remote LLM broke in the middle of the answer ({why}, after "
            f"{len(self.text)} characters) — try again; if it keeps happening, restart the Colab bridge."
        )

    def _lines(self) -> Iterator[bytes]:
        first = True
        while not self.cancelled:
            line = self._readline()
            if not line:
                return
            if first and line.strip():
                first = False
                if _looks_html("", line):
                    raise LLMNotAnLLMError("an HTML page instead of the answer stream")
            yield line

    def _json(self, raw: bytes) -> Any:
        try:
            return json.loads(raw)
        except ValueError:
            raise LLMProtocolError(
                f"the remote LLM sent a malformed line ({raw[:80]!r}) after {len(self.text)} characters — "
                "check that llm_api matches the server (ollama or openai)."
            ) from None

    def _server_error(self, err: Any) -> LLMProblem:
        if isinstance(err, dict):
            err = err.get("message", err)
        return LLMProblem(f"the remote LLM reported an error: {str(err)[:200]} — check the Colab notebook's output.",
                          spoken="The language model reported an error.")

    def _ollama_deltas(self) -> Iterator[str]:
        for line in self._lines():
            if not line.strip():
                continue
            obj = self._json(line)
            if not isinstance(obj, dict):
                raise LLMProtocolError(f"the remote LLM sent an unexpected line ({line[:80]!r}).")
            if obj.get("error"):
                raise self._server_error(obj["error"])
            message = obj.get("message") or {}
            yield str(message.get("content") or "") if isinstance(message, dict) else ""
            if obj.get("done"):
                return
        if not self.cancelled:
            raise self._cut("the stream ended before 'done'")

    def _openai_deltas(self) -> Iterator[str]:
        finished = False
        for raw in self._lines():
            line = raw.strip()
            if not line or line.startswith(b":") or not line.startswith(b"data:"):
                continue  # blank separators, comments/keep-alives, event:/id: fields
            data = line[5:].strip()
            if data == b"[DONE]":
                return
            obj = self._json(data)
            if not isinstance(obj, dict):
                raise LLMProtocolError(f"the remote LLM sent an unexpected event ({data[:80]!r}).")
            if obj.get("error"):
                raise self._server_error(obj["error"])
            for choice in obj.get("choices") or []:
                if not isinstance(choice, dict) or choice.get("index", 0) != 0:
                    continue
                delta = choice.get("delta") or choice.get("message") or {}
                if isinstance(delta, dict):
                    yield str(delta.get("content") or "")
                finished = finished or bool(choice.get("finish_reason"))
        if not self.cancelled and not finished:
            raise self._cut("the stream ended before [DONE]")

    def _release(self) -> None:
        if self._closed:
            return
        self._closed = True
        try:
            self._resp.close()
        finally:
            self._conn.close()
