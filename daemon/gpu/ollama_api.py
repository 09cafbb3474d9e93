"""The two calls of the local Ollama API the guard needs: list loaded models, unload one (keep_alive 0)."""

from __future__ import annotations

import json
import logging
import urllib.error
import urllib.request
from dataclasses import dataclass
from typing import Any

log = logging.getLogger(__name__)

# Never send requests for the local Ollama through a user's HTTP proxy.
_OPENER = urllib.request.build_opener(urllib.request.ProxyHandler({}))


class OllamaApiError(Exception):
    """The Ollama API could not be reached or gave a bad answer (the message says which)."""


@dataclass(frozen=True)
class LoadedModel:
    """A model Ollama holds in memory (`/api/ps`); size_vram_mb is what it occupies on the GPU."""

    name: str
    size_vram_mb: int


def _request(url: str, payload: dict[str, Any] | None, timeout: float) -> Any:
    data = json.dumps(payload).encode() if payload is not None else None
    req = urllib.request.Request(url, data=data, method="POST" if data is not None else "GET")
    if data is not None:
        req.add_header("Content-Type", "application/json")
    try:
        with _OPENER.open(req, timeout=timeout) as resp:
            body = resp.read()
    except urllib.error.HTTPError as exc:
        raise OllamaApiError(f"{url} answered HTTP {exc.code}") from None
    except (urllib.error.URLError, OSError) as exc:
        reason = getattr(exc, "reason", exc)
        raise OllamaApiError(f"Ollama is not reachable at {url} ({reason})") from None
    try:
        return json.loads(body.decode("utf-8").strip().splitlines()[-1]) if body.strip() else {}
    except (ValueError, UnicodeDecodeError, IndexError):
        raise OllamaApiError(f"{url} did not answer JSON (is ollama_url really the Ollama API?)") from None


def loaded_models(base_url: str, timeout: float = 2.0) -> list[LoadedModel]:
    """GET /api/ps: the models Ollama has loaded now."""
    answer = _request(base_url.rstrip("/") + "/api/ps", None, timeout)
    models = answer.get("models") if isinstance(answer, dict) else None
    if not isinstance(models, list):
        raise OllamaApiError(f"{base_url}/api/ps did not list models")
    out = []
    for item in models:
        if not isinstance(item, dict):
            continue
        name = item.get("model") or item.get("name")
        if isinstance(name, str) and name:
            out.append(LoadedModel(name, int(item.get("size_vram") or 0) // (1024 * 1024)))
    return out


def unload(base_url: str, model: str, timeout: float = 10.0) -> None:
    """POST /api/generate {"model": m, "keep_alive": 0}: Ollama unloads the model right away."""
    _request(base_url.rstrip("/") + "/api/generate", {"model": model, "keep_alive": 0}, timeout)
    log.info("asked Ollama to unload %s", model)
