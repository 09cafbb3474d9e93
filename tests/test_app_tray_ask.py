"""The tray's "Ask…" goes through the same AskFlow as the ask hotkey (the two-ask-paths bug).

Real: App.start() with its real parts; the AskFlow is built but not started (no display here), so its
question box only records the open request. The check: the tray item cancels a voice question, stops the
answer, asks for a fresh LLM health check and opens the box, exactly like the hotkey.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from daemon.app import App
from daemon.desktop.ask_flow import AskFlow
from daemon.settings import load


def test_tray_ask_does_what_the_ask_hotkey_does(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DISPLAY", "")
    monkeypatch.setattr(AskFlow, "start", lambda self: None)
    path = tmp_path / "settings.json"
    path.write_text(json.dumps({"use_local_cloning": False, "engine": "system", "llm_health_interval_s": 0}))
    app = App(load(path, check=False), path, headless=True)
    app.start()
    try:
        parts = app.parts
        assert parts is not None and parts.flow is not None
        calls: list[str] = []
        monkeypatch.setattr(parts.talk, "cancel", lambda: calls.append("cancel voice question"))
        monkeypatch.setattr(parts.assistant, "stop", lambda: calls.append("stop answer"))
        monkeypatch.setattr(parts.health, "check_soon", lambda: calls.append("health check"))
        monkeypatch.setattr(parts.flow.box, "open", lambda t=None: calls.append("open box"))
        parts.flow.on_ask_hotkey()
        hotkey, calls[:] = list(calls), []
        app.commands.ask()
        assert calls == hotkey == ["cancel voice question", "stop answer", "health check", "open box"]
        app.commands.toggle_hotkeys()  # pausing the hotkeys never disables the tray item
        calls.clear()
        app.commands.ask()
        assert "open box" in calls
    finally:
        app.shutdown()
