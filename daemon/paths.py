"""Where VoxTray and the libraries it uses keep their files (one place to ask)."""

from __future__ import annotations

import os
from pathlib import Path

import platformdirs

from daemon import APP_ID


def data_dir() -> Path:
    """Per-user data folder (VOXTRAY_DATA_DIR overrides, for tests)."""
    override = os.environ.get("VOXTRAY_DATA_DIR")
    return Path(override) if override else Path(platformdirs.user_data_dir(APP_ID, appauthor=False))


def models_dir() -> Path:
    """Where VoxTray downloads models to (one sub-folder per model); it may not exist yet."""
    return data_dir() / "models"


def coqui_model_dir(model_id: str) -> Path | None:
    """The folder coqui-tts downloads `model_id` into (it may not exist yet)."""
    try:
        from trainer.io import get_user_data_dir
    except Exception:
        return None
    return Path(get_user_data_dir("tts")) / model_id.replace("/", "--")
