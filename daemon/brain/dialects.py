"""What the two LLM APIs say, as pure functions: no sockets, no clocks.

- the answer stream: Ollama `/api/chat` NDJSON lines and OpenAI `/v1/chat/completions` SSE events -> text deltas;
- the model list and the API probe (`/api/tags` answers {"models": [...]}, `/v1/models` {"data": [...]});
- an HTTP status, redirect or error body -> the LLM error that explains it.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Iterator
from typing import Any
from urllib.parse import urljoin, urlsplit

from daemon.brain.errors import LLMHTTPError, LLMNotAnLLMError, LLMProblem, LLMProtocolError, LLMRedirectError
from daemon.brain.transport import redact_url

OLLAMA = "ollama"
OPENAI = "openai"
CHAT_PATH = {OLLAMA: "/api/chat", OPENAI: "/v1/chat/completions"}
# (api, model-list path, the key its JSON answer has): the probe tries them in this order.
PROBES = ((OLLAMA, "/api/tags", "models"), (OPENAI, "/v1/models", "data"))
MODELS_PATH = {api: path for api, path, _key in PROBES}

_UNPRINTABLE = re.compile(r"[\x00-\x1f\x7f-\x9f\s]+")


class EndedEarly(Exception):
    """The stream ended before the dialect's end marker; `why` says which (the stream reports the cut)."""

    def __init__(self, why: str) -> None:
        super().__init__(why)
        self.why = why


class Malformed(Exception):
    """A stream line that is not JSON; `raw` is the line (the stream reports it with its position)."""

    def __init__(self, raw: bytes) -> None:
        super().__init__(raw[:80])
        self.raw = raw


def model_names(api: str, data: Any) -> list[str]:
    """Model names in a model-list answer of `api`, in the server's order."""
    if api == OLLAMA:
        models = data.get("models") if isinstance(data, dict) else None
        return [str(m.get("name") or m.get("model")) for m in models or [] if isinstance(m, dict)]
    items = data.get("data") if isinstance(data, dict) else None
    return [str(m.get("id")) for m in items or [] if isinstance(m, dict)]


def looks_html(content_type: str, body: bytes) -> bool:
    """An HTML page (dead tunnel, login wall) rather than an API answer."""
    head = body.lstrip()[:64].lower()
    return "html" in content_type.lower() or head.startswith((b"<!doctype", b"<html", b"<head", b"<body"))


def error_detail(body: bytes) -> str:
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


def redirect_error(url: str, root: str, status: int, path: str, location: str) -> LLMRedirectError:
    """"The URL redirects to X; use that URL", X being the new base URL (the API path taken off)."""
    location = _UNPRINTABLE.sub(" ", location).strip()[:500]
    parts = urlsplit(url)
    here = f"{parts.scheme}://{parts.netloc.rpartition('@')[2]}{path}"  # without any user:password
    target = urljoin(here, location.split()[0]) if location else ""
    if not target:
        return LLMRedirectError(
            f"the remote LLM URL {redact_url(url)} answers with a redirect (HTTP {status}) without saying "
            "where to — check remote_llm_url.", "",
        )
    base = target.split("#")[0].split("?")[0]
    suffix = path[len(root):] if path.startswith(root) else path
    if suffix and base.endswith(suffix):
        base = base[: -len(suffix)]
    base = redact_url(base.rstrip("/"))
    return LLMRedirectError(
        f"the remote LLM URL redirects to {base} (HTTP {status}); use that URL: set remote_llm_url to {base}.",
        base,
    )


def status_error(status: int, content_type: str, body: bytes, path: str, model: str | None) -> LLMProblem:
    """The error for an HTTP error status (or an HTML page) at `path`, `body` being the start of the reply."""
    if looks_html(content_type, body):
        return LLMNotAnLLMError(f"HTTP {status}, an HTML page at {path}")
    detail = error_detail(body)
    if status in (401, 403):
        return LLMHTTPError(
            f"the remote LLM refused the request (HTTP {status}: {detail}) — set llm_api_key or the "
            "VOXTRAY_LLM_API_KEY environment variable to the bridge's key.",
            status, spoken="The language model refused my key.",
        )
    if status == 404 and "model" in detail.lower():
        return LLMHTTPError(
            f"the remote LLM has no model '{model}' (HTTP 404: {detail}) — set llm_model to one it "
            "lists, or leave it empty to use the first.",
            status, spoken="The language model was not found on the server.",
        )
    if status == 404:
        return LLMHTTPError(
            f"the remote LLM has no {path} (HTTP 404: {detail}) — check remote_llm_url and llm_api "
            "(ollama or openai).", status,
        )
    return LLMHTTPError(
        f"the remote LLM failed (HTTP {status}: {detail}) — check the Colab notebook's (or server's) "
        "output, then try again.", status,
    )


def server_error(err: Any) -> LLMProblem:
    """An error the server reported inside the stream."""
    if isinstance(err, dict):
        err = err.get("message", err)
    return LLMProblem(f"the remote LLM reported an error: {str(err)[:200]} — check the Colab notebook's output.",
                      spoken="The language model reported an error.")


def _json(raw: bytes) -> Any:
    try:
        return json.loads(raw)
    except ValueError:
        raise Malformed(raw) from None


def ollama_deltas(lines: Iterable[bytes]) -> Iterator[str]:
    """Text deltas of an Ollama NDJSON stream; EndedEarly if the lines end before `"done": true`."""
    for line in lines:
        if not line.strip():
            continue
        obj = _json(line)
        if not isinstance(obj, dict):
            raise LLMProtocolError(f"the remote LLM sent an unexpected line ({line[:80]!r}).")
        if obj.get("error"):
            raise server_error(obj["error"])
        message = obj.get("message") or {}
        yield str(message.get("content") or "") if isinstance(message, dict) else ""
        if obj.get("done"):
            return
    raise EndedEarly("the stream ended before 'done'")


def openai_deltas(lines: Iterable[bytes]) -> Iterator[str]:
    """Text deltas of an OpenAI SSE stream (choice 0); EndedEarly if it ends without [DONE] or a finish_reason."""
    finished = False
    for raw in lines:
        line = raw.strip()
        if not line or line.startswith(b":") or not line.startswith(b"data:"):
            continue  # blank separators, comments/keep-alives, event:/id: fields
        data = line[5:].strip()
        if data == b"[DONE]":
            return
        obj = _json(data)
        if not isinstance(obj, dict):
            raise LLMProtocolError(f"the remote LLM sent an unexpected event ({data[:80]!r}).")
        if obj.get("error"):
            raise server_error(obj["error"])
        for choice in obj.get("choices") or []:
            if not isinstance(choice, dict) or choice.get("index", 0) != 0:
                continue
            delta = choice.get("delta") or choice.get("message") or {}
            if isinstance(delta, dict):
                yield str(delta.get("content") or "")
            finished = finished or bool(choice.get("finish_reason"))
    if not finished:
        raise EndedEarly("the stream ended before [DONE]")


DELTAS = {OLLAMA: ollama_deltas, OPENAI: openai_deltas}
