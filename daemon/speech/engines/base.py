"""The engine contract: what a speech engine must provide to be routed and played."""

from __future__ import annotations

import abc
from collections.abc import Iterator

import numpy as np

from daemon.live import SettingsField
from daemon.status import Tier
from daemon.voices import VoiceRef


class Engine(abc.ABC):
    """A speech engine. `stream` yields float32 mono chunks in [-1, 1] at `sample_rate`.

    Engines raise `daemon.errors.EngineError` (or a subclass) when they cannot speak; the router then
    re-speaks the whole sentence on the next tier. Engines never play audio themselves.
    """

    name: str = "engine"
    settings = SettingsField()  # a snapshot (CLI) or the daemon's provider: read at every use
    sample_rate: int = 24000
    # Capabilities the router reads (it never tests engine names):
    label: str = "engine"  # how the user calls it, in notes and the tooltip
    status_tier: Tier = Tier.SYSTEM  # the tray colour while it speaks
    last_resort: bool = False  # never marked down, and kept as the final fallback of any order (the system voice)
    gpu_bound: bool = False  # speaks only with GPU headroom, and its real-time factor is watched (XTTS)
    can_probe: bool = False  # probe() makes a real check (edge-tts: is the service reachable?)
    checked: bool = False  # may say other than its text (babble): its sentences are checked by ear (speech_check)

    def enabled(self) -> tuple[bool, str]:
        """(False, why) when settings switch this engine off (e.g. cloning off); checked before every choice."""
        return True, ""

    def probe(self) -> bool | None:
        """A cheap real check that it can speak (a short synthesis); None when it has none (ready() decides)."""
        return None

    def speaks(self, language: str) -> bool:
        """Whether it reads `language` (a code such as "fr"; "" = unknown); the router hands a sentence it cannot
        read to the next voice in order, for that sentence only (not a failure)."""
        return True

    def prepare_voice(self, voice: VoiceRef) -> object:
        """Precompute what this engine needs for `voice` (XTTS: speaker latents); a no-op for most engines."""
        return None

    def interrupt(self) -> None:
        """Stop the sentence being synthesised as soon as possible (barge-in, or a failed-over sentence)."""

    def begin_utterance(self) -> None:
        """A new reply starts (XTTS streams its first sentence with a smaller first chunk)."""

    @abc.abstractmethod
    def ready(self) -> bool:
        """True when the engine can speak right now without a long load."""

    @abc.abstractmethod
    def stream(self, text: str, voice: VoiceRef | None = None, language: str = "") -> Iterator[np.ndarray]:
        """Synthesise one sentence in `language` ("" = the engine's own choice), yielding audio chunks as soon as
        each is ready."""

    def close(self) -> None:
        """Release resources (models, connections, processes)."""

    def synthesize(self, text: str, voice: VoiceRef | None = None, language: str = "") -> np.ndarray:
        """The whole sentence as one array."""
        chunks = list(self.stream(text, voice, language))
        if not chunks:
            return np.zeros(0, dtype=np.float32)
        return np.concatenate(chunks).astype(np.float32, copy=False)
