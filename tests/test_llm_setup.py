"""The "Set up the LLM…" logic without its window (daemon/brain/setup.py and the Commands the window calls): what
was typed becomes a checked target, is probed for real, and is saved as `connect` saves a bridge link.

Real: the probe (health, model list, one streamed answer) against the loopback Ollama stand-in
(tests/fixtures/ollama.py) and the OpenAI-compatible one (tests/fixtures/llm_server.py), the settings file and its
atomic writes, Commands with LiveSettings and the StatusBus. The OS keyring is the in-memory backend or none
(no Secret Service runs here), as in test_connect_cli.py.
"""

from __future__ import annotations

import threading
import time
from pathlib import Path

import pytest

from daemon import settings as settings_mod
from daemon.brain import secrets
from daemon.brain.connect import BridgeConnectError
from daemon.brain.link import make_link
from daemon.brain.setup import probe_target, save_target, target
from daemon.commands import Commands
from daemon.desktop.llm_dialog import LLMValues
from daemon.errors import BadInputError
from daemon.live import LiveSettings
from daemon.settings import Settings
from daemon.status import StatusBus
from tests.fixtures.llm_server import refused_url
from tests.fixtures.ollama import MODEL, OLLAMA_VERSION, OllamaStandIn
from tests.waits import until

TOKEN = "gYwRkYV3t3yRc6_Lc_-ynPuTj_NQmd-Z8bZm060abmE"


@pytest.fixture
def settings_file(tmp_path: Path) -> Path:
    path = tmp_path / "settings.json"
    settings_mod.save(Settings(remote_llm_url="http://old.example:11434", llm_model=""), path)
    return path


def current(path: Path) -> Settings:
    return settings_mod.load(path, check=False)


def test_a_plain_ollama_url_is_probed_and_saved_in_one_atomic_write(
        settings_file: Path, ollama_api: OllamaStandIn, no_keyring: None) -> None:
    t = target(f"  {ollama_api.url}/ ", "", "", current(settings_file))
    assert (t.url, t.token, t.bridge) == (ollama_api.url, "", False)
    probed = probe_target(t, current(settings_file))
    assert probed.summary.startswith(f"Ollama {OLLAMA_VERSION}, model {MODEL}, first token in")
    assert probed.models == [MODEL]
    assert not any("Authorization" in headers for _m, _p, headers, _b in ollama_api.requests), "no token: none sent"
    result = save_target(t, settings_file, probed)
    saved = current(settings_file)
    assert (saved.remote_llm_url, saved.llm_api, saved.llm_model, saved.llm_api_key) == (ollama_api.url, "ollama", "", "")
    assert sorted(p.name for p in settings_file.parent.iterdir() if not p.name.endswith(".lock")) == ["settings.json"]
    assert result.settings == saved


def test_an_openai_compatible_v1_url_with_a_short_api_key_is_accepted(
        settings_file: Path, llm_server, no_keyring: None) -> None:  # type: ignore[no-untyped-def]
    srv = llm_server(api="openai", api_key="sk-local1")
    t = target(srv.url + "/v1", "sk-local1", "other:7b", current(settings_file))
    result = save_target(t, settings_file)  # not tested before: Save probes first
    assert result.probe.server == "OpenAI-compatible server" and result.probe.model == "other:7b"
    saved = current(settings_file)
    assert (saved.remote_llm_url, saved.llm_api, saved.llm_model) == (srv.url + "/v1", "openai", "other:7b")
    assert secrets.get_token(saved) == "sk-local1"
    assert all(r.headers.get("Authorization") == "Bearer sk-local1" for r in srv.requests)


def test_a_pasted_bridge_link_brings_its_url_token_and_model(
        settings_file: Path, ollama_api: OllamaStandIn, memory_keyring: dict[tuple[str, str], str]) -> None:
    t = target(make_link(ollama_api.url, TOKEN, MODEL), "", "", current(settings_file))
    assert (t.url, t.token, t.model, t.bridge) == (ollama_api.url, TOKEN, MODEL, True)
    assert TOKEN not in repr(t)
    save_target(t, settings_file)
    saved = current(settings_file)
    assert (saved.remote_llm_url, saved.llm_model) == (ollama_api.url, MODEL)
    assert memory_keyring[("voxtray", "llm_api_key")] == TOKEN
    assert TOKEN not in settings_file.read_text(encoding="utf-8")


def test_an_empty_token_keeps_the_stored_one_for_the_same_address_and_forgets_it_for_another(
        settings_file: Path, llm_server, memory_keyring: dict[tuple[str, str], str]) -> None:  # type: ignore[no-untyped-def]
    srv = llm_server(api="ollama", api_key=TOKEN)
    settings_mod.update(settings_file, remote_llm_url=srv.url)
    secrets.set_token(settings_file, TOKEN)
    kept = target(srv.url, "", "", current(settings_file))
    assert kept.keep_token and kept.token == TOKEN
    save_target(kept, settings_file)  # the probe used the stored token (the server demands it)
    assert memory_keyring[("voxtray", "llm_api_key")] == TOKEN
    other = llm_server(api="ollama")
    moved = target(other.url, "", "", current(settings_file))
    assert (moved.token, moved.keep_token) == ("", False)
    save_target(moved, settings_file)
    assert all("Authorization" not in r.headers for r in other.requests), "the stored token never goes elsewhere"
    assert ("voxtray", "llm_api_key") not in memory_keyring
    assert secrets.get_token(current(settings_file)) == ""


@pytest.mark.parametrize("address", ["refused", "http://voxtray-llm-gone.invalid:11434"])
def test_a_server_that_is_not_there_leaves_settings_byte_identical_and_says_what_to_do(
        settings_file: Path, address: str, no_keyring: None) -> None:
    url = refused_url() if address == "refused" else address
    before = settings_file.read_bytes()
    t = target(url, "", "", current(settings_file))
    with pytest.raises(BridgeConnectError) as err:
        save_target(t, settings_file)
    message = str(err.value)
    assert message == (f"nothing answers at {url} — check the address and the port, and that the server is running "
                       "(for Ollama: ollama serve).")
    assert "Traceback" not in message and "Colab" not in message
    assert settings_file.read_bytes() == before


def test_an_address_that_is_no_llm_and_a_missing_model_are_explained(
        settings_file: Path, llm_server, ollama_api: OllamaStandIn) -> None:  # type: ignore[no-untyped-def]
    page = llm_server(fault="html404")
    with pytest.raises(BridgeConnectError, match="answers, but not as Ollama or an OpenAI-compatible server"):
        probe_target(target(page.url, "", "", current(settings_file)), current(settings_file))
    with pytest.raises(BridgeConnectError) as err:
        probe_target(target(ollama_api.url, "", "llama9:70b", current(settings_file)), current(settings_file))
    assert str(err.value) == (f"the server at {ollama_api.url} has no model 'llama9:70b' (it has: {MODEL}) — pick one "
                              "of those, or leave the model empty to use the first.")


@pytest.mark.parametrize(("address", "token", "model", "expected"), [
    ("ftp://example.com/models", "", "", "the server address must start with https:// or http:// (it uses 'ftp:')"),
    ("http://local host:11434", "", "", "the server address contains spaces"),
    ("localhost:11434", "", "", "must start with https:// or http://"),
    ("https://user:pw@example.com", "", "", "must not contain a user name or password"),
    ("http://example.com:99999", "", "", "has an invalid port"),
    ("   ", "", "", "no server address given"),
    ("http://localhost:11434", "key with spaces", "", "the token contains characters"),
    ("http://localhost:11434", "", "x; rm -rf /", "the model name is not valid"),
    ("voxtray://connect?url=x", "", "", "must start with https:// or http://"),
])
def test_a_bad_address_token_or_model_gets_one_sentence_saying_what_to_type(
        address: str, token: str, model: str, expected: str) -> None:
    with pytest.raises(BadInputError) as err:
        target(address, token, model, Settings())
    message = str(err.value)
    assert expected in message
    assert "\n" not in message and "Traceback" not in message and len(message) < 400
    if not address.startswith("voxtray:"):
        assert "http://localhost:11434 (Ollama)" in message or "API key" in message or "Pick a model" in message


def test_commands_test_then_save_probes_once_reloads_and_says_connected(
        settings_file: Path, ollama_api: OllamaStandIn, no_keyring: None) -> None:
    live = LiveSettings(settings_file, current(settings_file))
    status = StatusBus()
    commands = Commands(live, status, lambda: None, quit=lambda: None)
    assert commands.llm_values() == LLMValues("http://old.example:11434", "", False)
    assert commands.read_llm_link(make_link(ollama_api.url, TOKEN, MODEL)) == (ollama_api.url, TOKEN, MODEL)
    tested = commands.test_llm(ollama_api.url, "", "")
    assert (tested.models, tested.model) == ([MODEL], MODEL)
    chats = len(ollama_api.posts())
    summary = commands.save_llm(ollama_api.url, "", MODEL, tested)  # the window fills the model it answered with
    assert len(ollama_api.posts()) == chats, "Save right after Test of the same values does not probe again"
    assert summary == tested.summary
    assert (live().remote_llm_url, live().llm_model) == (ollama_api.url, MODEL), "the running daemon uses it at once"
    assert status.current.message == f"Connected: {summary}"
    assert commands.llm_values() == LLMValues(ollama_api.url, MODEL, False)
    before = settings_file.read_bytes()
    with pytest.raises(BridgeConnectError):
        commands.save_llm(refused_url(), "", "", tested)  # another address: probed, fails, nothing saved
    assert settings_file.read_bytes() == before


def test_the_tray_item_opens_the_window_on_its_own_thread_and_only_once_at_a_time(settings_file: Path) -> None:
    from daemon.desktop.tray import Tray

    commands = Commands(LiveSettings(settings_file, current(settings_file)), StatusBus(), lambda: None,
                        quit=lambda: None)
    opened: list[tuple[object, str]] = []
    release = threading.Event()

    def stand_in(actions: object) -> None:  # the window, blocking until closed as ask_llm_setup does
        opened.append((actions, threading.current_thread().name))
        release.wait(10)

    tray = Tray(StatusBus(), commands, commands.live, setup_llm=stand_in)
    tray.handlers.connect_bridge()
    tray.handlers.connect_bridge()  # a second click while it is open
    assert until(lambda: opened)
    time.sleep(0.2)
    assert opened == [(commands, "llm-dialog")]
    release.set()
    assert until(lambda: not tray._windows["llm-dialog"].is_alive())
    release.clear()
    tray.handlers.connect_bridge()  # closed: the item opens it again
    assert until(lambda: len(opened) == 2)
    release.set()
