"""The engine contract: what a speech engine must provide to be routed and played."""

from __future__ import annotations

import abc
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from daemon.settings import Settings


@dataclass(frozen=True)
class VoiceRef:
    """A voice to speak with: a display name and, for cloning engines, the reference clip."""

    name: str
    path: Path | None = None


class Engine(abc.ABC):
    """A speech engine. `stream` yields float32 mono chunks in [-1, 1] at `sample_rate`.

    Engines raise `daemon.errors.EngineError` (or a subclass) when they cannot speak; the router then
    re-speaks the whole sentence on the next tier. Engines never play audio themselves.
    """

    name: str = "engine"
    settings: Settings
    tier: int = 99
    sample_rate: int = 24000

    @abc.abstractmethod
    def ready(self) -> bool:
        """True when the engine can speak right now without a long load."""

    @abc.abstractmethod
    def stream(self, text: str, voice: VoiceRef | None = None) -> Iterator[np.ndarray]:
        """Synthesise one sentence, yielding audio chunks as soon as each is ready."""

    def close(self) -> None:
        """Release resources (models, connections, processes)."""

    def configure(self, settings: Settings) -> None:
        """Use a new settings snapshot from the next sentence on (settings are immutable: a change is a new one)."""
        self.settings = settings

    def synthesize(self, text: str, voice: VoiceRef | None = None) -> np.ndarray:
        """The whole sentence as one array."""
        chunks = list(self.stream(text, voice))
        if not chunks:
            return np.zeros(0, dtype=np.float32)
        return np.concatenate(chunks).astype(np.float32, copy=False)
