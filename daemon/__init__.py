"""VoxTray: a tray daemon that speaks a remote LLM's answers in a cloned voice."""

from __future__ import annotations

from typing import Any

__version__ = "0.1.0"
APP_ID = "voxtray"
__all__ = ["APP_ID", "__version__", "generate_audio"]


def __getattr__(name: str) -> Any:
    """`from daemon import generate_audio` imports the speech stack only when it is used."""
    if name == "generate_audio":
        from daemon.api import generate_audio

        return generate_audio
    raise AttributeError(f"module 'daemon' has no attribute {name!r}")
