"""The two calls of the local Ollama API the guard needs: list loaded models, unload one (keep_alive 0)."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

from daemon.net import HttpError, request_json

log = logging.getLogger(__name__)

class OllamaApiError(Exception):
    """The Ollama API could not be reached or gave a bad answer (the message says which)."""


@dataclass(frozen=True)
class LoadedModel:
    """A model Ollama holds in memory (`/api/ps`); size_vram_mb is what it occupies on the GPU."""

    name: str
    size_vram_mb: int


def _request(url: str, payload: dict[str, Any] | None, timeout: float) -> Any:
    try:
        reply = request_json("POST" if payload is not None else "GET", url, payload, timeout=timeout, ndjson_last=True)
    except HttpError as exc:
        raise OllamaApiError(f"Ollama is not reachable at {url} ({exc})") from None
    if reply.status != 200:
        raise OllamaApiError(f"{url} answered HTTP {reply.status}")
    return reply.data


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
