"""Where third-party libraries keep their files (for doctor and the XTTS loader)."""

from __future__ import annotations

from pathlib import Path


def coqui_model_dir(model_id: str) -> Path | None:
    """The folder coqui-tts downloads `model_id` into (it may not exist yet)."""
    try:
        from trainer.io import get_user_data_dir
    except Exception:
        return None
    return Path(get_user_data_dir("tts")) / model_id.replace("/", "--")
