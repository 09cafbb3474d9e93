"""Where synthesised audio goes: the sink contract (`SampleSink`, `AudioSink`) and the sinks around the sound
card's stream (speech/player.py): `WavSink` writes a file; `LiveSink` keeps the Player following the settings
and retries until an output device exists."""

from __future__ import annotations

import logging
import threading
import time
from pathlib import Path
from typing import Protocol, runtime_checkable

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

QUIET_S = 1.0  # a play() after this long without one starts an utterance (a moment to look for a returned device)


class SampleSink(Protocol):
    """The part of the sink contract one sentence needs (the router writes to it)."""

    def play(self, samples: np.ndarray, rate: int) -> None: ...

    def end_source(self) -> None: ...

    def stop(self) -> None: ...


class AudioSink(SampleSink, Protocol):
    """THE sink contract: where synthesised audio goes — the sound card (Player, LiveSink) or a file
    (WavSink); the pipeline's per-utterance view and the CLI's counting wrapper implement it too."""

    @property
    def output_rate(self) -> int: ...

    def drain(self, timeout: float | None = None) -> bool: ...

    def close(self) -> None: ...


@runtime_checkable
class Pausable(Protocol):
    """A sink that can hold its sound at the current sample (the sound card's: Player, LiveSink)."""

    @property
    def paused(self) -> bool: ...

    def pause(self) -> None: ...

    def resume(self) -> None: ...

    def stop(self) -> None: ...


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


class LiveSink:
    """The daemon's sound card: a Player that follows the current settings and survives a missing device.

    `output_device` and `output_sample_rate` changed by a reload reopen the Player at the next quiet moment
    (nothing queued), `volume` applies from the next chunk; while no output device exists, every utterance
    retries opening one (the reason is the status message meanwhile).

    The chosen device gone (its stream died, or it is not listed): speech goes on on the default device from the
    first sample it had not played (Player.move_to), one notification says so; at the start of each utterance
    (a play() after QUIET_S without one, or warm()) while on the default, the devices are re-scanned and speech
    goes back to the chosen one if it is listed again. A re-scan closes the stream, so it happens only then, after
    a device error, and at an utterance's start while the stream is closed anyway (30 s quiet): never at rest."""

    settings = SettingsField()

    def __init__(self, settings: Settings | SettingsSource, status: StatusBus, *, player: Player | None = None) -> None:
        self.settings = settings
        self.status = status
        self._lock = threading.Lock()
        self._player = player
        self._key = self._wanted() if player is not None else None
        self._fallback = ""  # the chosen device that is gone (we speak on the default meanwhile); "" = none
        self._last_play = 0.0
        if player is not None:
            player.on_lost = self._device_lost

    def _wanted(self) -> tuple[str | int | None, int | None]:
        s = self.settings
        return s.output_device, s.output_sample_rate

    @property
    def output_rate(self) -> int:
        player = self._player
        return player.output_rate if player is not None else (self.settings.output_sample_rate or 48000)

    def _get(self, starting: bool = False) -> Player | None:
        wanted = self._wanted()
        with self._lock:
            player = self._player
            if player is not None and wanted != self._key and player.idle:
                log.info("output device settings changed: reopening the sound output")
                player.close()
                player = self._player = None
                self._fallback = ""
            elif player is not None and starting and player.idle and (self._fallback or not player.device_open):
                player = self._rescan(player, wanted[0])
            if player is None:
                player = self._open(wanted)
            if player is not None:
                player.volume = self.settings.volume
            return player

    def _open(self, wanted: tuple[str | int | None, int | None]) -> Player | None:
        """A new Player on the chosen device, else on the default one (telling so), else None (telling why)."""
        try:
            try:
                player = Player(wanted[0], wanted[1], self.settings.volume)
            except AudioDeviceError:
                if wanted[0] is None or wanted[0] == "":
                    raise
                player = Player(None, wanted[1], self.settings.volume)
                self._gone(str(wanted[0]))
            else:
                self._fallback = ""
                self.status.update(message="")
        except AudioDeviceError as exc:
            self.status.update(message=str(exc))
            return None
        player.on_lost = self._device_lost
        self._player, self._key = player, wanted
        return player

    def _rescan(self, player: Player, chosen: str | int | None) -> Player | None:
        """An utterance starts with the stream closed or on the default: re-scan, the chosen device if listed."""
        try:
            player.move_to(chosen)
        except AudioDeviceError:
            if chosen is None or chosen == "":
                player.close()
                self._player = None
                return None
            try:
                player.move_to(None, rescan=False)
            except AudioDeviceError:
                player.close()
                self._player = None
                return None
            self._gone(str(chosen))
            return player
        if self._fallback:
            log.info("output device %r is back: speaking on it again", player.device_name)
            self._fallback = ""
            self.status.update(message="")
        return player

    def _gone(self, name: str) -> None:
        if self._fallback != name:
            self._fallback = name
            self.status.update(message=f"Headphones ({name}) gone: speaking on the default device")
        log.warning("output device %r is gone: speaking on the default device", name)

    def _device_lost(self) -> None:
        """The Player's stream died while playing (its own thread): go on on the default device after a re-scan."""
        with self._lock:
            player = self._player
            if player is None:
                return
            name = player.device_name
            try:
                player.move_to(None)
            except AudioDeviceError as exc:
                log.warning("no output device after %r went: %s", name, exc)
                player.close()
                self._player = None
                self.status.update(message=str(exc))
                return
            chosen = self.settings.output_device
            if chosen is not None and chosen != "":
                self._gone(name)

    def play(self, samples: np.ndarray, rate: int) -> None:
        now = time.monotonic()
        starting, self._last_play = now - self._last_play > QUIET_S, now
        player = self._get(starting)
        if player is not None:
            player.play(samples, rate)

    def warm(self, timeout: float | None = None) -> bool:
        player = self._get(starting=True)
        return player.warm(timeout) if player is not None else False

    def end_source(self) -> None:
        if self._player is not None:
            self._player.end_source()

    def stop(self) -> None:
        if self._player is not None:
            self._player.stop()

    @property
    def paused(self) -> bool:
        return self._player is not None and self._player.paused

    def pause(self) -> None:
        if self._player is not None:
            self._player.pause()

    def resume(self) -> None:
        if self._player is not None:
            self._player.resume()

    def drain(self, timeout: float | None = None) -> bool:
        return self._player.drain(timeout) if self._player is not None else True

    def close(self) -> None:
        with self._lock:
            player, self._player = self._player, None
        if player is not None:
            player.close()
