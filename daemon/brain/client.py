"""Streaming client for the remote LLM: Ollama `/api/chat` (NDJSON) and OpenAI `/v1/chat/completions` (SSE).

    client = LLMClient(settings)               # nothing is sent yet
    stream = client.chat(messages)             # connects, sends; raises LLMProblem on failure
    for delta in stream: ...                   # text deltas as they arrive; raises LLMProblem mid-stream
    stream.close()                             # from any thread: abandon the answer (barge-in)

`llm_api: auto` probes the server once (`/api/tags`, then `/v1/models`) and remembers the answer; an empty
`llm_model` picks the first model the server lists. Connection errors (refused, reset before an answer) are
retried once; a redirect is reported with the URL to use instead. The API key is sent as a bearer token and
never logged.

Bounds of one answer (settings): the first CONTENT token within llm_first_token_timeout_s of the request, then
at most llm_idle_timeout_s between content tokens (empty deltas and SSE `:` keep-alives do not count), at most
llm_max_answer_s and llm_max_answer_chars in all. Each is a deadline on the whole read, not per recv(): every
recv() of the response gets only the time left (`_DeadlineRaw`), so a server dribbling a line one byte at a
time cannot hold a question past its bound. Hitting the time or length bound yields what arrived, then raises
LLMAnswerCutError. Plain `http.client` on purpose: one socket per request, shut down from another thread to
cancel at once.
"""

from __future__ import annotations

import functools
import http.client
import io
import json
import logging
import re
import socket
import ssl
import threading
import time
from collections.abc import Iterator
from typing import Any, cast
from urllib.parse import urljoin, urlsplit

from daemon.brain import secrets
from daemon.brain.errors import (
    LLMAnswerCutError,
    LLMHTTPError,
    LLMNotAnLLMError,
    LLMNotConfiguredError,
    LLMProblem,
    LLMProtocolError,
    LLMRedirectError,
    LLMStreamCutError,
    LLMTimeoutError,
    LLMUnreachableError,
)
from daemon.settings import Settings

log = logging.getLogger(__name__)

OLLAMA = "ollama"
OPENAI = "openai"
MAX_LINE = 1 << 20
MAX_JSON = 8 << 20  # a model list larger than this is not a model list
RETRY_DELAY_S = 0.3
_RETRYABLE = (ConnectionRefusedError, ConnectionResetError, ConnectionAbortedError, BrokenPipeError,
              http.client.RemoteDisconnected)


def redact_url(url: str) -> str:
    """The URL without any user:password part, for logs and messages."""
    parts = urlsplit(url)
    if parts.username or parts.password:
        return url.replace(parts.netloc, parts.hostname or "", 1) if parts.hostname else url
    return url


_UNPRINTABLE = re.compile(r"[\x00-\x1f\x7f-\x9f\s]+")


class _Clock:
    """The deadline (time.monotonic()) by which the current read must end; None = the socket's own timeout."""

    def __init__(self, deadline: float | None = None) -> None:
        self.deadline = deadline


class _DeadlineRaw(io.RawIOBase):
    """The response's socket as a raw stream: every recv() gets only the time left until the clock's deadline,
    so a read that trickles in byte by byte still ends by the deadline (TimeoutError)."""

    def __init__(self, sock: socket.socket, clock: _Clock) -> None:
        super().__init__()
        self._sock = sock
        self._raw = sock.makefile("rb", buffering=0)  # counts as a user of the socket, like http.client's own
        self._clock = clock

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int | None:
        deadline = self._clock.deadline
        if deadline is not None:
            left = deadline - time.monotonic()
            if left <= 0:
                raise TimeoutError("the read deadline passed")
            self._sock.settimeout(left)
        return self._raw.readinto(buffer)

    def close(self) -> None:
        if not self.closed:
            self._raw.close()
        super().close()


class _Response(http.client.HTTPResponse):
    """An HTTPResponse whose reads (status line, headers and body) all end by `clock.deadline`."""

    def __init__(self, sock: socket.socket, debuglevel: int = 0, method: str | None = None, url: str | None = None,
                 *, clock: _Clock) -> None:
        super().__init__(sock, debuglevel, method, url)
        self.fp.close()  # the stock buffered file, replaced before anything was read from it
        self.fp = io.BufferedReader(_DeadlineRaw(sock, clock))
        self.clock = clock


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


class LLMClient:
    """One remote LLM server. Thread-safe; `chat` may run while `health` polls."""

    def __init__(self, settings: Settings, token: str | None = None) -> None:
        self.url = settings.remote_llm_url.strip().rstrip("/")
        self.connect_timeout = settings.llm_connect_timeout_s
        self.first_token_timeout = settings.llm_first_token_timeout_s
        self.idle_timeout = settings.llm_idle_timeout_s
        self.max_answer_s = settings.llm_max_answer_s
        self.max_answer_chars = settings.llm_max_answer_chars
        self.probe_timeout = max(2 * settings.llm_connect_timeout_s, 5.0)
        self._key = token if token is not None else secrets.get_token(settings)
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
        wait = min(self.first_token_timeout, self.max_answer_s)
        conn, sock, resp = self._send("POST", path, body, wait, stream=True)
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
    ) -> tuple[http.client.HTTPConnection, socket.socket, _Response]:
        """Connect, send and read the status line and headers (all within read_timeout); one retry on
        connection errors; checks the status."""
        body = json.dumps(payload).encode() if payload is not None else None
        where = redact_url(self.url)
        for attempt in (1, 2):
            try:
                conn, sock = self._connect_once(where)
                try:
                    clock = _Clock(time.monotonic() + read_timeout)
                    conn.response_class = functools.partial(_Response, clock=clock)  # type: ignore[assignment]
                    sock.settimeout(read_timeout)
                    conn.request(method, path or "/", body=body, headers=self._headers(body))
                    resp = cast(_Response, conn.getresponse())
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

    def _redirect(self, status: int, path: str, location: str) -> LLMRedirectError:
        """"The URL redirects to X; use that URL", X being the new base URL (the API path taken off)."""
        location = _UNPRINTABLE.sub(" ", location).strip()[:500]
        parts = urlsplit(self.url)
        here = f"{parts.scheme}://{parts.netloc.rpartition('@')[2]}{path}"  # without any user:password
        target = urljoin(here, location.split()[0]) if location else ""
        if not target:
            return LLMRedirectError(
                f"the remote LLM URL {redact_url(self.url)} answers with a redirect (HTTP {status}) without saying "
                "where to — check remote_llm_url.", "",
            )
        base = target.split("#")[0].split("?")[0]
        suffix = path[len(self._root):] if path.startswith(self._root) else path
        if suffix and base.endswith(suffix):
            base = base[: -len(suffix)]
        base = redact_url(base.rstrip("/"))
        return LLMRedirectError(
            f"the remote LLM URL redirects to {base} (HTTP {status}); use that URL: set remote_llm_url to {base}.",
            base,
        )

    def _check_status(self, resp: http.client.HTTPResponse, path: str) -> None:
        ctype = resp.getheader("Content-Type", "") or ""
        if 300 <= resp.status < 400:
            location = resp.getheader("Location", "") or ""
            resp.close()
            raise self._redirect(resp.status, path, location)
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
            body = resp.read(MAX_JSON)
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
            except (LLMUnreachableError, LLMTimeoutError, LLMNotConfiguredError, LLMRedirectError):
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

    `t_request` / `t_first_token` are `time.monotonic()` stamps (the first token is the first with content);
    `text` is everything received so far; `cut` says the answer hit its time or length bound.
    """

    def __init__(self, client: LLMClient, conn: http.client.HTTPConnection, sock: socket.socket,
                 resp: _Response, api: str, t_request: float) -> None:
        self._client = client
        self._conn = conn
        self._sock = sock
        self._resp = resp
        self._clock = resp.clock
        self.api = api
        self.t_request = t_request
        self.t_first_token: float | None = None
        self.t_end: float | None = None
        self.cancelled = False
        self.cut = False
        self._parts: list[str] = []
        self._chars = 0
        self._t_content = t_request  # the latest token with content
        self._closed = False

    @property
    def text(self) -> str:
        """Everything received so far."""
        if len(self._parts) > 1:
            self._parts = ["".join(self._parts)]
        return self._parts[0] if self._parts else ""

    def __iter__(self) -> Iterator[str]:
        try:
            parse = self._ollama_deltas if self.api == OLLAMA else self._openai_deltas
            limit = self._client.max_answer_chars
            for delta in parse():
                if self.cancelled:
                    return
                if not delta:
                    continue  # empty deltas are no progress: the idle deadline stays where it was
                now = time.monotonic()
                if self.t_first_token is None:
                    self.t_first_token = now
                self._t_content = now
                room = limit - self._chars
                if len(delta) > room:
                    if room > 0:
                        self._add(delta[:room])
                        yield delta[:room]
                    self.cut = True
                    raise LLMAnswerCutError(
                        f"the answer was longer than llm_max_answer_chars ({limit} characters) and was cut there "
                        "— raise llm_max_answer_chars for longer answers.",
                        spoken="The answer was too long, so I stopped it there.",
                    )
                self._add(delta)
                yield delta
                if now - self.t_request > self._client.max_answer_s:
                    raise self._timeout("total")
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
    def _add(self, delta: str) -> None:
        self._parts.append(delta)
        self._chars += len(delta)

    def _deadline(self) -> tuple[float, str]:
        """When the current read must end, and which bound that is."""
        c = self._client
        total = self.t_request + c.max_answer_s
        if self.t_first_token is None:
            deadline, kind = self.t_request + c.first_token_timeout, "first"
        else:
            deadline, kind = self._t_content + c.idle_timeout, "idle"
        return (total, "total") if total <= deadline else (deadline, kind)

    def _timeout(self, kind: str) -> LLMProblem:
        c = self._client
        where = redact_url(c.url)
        if kind == "first" or (kind == "total" and self.t_first_token is None):
            limit = c.first_token_timeout if kind == "first" else c.max_answer_s
            key = "llm_first_token_timeout_s" if kind == "first" else "llm_max_answer_s"
            return LLMTimeoutError(
                f"the remote LLM at {where} did not start answering within {limit:g} s — it may be loading "
                f"the model; try again, or raise {key}."
            )
        if kind == "idle":
            return LLMTimeoutError(
                f"the remote LLM stopped sending for {c.idle_timeout:g} s in the middle of the answer — try again; "
                "raise llm_idle_timeout_s if the server is just slow.",
                spoken="The language model stopped answering.",
            )
        self.cut = True
        return LLMAnswerCutError(
            f"the answer took longer than llm_max_answer_s ({c.max_answer_s:g} s) and was cut after "
            f"{self._chars} characters — raise llm_max_answer_s for longer answers.",
            spoken="The answer took too long, so I stopped it there.",
        )

    def _readline(self) -> bytes:
        deadline, kind = self._deadline()
        self._clock.deadline = deadline
        try:
            line = self._resp.readline(MAX_LINE)
        except TimeoutError:
            if self.cancelled:
                return b""
            raise self._timeout(kind) from None
        except (OSError, ValueError, http.client.HTTPException) as exc:
            if self.cancelled:
                return b""
            raise self._cut(f"{type(exc).__name__}") from None
        return line

    def _cut(self, why: str) -> LLMStreamCutError:
        return LLMStreamCutError(
            f"the connection to the remote LLM broke in the middle of the answer ({why}, after "
            f"{self._chars} characters) — try again; if it keeps happening, restart the Colab bridge."
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
                f"the remote LLM sent a malformed line ({raw[:80]!r}) after {self._chars} characters — "
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
