"""The tray's "Set up the LLM…" without its window: what was typed (server address, token, model) becomes a
checked target, is probed, and is saved exactly as `connect` saves a bridge link.

    t = target("http://localhost:11434", "", "", current_settings)  # BadInputError: one sentence what to do
    result = probe_target(t, current_settings)                       # ProbeResult, or BridgeConnectError
    saved = save_target(t, settings_path, probed=result)             # ConnectResult (one atomic write)

The address is a plain http(s) URL (Ollama's http://HOST:11434, an OpenAI-compatible http://HOST:8080/v1) or a
pasted `voxtray://connect?...` link, whose URL, token and model then win. The token is optional for a plain URL;
left empty for the address already saved, the stored token is kept (never shown, never sent elsewhere).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from daemon.brain import secrets
from daemon.brain.connect import ConnectResult, ProbeResult, connect, probe
from daemon.brain.link import BridgeLink, is_bridge_url, parse_link, validate_model, validate_token, validate_url
from daemon.errors import BadInputError
from daemon.settings import Settings

HOW = ("Type the server's address, such as http://localhost:11434 (Ollama) or http://HOST:8080/v1 "
       "(OpenAI-compatible, llama.cpp), or paste the voxtray://connect?... line the Colab notebook printed.")
TOKEN_HOW = "Type the API key the server expects, or leave the token empty."
MODEL_HOW = "Pick a model from the list after Test, or leave it empty to use the server's first."


@dataclass(frozen=True)
class Target:
    """A checked server to probe and save. The token never appears in repr()."""

    url: str
    token: str = field(repr=False, default="")
    model: str = ""
    bridge: bool = False  # a Colab bridge (from its link, or a tunnel URL): failures are worded for it
    keep_token: bool = False  # the token is the one already stored for this URL

    @property
    def link(self) -> BridgeLink:
        return BridgeLink(self.url, self.token, self.model)

    @property
    def key(self) -> tuple[str, str, str]:
        """What a probe depends on: a test of these values stands for a save of them."""
        return (self.url, self.token, self.model)


def is_link(text: str) -> bool:
    return text.strip().strip("'\"<>").strip().lower().startswith("voxtray:")


def read_link(text: str) -> BridgeLink:
    """A pasted voxtray://connect?... line as its URL, token and model (BadInputError with the fix)."""
    return parse_link(text)


def target(address: str, token: str, model: str, current: Settings) -> Target:
    """Check what was typed. A voxtray:// link brings its own URL, token and model (a model typed beside it wins
    over none in the link); a plain URL takes the typed token, or the stored one when the URL is the saved one."""
    address, token, model = address.strip(), token.strip(), model.strip()
    if not address:
        raise BadInputError(f"no server address given. {HOW}")
    if is_link(address):
        link = parse_link(address)
        return Target(link.url, link.token, link.model or validate_model(model, MODEL_HOW), bridge=True)
    url = validate_url(address, HOW, "the server address")
    model = validate_model(model, MODEL_HOW)
    keep = False
    if token:
        token = validate_token(token, TOKEN_HOW, min_chars=1)
    elif url == current.remote_llm_url.strip().rstrip("/"):
        token = secrets.get_token(current)
        keep = bool(token)
    return Target(url, token, model, bridge=is_bridge_url(url), keep_token=keep)


def probe_target(t: Target, current: Settings) -> ProbeResult:
    """Probe the target (health, model list, one tiny answer); BridgeConnectError says what to do."""
    return probe(t.url, t.token, current, t.model, bridge=t.bridge)


def save_target(t: Target, settings_path: Path, probed: ProbeResult | None = None) -> ConnectResult:
    """Probe (unless `probed` is this target's probe) and save it as `connect` does: settings untouched on failure."""
    return connect(t.link, settings_path, probed=probed, bridge=t.bridge, keep_token=t.keep_token)
