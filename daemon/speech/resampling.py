"""Successive audio sources (sentences, engines) joined at one output rate: resampled, faded in and out at
every source boundary so that joins do not click. Used by every sink."""

from __future__ import annotations

import numpy as np

from daemon.audio import StreamResampler, fade

KNEE = 0.8  # above unity gain, peaks beyond this are bent smoothly towards full scale instead of clipping


def limit(data: np.ndarray, knee: float = KNEE) -> np.ndarray:
    """Soft limiter: samples within +-knee pass unchanged; beyond it they approach +-1 along a tanh curve (same
    slope at the knee, never past full scale), so "Loud" does not clip the device's converter."""
    over = np.abs(data) > knee
    if not over.any():
        return data
    out = data.copy()
    x = np.abs(data[over])
    out[over] = np.sign(data[over]) * (knee + (1.0 - knee) * np.tanh((x - knee) / (1.0 - knee)))
    return out


class Resampling:
    """Resamples successive sources to one output rate, fading at every source boundary."""

    def __init__(self, output_rate: int, gain: float = 1.0) -> None:
        self.output_rate = output_rate
        self.gain = gain
        self._resampler: StreamResampler | None = None
        self._fade_in = True

    def convert(self, samples: np.ndarray, rate: int) -> np.ndarray:
        out = np.zeros(0, dtype=np.float32)
        if self._resampler is not None and self._resampler.src_rate != rate:
            out = self.flush()
        if self._resampler is None:
            self._resampler = StreamResampler(rate, self.output_rate)
        data = self._resampler.process(np.asarray(samples, dtype=np.float32).reshape(-1))
        if self.gain != 1.0:
            data = data * np.float32(self.gain)
            if self.gain > 1.0:
                data = limit(data)
        if self._fade_in and data.size:
            data = fade(data, self.output_rate, fade_in=True, fade_out=False)
            self._fade_in = False
        return np.concatenate([out, data]) if out.size else data

    def flush(self) -> np.ndarray:
        """The resampler's tail, faded out; the next source starts with a fade-in."""
        tail = self._resampler.flush() if self._resampler is not None else np.zeros(0, dtype=np.float32)
        self._resampler = None
        self._fade_in = True
        if self.gain == 1.0:
            return tail
        tail = tail * np.float32(self.gain)
        return limit(tail) if self.gain > 1.0 else tail

    def reset(self) -> None:
        self._resampler = None
        self._fade_in = True
