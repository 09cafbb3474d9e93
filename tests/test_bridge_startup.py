"""colab/bridge.py's start-up as a child process, and the token's storage: what a user sees when a part is
missing. (Installing Ollama and opening a real tunnel need Colab and the internet; those steps are the
`install_ollama`/`ensure_tunnel_binary` calls this test does not reach.)"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from daemon import settings as settings_mod
from daemon.brain import secrets
from daemon.brain.link import parse_link
from daemon.settings import Settings
from tests.fixtures.bridge import BRIDGE_PY, free_port_url, load_bridge_module, start_bridge
from tests.fixtures.ollama import MODEL, OllamaStandIn


def test_bridge_prints_one_pasteable_link_with_url_token_and_model(ollama_standin: OllamaStandIn) -> None:
    bridge = start_bridge(ollama_standin.url, "--model", MODEL)
    try:
        link = parse_link(bridge.link)
        assert (link.url, link.token, link.model) == (bridge.url, bridge.token, MODEL)
        assert sum(bridge.token in line for line in bridge.output) == 2  # the link and the plain URL + token
        assert any("LLM server: Ollama 0.6.2" in line for line in bridge.output)
    finally:
        bridge.stop()
    assert bridge.process.returncode is not None


def test_each_run_makes_a_new_token(ollama_standin: OllamaStandIn) -> None:
    first, second = start_bridge(ollama_standin.url), start_bridge(ollama_standin.url)
    try:
        assert first.token != second.token
    finally:
        first.stop()
        second.stop()


def test_an_upstream_that_never_answers_stops_the_bridge_with_a_clear_error() -> None:
    dead = free_port_url()
    done = subprocess.run([sys.executable, str(BRIDGE_PY), "--upstream", dead, "--tunnel", "none",
                           "--start-timeout", "1"], capture_output=True, text=True, timeout=60)
    assert done.returncode == 1
    assert f"ERROR: the ollama server at {dead} did not answer within 1 s" in done.stderr


def test_ngrok_without_an_authtoken_is_refused_before_anything_starts(
    ollama_standin: OllamaStandIn, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("NGROK_AUTHTOKEN", raising=False)
    done = subprocess.run([sys.executable, str(BRIDGE_PY), "--upstream", ollama_standin.url, "--tunnel", "ngrok",
                           "--port", "0"], capture_output=True, text=True, timeout=60)
    assert done.returncode == 1
    assert "ngrok needs your authtoken" in done.stderr


def test_a_keyring_that_refuses_the_token_falls_back_to_the_settings_file(
    tmp_path: Path, memory_keyring: dict[Any, str], monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    import keyring

    def locked(*_: Any) -> None:
        raise keyring.errors.KeyringLocked("collection is locked")

    monkeypatch.setattr(keyring.get_keyring(), "set_password", locked)
    path = tmp_path / "settings.json"
    settings_mod.save(Settings(), path)
    where = secrets.set_token(path, "T" * 40)
    assert "plain text" in where and str(path) in where
    assert settings_mod.load(path, check=False).llm_api_key == "T" * 40
    assert "T" * 40 not in caplog.text


def test_get_token_prefers_the_settings_file_then_the_keyring_then_the_environment(
    memory_keyring: dict[Any, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("VOXTRAY_LLM_API_KEY", "from-env")
    assert secrets.get_token(Settings()) == "from-env"
    memory_keyring[("voxtray", "llm_api_key")] = "from-keyring"
    assert secrets.get_token(Settings()) == "from-keyring"
    assert secrets.get_token(Settings(llm_api_key="from-file")) == "from-file"


def test_model_pull_shows_progress_per_layer_then_loads_the_model(
    ollama_standin: OllamaStandIn, capsys: pytest.CaptureFixture[str]
) -> None:
    bridge = load_bridge_module()
    ollama_standin.reset()
    bridge.pull_model(ollama_standin.url, MODEL)
    bridge.warm_model(ollama_standin.url, MODEL)
    out = capsys.readouterr().out
    assert out.count("% of 2.0 GB") == 5 and out.count("% of 0.0 GB") == 5  # 0..100 % for each layer
    assert f"{MODEL} is ready" in out
    generate = [json.loads(r[3]) for r in ollama_standin.requests if r[1] == "/api/generate"]
    assert generate == [{"model": MODEL, "prompt": "", "keep_alive": -1}]


def test_a_model_ollama_cannot_pull_is_a_clear_error(ollama_standin: OllamaStandIn) -> None:
    bridge = load_bridge_module()
    with pytest.raises(bridge.BridgeError, match="Ollama could not pull 'no-such-model': pull model manifest"):
        bridge.pull_model(ollama_standin.url, "no-such-model")
