"""Small audio helpers shared by engines, player and tools: conversion, resampling, fades, WAV files.

soxr is imported at first use (`winruntime.require`): without the Visual C++ Redistributable it cannot load.
"""

from __future__ import annotations

import wave
from pathlib import Path

import numpy as np

from daemon.winruntime import require

FADE_S = 0.005


def to_float32(samples: np.ndarray) -> np.ndarray:
    """Any PCM array (int16/int32/float) as float32 mono in [-1, 1]."""
    a = np.asarray(samples)
    if a.ndim == 2:
        a = a.mean(axis=1)
    if a.dtype == np.int16:
        return (a.astype(np.float32) / 32768.0).astype(np.float32)
    if a.dtype == np.int32:
        return (a.astype(np.float64) / 2147483648.0).astype(np.float32)
    if a.dtype == np.uint8:
        return ((a.astype(np.float32) - 128.0) / 128.0).astype(np.float32)
    return a.astype(np.float32, copy=False)


def to_int16(samples: np.ndarray) -> np.ndarray:
    """float32 [-1, 1] -> int16, clipped."""
    return (np.clip(samples, -1.0, 1.0) * 32767.0).astype(np.int16)


def ensure_resampler() -> None:
    """Load soxr now: every voice is resampled, so without it nothing speaks (MissingRuntimeError says why)."""
    require("soxr")


def resample(samples: np.ndarray, src_rate: int, dst_rate: int) -> np.ndarray:
    """Whole-buffer high-quality resampling."""
    if src_rate == dst_rate or samples.size == 0:
        return samples.astype(np.float32, copy=False)
    return np.asarray(require("soxr").resample(samples.astype(np.float32), src_rate, dst_rate), dtype=np.float32)


class StreamResampler:
    """Chunk-by-chunk resampling with state carried across chunks (no edge artefacts)."""

    def __init__(self, src_rate: int, dst_rate: int) -> None:
        self.src_rate = src_rate
        self.dst_rate = dst_rate
        self._stream = None if src_rate == dst_rate else require("soxr").ResampleStream(
            src_rate, dst_rate, 1, dtype="float32")

    def process(self, chunk: np.ndarray, last: bool = False) -> np.ndarray:
        if self._stream is None:
            return chunk.astype(np.float32, copy=False)
        return np.asarray(self._stream.resample_chunk(chunk.astype(np.float32), last=last), dtype=np.float32)

    def flush(self) -> np.ndarray:
        return self.process(np.zeros(0, dtype=np.float32), last=True)


def fade(samples: np.ndarray, rate: int, fade_in: bool = True, fade_out: bool = True, seconds: float = FADE_S) -> np.ndarray:
    """Short raised-cosine fades so joins between sources never click."""
    out = samples.astype(np.float32, copy=True)
    n = min(int(rate * seconds), out.size // 2)
    if n <= 0:
        return out
    ramp = (0.5 - 0.5 * np.cos(np.linspace(0.0, np.pi, n))).astype(np.float32)
    if fade_in:
        out[:n] *= ramp
    if fade_out:
        out[-n:] *= ramp[::-1]
    return out


def trim_silence(samples: np.ndarray, rate: int, threshold_db: float = -45.0, keep_s: float = 0.02) -> np.ndarray:
    """Cut leading and trailing silence (below threshold), keeping a few ms around the speech."""
    if samples.size == 0:
        return samples
    thresh = 10 ** (threshold_db / 20.0)
    loud = np.flatnonzero(np.abs(samples) > thresh)
    if loud.size == 0:
        return samples[:0]
    keep = int(rate * keep_s)
    return samples[max(0, loud[0] - keep) : min(samples.size, loud[-1] + keep + 1)]


def rms_db(samples: np.ndarray) -> float:
    """RMS level in dBFS (-inf for silence)."""
    if samples.size == 0:
        return float("-inf")
    rms = float(np.sqrt(np.mean(np.square(samples, dtype=np.float64))))
    return 20.0 * np.log10(rms) if rms > 0 else float("-inf")


def write_wav(path: Path, samples: np.ndarray, rate: int) -> None:
    """Write float32 mono samples as a 16-bit PCM WAV."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with wave.open(str(path), "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(rate)
        w.writeframes(to_int16(samples).tobytes())


def read_wav(path: Path) -> tuple[np.ndarray, int]:
    """Read a PCM WAV as float32 mono (for tests and tools; daemon.voices.decoding decodes every format)."""
    with wave.open(str(path), "rb") as w:
        rate, width, channels = w.getframerate(), w.getsampwidth(), w.getnchannels()
        raw = w.readframes(w.getnframes())
    dtype = {1: np.uint8, 2: np.int16, 4: np.int32}[width]
    data = np.frombuffer(raw, dtype=dtype)
    if channels > 1:
        data = data.reshape(-1, channels)
    return to_float32(data), rate
