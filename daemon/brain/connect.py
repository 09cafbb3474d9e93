"""Connect VoxTray to a Colab bridge (or any Ollama/OpenAI server): probe it, then save what works.

    result = connect_link("voxtray://connect?url=...&token=...", settings_path)
    print(result.summary)   # "Ollama 0.6.2, model llama3.2:3b, first token in 0.6 s"

The probe is: health (the API and its version), the model list, and one tiny streamed completion whose first
token is timed. Only when all three work are remote_llm_url / llm_api / llm_model saved (one atomic write) and
the token stored (daemon.brain.secrets). On any failure the settings file is not touched.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from pathlib import Path

from daemon import settings as settings_mod
from daemon.brain import secrets
from daemon.brain.client import LLMClient
from daemon.brain.dialects import OLLAMA
from daemon.brain.errors import (
    LLMNotAnLLMError,
    LLMProblem,
    LLMProtocolError,
    LLMRedirectError,
    LLMTimeoutError,
    LLMUnreachableError,
)
from daemon.brain.link import BRIDGE_DOWN, TOKEN_REJECTED, BridgeLink, describe_bridge_failure, parse_link
from daemon.errors import LLMError
from daemon.fsio import file_lock
from daemon.net import HttpError, request_json
from daemon.settings import Settings

log = logging.getLogger(__name__)

PROBE_PROMPT = "Reply with the single word: ready."
VERSION_TIMEOUT_S = 5.0


class BridgeConnectError(LLMError):
    """The server behind a connect link did not pass the probe (settings untouched)."""


@dataclass(frozen=True)
class ProbeResult:
    api: str  # "ollama" | "openai"
    server: str  # "Ollama 0.6.2" / "OpenAI-compatible server"
    models: list[str]
    model: str
    first_token_s: float
    first_token: str

    @property
    def summary(self) -> str:
        secs = f"{self.first_token_s:.2f}" if self.first_token_s < 1 else f"{self.first_token_s:.1f}"
        return f"{self.server}, model {self.model}, first token in {secs} s"


@dataclass(frozen=True)
class ConnectResult:
    probe: ProbeResult
    url: str
    token_stored_in: str
    settings: Settings

    @property
    def summary(self) -> str:
        return self.probe.summary


def _fail(exc: BaseException, url: str, bridge: bool = True) -> BridgeConnectError:
    """One message: what went wrong (bridge down / token rejected / server said) and the detail; for a server of
    the user's own (`bridge` False) the same in its words: no notebook to restart there."""
    if not bridge:
        return BridgeConnectError(_server_failure(exc, url))
    reason = describe_bridge_failure(exc)
    detail = str(exc)
    if reason == TOKEN_REJECTED:
        return BridgeConnectError(f"could not connect to {url}: {reason}.")
    if reason == BRIDGE_DOWN:
        return BridgeConnectError(f"could not connect to {url}: {reason}. (Details: {detail[:300]})")
    return BridgeConnectError(f"could not connect to {url}: {detail[:400]}")


def _server_failure(exc: BaseException, url: str) -> str:
    """One sentence saying what to do when a plain server address (Ollama, llama.cpp, ...) fails the probe."""
    reason = describe_bridge_failure(exc)
    status = getattr(exc, "status", None)
    if reason == TOKEN_REJECTED or status == 403:
        return (f"the server at {url} rejected the token — type the API key it expects as the token "
                "(or leave the token empty if the server needs none).")
    if isinstance(exc, LLMRedirectError):
        where = exc.location or "another address"
        return f"{url} redirects to {where[:200]} — type that address instead."
    if isinstance(exc, LLMTimeoutError):
        return f"the server at {url} did not answer in time — it may be loading the model; try again in a minute."
    if isinstance(exc, LLMUnreachableError):
        return (f"nothing answers at {url} — check the address and the port, and that the server is running "
                "(for Ollama: ollama serve).")
    if isinstance(exc, (LLMNotAnLLMError, LLMProtocolError)) or reason == BRIDGE_DOWN:
        return (f"{url} answers, but not as Ollama or an OpenAI-compatible server — check the address "
                "(Ollama: http://HOST:11434; OpenAI-compatible servers usually end in /v1).")
    return f"could not use the server at {url}: {str(exc)[:400]}"


def _ollama_version(url: str, token: str, headers: dict[str, str]) -> str:
    """Ollama's version from /api/version ('' when it has none); never raises."""
    root = url.rstrip("/")
    root = root[:-3] if root.endswith("/v1") else root
    auth = {"Authorization": f"Bearer {token}"} if token else {}
    try:
        reply = request_json("GET", root + "/api/version", headers={**headers, **auth}, timeout=VERSION_TIMEOUT_S)
    except HttpError:
        return ""
    data = reply.data if reply.status == 200 else {}
    return str(data.get("version", "")) if isinstance(data, dict) else ""


def _pick_model(wanted: str, configured: str, models: list[str], url: str = "", bridge: bool = True) -> str:
    def present(name: str) -> str:
        for m in models:
            if m in (name, f"{name}:latest"):
                return m
        return ""

    if wanted:
        found = present(wanted)
        if not found:
            have = ", ".join(models[:8])
            if not bridge:
                raise BridgeConnectError(f"the server at {url} has no model '{wanted}' (it has: {have}) — pick one "
                                         "of those, or leave the model empty to use the first.")
            raise BridgeConnectError(
                f"the bridge has no model '{wanted}' (it has: {have}) — wait until the notebook says the model "
                "is ready, or restart it with the model you want."
            )
        return found
    return present(configured) if configured and present(configured) else models[0]


def probe(url: str, token: str, settings: Settings, model: str = "", *, bridge: bool = True) -> ProbeResult:
    """Health + model list + one tiny streamed completion; raises BridgeConnectError with one clear message
    (worded for the Colab bridge, or with `bridge=False` for a server of the user's own)."""
    trial = settings.model_copy(update={"remote_llm_url": url, "llm_api": "auto", "llm_model": ""})
    client = LLMClient(trial, token=token)
    try:
        api = client.detect()
        models = client.list_models()
    except LLMProblem as exc:
        raise _fail(exc, url, bridge) from None
    if not models:
        then = ("wait until the notebook has pulled the model, then try again" if bridge
                else "pull one there first (for Ollama: ollama pull llama3.2), then try again")
        raise BridgeConnectError(f"the server at {url} lists no models — {then}.")
    chosen = _pick_model(model, settings.llm_model.strip(), models, url, bridge)
    chat_client = LLMClient(trial.model_copy(update={"llm_api": api, "llm_model": chosen}), token=token)
    first = ""
    try:
        stream = chat_client.chat([{"role": "user", "content": PROBE_PROMPT}])
        try:
            for delta in stream:
                if delta.strip():
                    first = delta
                    break
        finally:
            stream.close()
    except LLMProblem as exc:
        raise _fail(exc, url, bridge) from None
    if not first or stream.t_first_token is None:
        where = "the notebook's output" if bridge else "the server's log"
        raise BridgeConnectError(f"the model {chosen} at {url} answered with no text — check {where}.")
    elapsed = stream.t_first_token - stream.t_request
    if api == OLLAMA:
        version = _ollama_version(url, token, dict(settings.llm_headers))
        server = f"Ollama {version}" if version else "Ollama"
    else:
        server = "OpenAI-compatible server"
    result = ProbeResult(api, server, models, chosen, elapsed, first)
    log.info("probe of %s: %s", url, result.summary)
    return result


def connect(link: BridgeLink, settings_path: Path, *, probed: ProbeResult | None = None, bridge: bool = True,
            keep_token: bool = False) -> ConnectResult:
    """Probe the link's server (unless `probed` is the probe of exactly this link); on success save url/api/model
    and the token (`keep_token`: the stored one is this link's, leave it; an empty token forgets the stored one).
    Settings untouched on failure."""
    current = settings_mod.load(settings_path, check=False)  # a broken file fails here, before any probing
    started = time.monotonic()
    result = probed or probe(link.url, link.token, current, link.model, bridge=bridge)
    log.info("LLM probe took %.2f s", time.monotonic() - started)
    # Pin the model only when one was asked for (the link's, or a configured one the server lacks).
    model = result.model if (link.model or current.llm_model) else ""
    changes: dict[str, str] = {"remote_llm_url": link.url, "llm_api": result.api, "llm_model": model}
    with file_lock(settings_path):  # the URL and its token are saved together: a parallel connect cannot pair them
        if keep_token:
            where = "unchanged"
        elif link.token:
            where = secrets.set_token(settings_path, link.token)
        else:
            secrets.clear_token()
            changes["llm_api_key"] = ""
            where = "nowhere (no token)"
        new = settings_mod.update(settings_path, **changes)
    return ConnectResult(result, link.url, where, new)


def connect_link(text: str, settings_path: Path) -> ConnectResult:
    """Parse a pasted link (BadInputError on a bad one), then `connect`."""
    return connect(parse_link(text), settings_path)
