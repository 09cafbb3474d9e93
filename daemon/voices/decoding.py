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
MAX_DECODE_S = 120.0  # never decode more than 2 minutes (a reference needs 10-20 s)
MAX_RATE = 48000  # decoded at most at this rate: more is never used, and a 96 kHz file would cost twice the memory


@dataclass(frozen=True)
class Decoded:
    """Decoded audio: float32 samples shaped (frames, channels) at the file's own rate."""

    samples: np.ndarray  # mixed down to mono while decoding: shape (frames, 1)
    rate: int
    channels: int  # the file's own channel count (for the report)
    codec: str
    truncated: bool = False  # longer than MAX_DECODE_S: only the start was decoded
    file_s: float | None = None  # the whole file's length from its header (when it has one)

    @property
    def duration_s(self) -> float:
        """Seconds decoded."""
        return self.samples.shape[0] / self.rate if self.rate else 0.0

    @property
    def total_s(self) -> float:
        """The whole file's length: the header's when only the start was decoded, else what was decoded."""
        return self.file_s if self.truncated and self.file_s else self.duration_s

    def mono(self) -> np.ndarray:
        """One float32 track (the channels were averaged while decoding)."""
        return self.samples.mean(axis=1).astype(np.float32) if self.samples.shape[1] > 1 else self.samples[:, 0].copy()


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
        # Mix down and cap the rate WHILE decoding, into one buffer of the final size: memory stays bounded by
        # max_seconds of mono audio, however long, wide or high-rate the file is (a 1 GB file included).
        out_rate = min(rate, MAX_RATE) if rate else 0
        resampler = av.AudioResampler(format="flt", layout="mono", rate=out_rate or None)
        limit = int(max_seconds * out_rate) if out_rate else 0
        buf = np.empty(limit or 0, dtype=np.float32)
        extra: list[np.ndarray] = []  # only when the rate was unknown up front
        got = 0
        truncated = False
        for frame in container.decode(stream):
            for out in resampler.resample(frame):
                arr = out.to_ndarray().reshape(-1)
                if limit:
                    take = min(arr.size, limit - got)
                    buf[got:got + take] = arr[:take]
                    got += take
                else:
                    extra.append(arr.astype(np.float32, copy=True))
                    got += arr.size
            if limit and got >= limit:
                truncated = True
                break
        rate = out_rate or int(resampler.rate or 0)
        file_s = float(container.duration) / 1_000_000 if container.duration else None  # AV_TIME_BASE units
    except VoiceError:
        raise
    except (av.error.FFmpegError, ValueError) as exc:
        raise VoiceError(
            f"{path}: the audio could not be decoded ({exc.__class__.__name__}: {exc}). "
            "Re-export it as WAV or MP3 and try again."
        ) from None
    finally:
        container.close()
    if got == 0 or rate <= 0:
        raise VoiceError(f"{path}: contains no audio samples. Use a recording of 10-20 s of speech.")
    data = (buf[:got] if limit else np.concatenate(extra)).reshape(-1, 1)
    log.debug("decoded %s: %s, %d Hz, %d ch, %.2f s", path, codec, rate, channels, data.shape[0] / rate)
    return Decoded(np.ascontiguousarray(data), rate, channels, codec, truncated, file_s)


def load_mono(path: Path, rate: int, max_seconds: float = MAX_DECODE_S) -> np.ndarray:
    """A file as float32 mono at `rate` (for speaker conditioning and voice import)."""
    dec = decode(path, max_seconds=max_seconds)
    return resample(dec.mono(), dec.rate, rate)
