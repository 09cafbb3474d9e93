"""Loads every fixture module in tests/fixtures/ and keeps tests away from the user's real folders."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

pytest_plugins = sorted(
    f"tests.fixtures.{p.stem}" for p in (Path(__file__).parent / "fixtures").glob("*.py") if p.stem != "__init__"
)

ROOT = Path(__file__).resolve().parent.parent
SHARED_AUDIO = ROOT.parent / "shared" / "audio" / "ljspeech"


@pytest.fixture(autouse=True)
def _isolated_dirs(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> None:
    """Logs and per-user data go to temp folders, never the real user profile."""
    base = tmp_path_factory.mktemp("userdirs")
    monkeypatch.setenv("VOXTRAY_LOG_DIR", str(base / "logs"))
    monkeypatch.setenv("VOXTRAY_DATA_DIR", str(base / "data"))
    monkeypatch.setenv("XDG_CONFIG_HOME", str(base / "config"))
    monkeypatch.setenv("XDG_CACHE_HOME", str(base / "cache"))
    monkeypatch.setenv("COQUI_TOS_AGREED", os.environ.get("COQUI_TOS_AGREED", ""))
    monkeypatch.setenv("PULSE_SERVER", f"unix:{base / 'no-pulse'}")  # a test names its own server, never the user's


@pytest.fixture
def ljspeech() -> Path:
    """The public-domain LJ Speech clips shipped beside the checkout."""
    if not SHARED_AUDIO.is_dir():
        pytest.fail(f"missing {SHARED_AUDIO}: the shared audio folder must sit beside the checkout")
    return SHARED_AUDIO
