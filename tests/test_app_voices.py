"""Switching voice in the running daemon (what the tray's Voices menu calls), with the real tiny XTTS.

Real: App.start() with the keep-warm policy loading the tiny random-weight XTTS on the CPU, the voice library,
the settings file and the latent cache on disk. NVML has no GPU here, so XTTS runs on the CPU (xtts_allow_cpu).
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

from daemon import settings as S
from daemon.app import App
from daemon.settings import Settings
from daemon.status import Tier
from tests.waits import until as wait


def test_choosing_a_voice_saves_it_atomically_and_precomputes_its_latents(
    xtts_settings: Settings, voices_dir: Path, ljspeech: Path, tmp_path: Path, monkeypatch, xtts_cleanup
) -> None:
    monkeypatch.setenv("DISPLAY", "")
    shutil.copy(ljspeech / "LJ001-0003.wav", voices_dir / "bob.wav")
    path = tmp_path / "settings.json"
    data = xtts_settings.model_dump(mode="json") | {"llm_health_interval_s": 0, "engine_order": ["xtts", "system"]}
    path.write_text(json.dumps(data))
    app = App(S.load(path), path, headless=True)
    app.start()
    try:
        assert app.parts is not None
        xtts = app.parts.speech.engines["xtts"]
        assert wait(lambda: xtts.loaded, 180), app.status.current
        assert wait(lambda: app.status.current.tier == Tier.XTTS, 10), app.status.current
        assert sorted(app.commands.voices()) == ["bob", "lj"]
        cache = voices_dir / ".cache"
        before = set(cache.glob("bob*")) if cache.exists() else set()
        app.commands.use_voice("bob")
        assert json.loads(path.read_text())["cloning_reference_file"] == str(voices_dir / "bob.wav")
        assert app.live().cloning_reference_file == str(voices_dir / "bob.wav")
        assert app.status.current.voice == "bob"
        assert wait(lambda: set(cache.glob("bob*")) - before, 120), "latents for bob were not precomputed"
        assert [p.name for p in tmp_path.glob(".settings.json*")] == []  # no temp file left behind
    finally:
        app.shutdown()
