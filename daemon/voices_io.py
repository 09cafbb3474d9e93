"""Decode any audio file in-process with PyAV (WAV, MP3, FLAC, OGG, M4A: no ffmpeg on PATH needed)."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from daemon.audio import resample
from daemon.errors import VoiceError

log = logging.getLogger(__name__)

AUDIO_SUFFIXES = (".wav", ".mp3", ".flac", ".ogg", ".m4a", ".opus", ".aac", ".webm")
MAX_DECODE_S = 600.0  # never decode more than 10 minutes (a reference needs 10-20 s)


@dataclass(frozen=True)
class Decoded:
    """Decoded audio: float32 samples shaped (frames, channels) at the file's own rate."""

    samples: np.ndarray
    rate: int
    channels: int
    codec: str
    truncated: bool = False  # longer than MAX_DECODE_S: only the start was decoded

    @property
    def duration_s(self) -> float:
        return self.samples.shape[0] / self.rate if self.rate else 0.0

    def mono(self) -> np.ndarray:
        """Channels averaged to one float32 track."""
        return self.samples.mean(axis=1).astype(np.float32) if self.channels > 1 else self.samples[:, 0].copy()


def decode(path: Path, max_seconds: float = MAX_DECODE_S) -> Decoded:
    """Decode the first audio stream of a file; raise VoiceError with a plain reason if it is not audio."""
    import av

    path = Path(path)
    if not path.is_file():
        raise VoiceError(f"{path}: no such file. Give the path of a WAV, MP3, FLAC, OGG or M4A recording.")
    try:
        container = av.open(str(path))
    except (av.error.FFmpegError, OSError, ValueError) as exc:
        raise VoiceError(
            f"{path}: not an audio file that can be read ({exc.__class__.__name__}). "
            "Use a WAV, MP3, FLAC, OGG or M4A recording of speech."
        ) from None
    try:
        if not container.streams.audio:
            raise VoiceError(f"{path}: has no audio track. Use a WAV, MP3, FLAC, OGG or M4A recording of speech.")
        stream = container.streams.audio[0]
        rate = int(stream.rate or stream.codec_context.sample_rate or 0)
        channels = int(stream.codec_context.channels or 1)
        codec = stream.codec_context.name
        resampler = av.AudioResampler(format="fltp", layout=stream.layout, rate=rate)
        limit = int(max_seconds * rate) if rate else 0
        parts: list[np.ndarray] = []
        got = 0
        truncated = False
        for frame in container.decode(stream):
            for out in resampler.resample(frame):
                arr = out.to_ndarray()  # (channels, n) for planar float
                parts.append(arr)
                got += arr.shape[1]
            if limit and got >= limit:
                truncated = True
                break
    except VoiceError:
        raise
    except (av.error.FFmpegError, ValueError) as exc:
        raise VoiceError(
            f"{path}: the audio could not be decoded ({exc.__class__.__name__}: {exc}). "
            "Re-export it as WAV or MP3 and try again."
        ) from None
    finally:
        container.close()
    if not parts or got == 0 or rate <= 0:
        raise VoiceError(f"{path}: contains no audio samples. Use a recording of 10-20 s of speech.")
    data = np.concatenate(parts, axis=1).T.astype(np.float32, copy=False)
    if limit:
        data = data[:limit]
    channels = data.shape[1]
    log.debug("decoded %s: %s, %d Hz, %d ch, %.2f s", path, codec, rate, channels, data.shape[0] / rate)
    return Decoded(np.ascontiguousarray(data), rate, channels, codec, truncated)


def load_mono(path: Path, rate: int, max_seconds: float = MAX_DECODE_S) -> np.ndarray:
    """A file as float32 mono at `rate` (for speaker conditioning and voice import)."""
    dec = decode(path, max_seconds=max_seconds)
    return resample(dec.mono(), dec.rate, rate)
