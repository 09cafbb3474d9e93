"""One rule for settings: after a reload every running part ACTS on the new values (the stale-settings bug).

Real: App.start() with its real parts (watcher, Ollama guard, speech stack, LLM client + health poller,
conversation, hotkeys + question box built but not started: no display here), the settings file, the LLM
and Ollama API stand-ins on 127.0.0.1. Faked: the GPU (pynvml's functions).
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from daemon.app import App
from daemon.desktop.ask_flow import AskFlow
from daemon.desktop.hotkeys import parse_combo
from daemon.desktop.tray import Tray
from daemon.settings import load
from tests.fixtures.gpu import FakeNvml
from tests.fixtures.ollama import OllamaStandIn
from tests.waits import until

OLD = {"use_local_cloning": True, "xtts_model_path": "no-such-model-folder", "engine": "auto",
       "engine_order": ["xtts", "system"],
       "llm_health_interval_s": 0, "vram_poll_interval_s": 3600, "ollama_unload": False,
       "ollama_stop_processes": False, "hotkey_ask": "ctrl+alt+space", "system_prompt": "Old prompt.",
       "history_turns": 6}


def test_every_part_acts_on_reloaded_settings(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                              fake_nvml: FakeNvml, ollama_api: OllamaStandIn, llm_server) -> None:
    monkeypatch.setenv("DISPLAY", "")
    monkeypatch.setattr(AskFlow, "start", lambda self: None)  # built and wired, but no display to listen on
    path = tmp_path / "settings.json"
    path.write_text(json.dumps(OLD))
    app = App(load(path, check=False), path, headless=True)
    app.start()
    try:
        parts = app.parts
        assert parts is not None and parts.flow is not None and parts.policy is not None
        tray = Tray(app.status, app.commands, app.live)
        reads = fake_nvml.reads
        srv = llm_server(api="ollama")
        ollama_api.models = {"llama3": 3000}
        path.write_text(json.dumps(OLD | {
            "engine": "system", "vram_poll_interval_s": 0.05, "ollama_unload": True, "ollama_url": ollama_api.url,
            "hotkey_ask": "ctrl+alt+k", "remote_llm_url": srv.url, "system_prompt": "New prompt.",
            "history_turns": 0, "system_rate": 260, "stt_model": "tiny.en", "stt_language": "de",
            "stt_beam_size": 3}))
        app.commands.reload_settings()

        # the watcher polls at the new interval
        assert until(lambda: fake_nvml.reads >= reads + 5, 5), "the VRAM watcher kept the old poll interval"
        # the keep-warm policy's Ollama guard unloads now that ollama_unload is on
        fake_nvml.free_mb = 100
        report = parts.guard.free_vram(4000, lambda: fake_nvml.free_mb)
        assert report.unloaded_models == ["llama3"], report.steps
        assert parts.policy._guard is parts.guard
        # the tray's engine radio shows the new engine
        assert tray._read_model().engine == "system"
        # the LLM client talks to the new server, and the health poller checks it
        assert parts.assistant.client.url == srv.url
        assert until(lambda: app.status.current.llm_ok is True, 10), app.status.current
        # the conversation uses the new prompt and history length
        assert parts.assistant.conversation.messages("q")[0]["content"] == "New prompt."
        parts.assistant.conversation.add("q", "a")
        assert len(parts.assistant.conversation) == 0
        # the hotkeys are re-bound
        combos = {str(c) for c in parts.flow.hotkeys.bindings}
        assert str(parse_combo("ctrl+alt+k")) in combos and str(parse_combo("ctrl+alt+space")) not in combos
        # the engines and the router read the new values
        assert parts.speech.engines["system"].settings.system_rate == 260
        assert parts.speech.router.settings.engine == "system"
        # asking by voice: the next press uses the new speech model and language (applied before listening)
        old_recognizer = parts.talk.recognizer
        parts.talk._follow_settings()
        assert parts.talk.recognizer is not old_recognizer
        assert (parts.talk.recognizer.model_name, parts.talk.recognizer.language,
                parts.talk.recognizer.beam_size) == ("tiny.en", "de", 3)
    finally:
        app.shutdown()
