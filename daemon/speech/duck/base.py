"""The ducking contract: other apps' audio streams, their volumes, and one backend per sound system.

Volumes are in the backend's own units (PulseAudio: raw per-channel volumes, 65536 = 100 %; Windows: the
session's 0..1 master volume), so what is read back can be written back exactly.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

Volumes = tuple[float, ...]


class DuckUnavailable(Exception):
    """The sound system cannot be reached or does not allow it (the reason, one line)."""


@dataclass(frozen=True)
class AppStream:
    """One other app's audio stream (PulseAudio sink input, Windows audio session)."""

    key: str  # the stream's identity on its backend (stable for the stream's life, checked before each change)
    name: str  # the app, for logs
    volumes: Volumes


class DuckBackend(Protocol):
    """One sound system's app volumes; every call is bounded (a second or two) and raises DuckUnavailable."""

    name: str
    tolerance: float  # volumes this close count as the same (read-back rounding)

    def streams(self) -> list[AppStream]:
        """Other processes' streams now (never this process's own)."""
        ...

    def set_volumes(self, key: str, volumes: Volumes) -> None:
        """Set one stream's volumes."""
        ...

    def scaled(self, volumes: Volumes, level: float) -> Volumes:
        """`volumes` lowered to `level` (0..1) of themselves, in writable units."""
        ...


def same(a: Volumes, b: Volumes, tolerance: float) -> bool:
    """Are two volume readings the same (one value per channel)?"""
    return len(a) == len(b) and all(abs(x - y) <= tolerance for x, y in zip(a, b, strict=True))
