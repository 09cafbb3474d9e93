"""Where synthesised audio goes: the sink contract (`SampleSink`, `AudioSink`) and the sinks besides the sound
card's stream (speech/player.py): `WavSink` writes a file, `DeviceRetrySink` stands in for the Player until an
output device exists."""

from __future__ import annotations

import logging
import threading
from pathlib import Path
from typing import Protocol

import numpy as np

from daemon.audio import fade, write_wav
from daemon.errors import AudioDeviceError
from daemon.fsio import atomic_write
from daemon.live import SettingsField, SettingsSource
from daemon.settings import Settings
from daemon.speech.player import Player
from daemon.speech.resampling import Resampling
from daemon.status import StatusBus

log = logging.getLogger(__name__)


class SampleSink(Protocol):
    """The part of the sink contract one sentence needs (the router writes to it)."""

    def play(self, samples: np.ndarray, rate: int) -> None: ...

    def end_source(self) -> None: ...

    def stop(self) -> None: ...


class AudioSink(SampleSink, Protocol):
    """THE sink contract: where synthesised audio goes — the sound card (Player, DeviceRetrySink) or a file
    (WavSink); the pipeline's per-utterance view and the CLI's counting wrapper implement it too."""

    output_rate: int

    def drain(self, timeout: float | None = None) -> bool: ...

    def close(self) -> None: ...


class WavSink:
    """An AudioSink that collects audio and writes one WAV file on close()."""

    def __init__(self, path: Path, sample_rate: int = 24000, volume: float = 1.0) -> None:
        self.path = Path(path)
        self.output_rate = sample_rate
        self._conv = Resampling(sample_rate, volume)
        self._chunks: list[np.ndarray] = []
        self._lock = threading.Lock()

    def play(self, samples: np.ndarray, rate: int) -> None:
        data = self._conv.convert(samples, rate)
        with self._lock:
            self._chunks.append(data)

    def end_source(self) -> None:
        tail = self._conv.flush()
        with self._lock:
            if tail.size:
                self._chunks.append(tail)
            if self._chunks:
                last = self._chunks[-1]
                self._chunks[-1] = fade(last, self.output_rate, fade_in=False, fade_out=True)

    def stop(self) -> None:
        self._conv.reset()

    def drain(self, timeout: float | None = None) -> bool:
        return True

    @property
    def samples(self) -> np.ndarray:
        with self._lock:
            return np.concatenate(self._chunks) if self._chunks else np.zeros(0, dtype=np.float32)

    def close(self) -> None:
        """Write the WAV (atomically: a temp file then rename); nothing at all when nothing was spoken."""
        samples = self.samples
        if not samples.size:
            log.warning("nothing was spoken; %s not written", self.path)
            return
        atomic_write(self.path, lambda tmp: write_wav(tmp, samples, self.output_rate), mode=0o644)


class DeviceRetrySink:
    """Stands in for the Player while no output device exists; retries opening one on every utterance."""

    settings = SettingsField()

    def __init__(self, settings: Settings | SettingsSource, status: StatusBus) -> None:
        self.settings = settings
        self.status = status
        self.output_rate = self.settings.output_sample_rate or 48000
        self._player: Player | None = None

    def _get(self) -> Player | None:
        if self._player is None:
            try:
                self._player = Player(self.settings.output_device, self.settings.output_sample_rate, self.settings.volume)
                self.status.update(message="")
            except AudioDeviceError as exc:
                self.status.update(message=str(exc))
        return self._player

    def play(self, samples: np.ndarray, rate: int) -> None:
        player = self._get()
        if player is not None:
            player.play(samples, rate)

    def warm(self, timeout: float | None = None) -> bool:
        player = self._get()
        return player.warm(timeout) if player is not None else False

    def end_source(self) -> None:
        if self._player is not None:
            self._player.end_source()

    def stop(self) -> None:
        if self._player is not None:
            self._player.stop()

    def drain(self, timeout: float | None = None) -> bool:
        return self._player.drain(timeout) if self._player is not None else True

    def close(self) -> None:
        if self._player is not None:
            self._player.close()
