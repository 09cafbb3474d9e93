"""The running App picks up a new LLM without a restart (the tray's "Set up the LLM…" window, reload).

Real: App.start() with its real parts (system voice, router, pipeline, assistant, health poller) and the
LLM stand-in on 127.0.0.1; no display, so hotkeys are off and no tray is shown.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from daemon import settings as S
from daemon.app import App
from daemon.errors import BadInputError
from tests.waits import until as wait


def make_app(tmp_path: Path, monkeypatch) -> App:  # type: ignore[no-untyped-def]
    monkeypatch.setenv("DISPLAY", "")
    path = tmp_path / "settings.json"
    path.write_text(json.dumps({"use_local_cloning": False, "engine": "system", "llm_health_interval_s": 0}))
    app = App(S.load(path), path, headless=True)
    app.start()
    return app


def test_reload_switches_the_running_assistant_to_the_new_llm(tmp_path: Path, monkeypatch, llm_server) -> None:
    app = make_app(tmp_path, monkeypatch)
    try:
        srv = llm_server(api="ollama")
        S.update(app.live.path, remote_llm_url=srv.url)
        app.commands.reload_settings()
        assert app.parts is not None
        assert app.parts.assistant.client.url == srv.url == app.live().remote_llm_url
        assert wait(lambda: app.status.current.llm_ok is True), app.status.current
    finally:
        app.shutdown()


def test_saving_from_the_llm_window_switches_the_running_assistant(tmp_path: Path, monkeypatch, llm_server) -> None:
    app = make_app(tmp_path, monkeypatch)
    try:
        srv = llm_server(api="openai")
        summary = app.commands.save_llm(srv.url + "/v1", "", "", None)
        assert app.status.current.message == f"Connected: {summary}"
        assert app.parts is not None
        assert app.parts.assistant.client.url == srv.url + "/v1" == app.live().remote_llm_url
    finally:
        app.shutdown()


def test_a_bad_address_in_the_llm_window_is_one_sentence_and_settings_stay(tmp_path: Path, monkeypatch) -> None:
    app = make_app(tmp_path, monkeypatch)
    try:
        before = app.live.path.read_bytes()
        for bad in ("file:///etc/passwd", "voxtray://connect?url=file%3A%2F%2F%2Fetc%2Fpasswd&token=x"):
            with pytest.raises(BadInputError, match="must start with https:// or http://"):
                app.commands.save_llm(bad, "", "", None)
        assert app.live.path.read_bytes() == before
        assert app.live().remote_llm_url == ""
    finally:
        app.shutdown()


def test_broken_settings_on_reload_keep_the_running_values(tmp_path: Path, monkeypatch) -> None:
    app = make_app(tmp_path, monkeypatch)
    try:
        app.live.path.write_text('{"engine": "bark"}')
        app.commands.reload_settings()
        assert app.live().engine == "system"
        assert "'engine'" in app.status.current.message
    finally:
        app.shutdown()
