"""One small JSON-over-HTTP helper for the short requests VoxTray makes (Ollama's API, the bridge's version).

Plain `http.client`: no proxy (these requests go to a local Ollama or straight to the user's own tunnel), one
connection per request, a hard timeout. The streaming LLM client (brain/transport.py) builds on the same module
with its own deadline-bounded reads, because an answer stream must be cancellable mid-read and bounded in
total time, which no generic helper gives.
"""

from __future__ import annotations

import http.client
import json
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

MAX_BODY = 1 << 20


class HttpError(Exception):
    """The server could not be reached, or did not answer JSON; the message says which."""


@dataclass(frozen=True)
class JsonReply:
    status: int
    data: Any  # the parsed JSON ({} for an empty body)


def request_json(method: str, url: str, payload: Any = None, *, headers: dict[str, str] | None = None,
                 timeout: float = 5.0, ndjson_last: bool = False) -> JsonReply:
    """`method url` with an optional JSON body; the reply parsed as JSON (its last line when `ndjson_last`).
    Raises HttpError when the server cannot be reached or the body is not JSON."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise HttpError(f"{url} is not an http(s) URL")
    cls = http.client.HTTPSConnection if parts.scheme == "https" else http.client.HTTPConnection
    path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    body = json.dumps(payload).encode() if payload is not None else None
    sent = dict(headers or {})
    if body is not None:
        sent.setdefault("Content-Type", "application/json")
    conn = cls(parts.hostname, parts.port, timeout=timeout)
    try:
        conn.request(method, path, body=body, headers=sent)
        resp = conn.getresponse()
        raw = resp.read(MAX_BODY)
        status = resp.status
    except (OSError, http.client.HTTPException) as exc:
        raise HttpError(f"{parts.scheme}://{parts.netloc} is not reachable ({exc})") from None
    finally:
        conn.close()
    text = raw.decode("utf-8", "replace").strip()
    if ndjson_last and text:
        text = text.splitlines()[-1]
    try:
        return JsonReply(status, json.loads(text) if text else {})
    except ValueError:
        raise HttpError(f"{url} did not answer JSON (HTTP {status})") from None
