"""Streaming client for the remote LLM: Ollama `/api/chat` (NDJSON) and OpenAI `/v1/chat/completions` (SSE).

    client = LLMClient(settings)               # nothing is sent yet
    stream = client.chat(messages)             # connects, sends; raises LLMProblem on failure
    for delta in stream: ...                   # text deltas as they arrive; raises LLMProblem mid-stream
    stream.close()                             # from any thread: abandon the answer (barge-in)

`llm_api: auto` probes the server once (`/api/tags`, then `/v1/models`) and remembers the answer; an empty
`llm_model` picks the first model the server lists. The API key is sent as a bearer token and never logged.
The wire (connect, one retry, deadline-bounded reads) is brain/transport.py; what each API says,
brain/dialects.py; one answer's bounds and cancel, brain/stream.py.
"""

from __future__ import annotations

import http.client
import json
import logging
import threading
import time
from typing import Any
from urllib.parse import urlsplit

from daemon.brain import dialects, secrets
from daemon.brain.dialects import OPENAI
from daemon.brain.errors import (
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
from daemon.brain.stream import AnswerBounds, ChatStream
from daemon.brain.transport import Opened, Transport, redact_url
from daemon.settings import Settings

log = logging.getLogger(__name__)

MAX_JSON = 8 << 20  # a model list larger than this is not a model list


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
        self._transport = Transport(self.url, self.connect_timeout)
        parts = urlsplit(self.url)
        path = parts.path.rstrip("/")
        # A pasted ".../v1" is the OpenAI base; Ollama's native API lives at the root beside it.
        self._root = path[:-3] if path.endswith("/v1") else path
        if path.endswith("/v1") and self._api is None:
            self._api = OPENAI
        self._valid = parts.scheme in ("http", "https") and bool(parts.hostname)

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
        return dialects.model_names(api, self._get_json(self._root + dialects.MODELS_PATH[api]))

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
        path = self._root + dialects.CHAT_PATH[api]
        log.info("LLM request: %s %s model=%s messages=%d", api, redact_url(self.url), model, len(messages))
        t_request = time.monotonic()
        wait = min(self.first_token_timeout, self.max_answer_s)
        conn, sock, resp = self._send("POST", path, body, wait, stream=True)
        bounds = AnswerBounds(self.url, self.first_token_timeout, self.idle_timeout, self.max_answer_s,
                              self.max_answer_chars)
        return ChatStream(bounds, conn, sock, resp, api, t_request)

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

    def _send(self, method: str, path: str, payload: Any, read_timeout: float, *, stream: bool = False) -> Opened:
        """Send the request (brain/transport.py) and check the reply's status. A reply that is an error (an
        error status, a redirect, an HTML page) closes its connection here: left to the exception's traceback,
        the socket stayed open as long as the exception lived, and in a reference cycle (`_probe` keeps its first
        error) until the garbage collector ran, which a daemon at rest may not do for minutes (issue #22)."""
        body = json.dumps(payload).encode() if payload is not None else None
        conn, sock, resp = self._transport.open(method, path, body, self._headers(body), read_timeout, stream=stream)
        try:
            self._check_status(resp, path)
        except BaseException:
            conn.close()
            raise
        return conn, sock, resp

    def _check_status(self, resp: http.client.HTTPResponse, path: str) -> None:
        """Raise the error a redirect, an error status or an HTML page means (the reply is closed then)."""
        ctype = resp.getheader("Content-Type", "") or ""
        if 300 <= resp.status < 400:
            location = resp.getheader("Location", "") or ""
            resp.close()
            raise dialects.redirect_error(self.url, self._root, resp.status, path, location)
        if resp.status < 400 and "html" not in ctype.lower():
            return
        try:
            body = resp.read(65536)
        except (OSError, http.client.HTTPException):
            body = b""
        resp.close()
        raise dialects.status_error(resp.status, ctype, body, path, self._model)

    def _get_json(self, path: str) -> Any:
        conn, _sock, resp = self._send("GET", path, None, self.probe_timeout)
        try:
            body = resp.read(MAX_JSON)
        except (OSError, http.client.HTTPException) as exc:
            raise LLMStreamCutError(f"the remote LLM at {redact_url(self.url)} broke off its reply ({exc}).") from None
        finally:
            conn.close()
        if dialects.looks_html(resp.getheader("Content-Type", "") or "", body):
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
        for api, path, key in dialects.PROBES:
            try:
                data = self._get_json(self._root + path)
            except (LLMUnreachableError, LLMTimeoutError, LLMNotConfiguredError, LLMRedirectError):
                raise
            except LLMHTTPError as exc:
                if exc.status in (401, 403):
                    raise
                first_error = first_error or exc.with_traceback(None)  # kept without its frames: no cycle
                continue
            except LLMProblem as exc:
                first_error = first_error or exc.with_traceback(None)
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
