"""Per-engine health for the router: a circuit breaker with backoff and a real-time-factor tracker."""

from __future__ import annotations

import threading
import time
from collections import deque
from dataclasses import dataclass, field


@dataclass
class Breaker:
    """Circuit breaker of one engine: open (down) after a failure until its backoff expires and a probe passes."""

    initial_s: float = 5.0
    max_s: float = 300.0
    failures: int = 0
    down_until: float = 0.0  # monotonic; 0 = closed (healthy)
    reason: str = ""
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    @property
    def down(self) -> bool:
        return self.failures > 0

    def trip(self, reason: str, now: float | None = None) -> float:
        """Mark down; returns the backoff (seconds) before the next probe. Doubles with each failure."""
        with self._lock:
            self.failures += 1
            backoff = min(self.initial_s * (2 ** (self.failures - 1)), self.max_s)
            self.down_until = (time.monotonic() if now is None else now) + backoff
            self.reason = reason
            return backoff

    def reset(self) -> None:
        """Healthy again."""
        with self._lock:
            self.failures = 0
            self.down_until = 0.0
            self.reason = ""

    def probe_due(self, now: float | None = None) -> bool:
        with self._lock:
            return self.failures > 0 and (time.monotonic() if now is None else now) >= self.down_until


class RtfTracker:
    """Real-time factor (synthesis seconds / audio seconds) of the last few sentences of one engine.

    "Sustained" means every one of the last `window` sentences (each with at least `min_audio_s` of audio)
    was slower than the limit: one slow sentence (a cold cache, a long first sentence) is not enough.
    """

    def __init__(self, window: int = 3, min_audio_s: float = 0.3) -> None:
        self.window = window
        self.min_audio_s = min_audio_s
        self._values: deque[float] = deque(maxlen=window)
        self._lock = threading.Lock()

    def add(self, synth_s: float, audio_s: float) -> float | None:
        """Record one sentence; returns its RTF (None when too short to count)."""
        if audio_s < self.min_audio_s:
            return None
        rtf = synth_s / audio_s
        with self._lock:
            self._values.append(rtf)
        return rtf

    def record(self, rtf: float) -> None:
        """Record an RTF measured elsewhere (e.g. by the engine itself)."""
        with self._lock:
            self._values.append(rtf)

    @property
    def latest(self) -> float | None:
        with self._lock:
            return self._values[-1] if self._values else None

    def sustained_above(self, limit: float) -> bool:
        with self._lock:
            return len(self._values) == self.window and min(self._values) > limit

    def clear(self) -> None:
        with self._lock:
            self._values.clear()
