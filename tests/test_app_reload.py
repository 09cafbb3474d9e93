"""The running App picks up a new LLM link without a restart (tray "Connect to Colab bridge…", reload).

Real: App.start() with its real parts (system voice, router, pipeline, assistant, health poller) and the
LLM stand-in on 127.0.0.1; no display, so hotkeys are off and no tray is shown.
"""

from __future__ import annotations

import json
from pathlib import Path

from daemon import settings as S
from daemon.app import App
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


def test_bad_bridge_link_from_the_tray_is_reported_and_settings_stay(tmp_path: Path, monkeypatch) -> None:
    app = make_app(tmp_path, monkeypatch)
    try:
        before = app.live.path.read_bytes()
        app.commands.connect_bridge("file:///etc/passwd")
        assert app.status.current.message.startswith("Could not connect:")
        assert app.live.path.read_bytes() == before
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
