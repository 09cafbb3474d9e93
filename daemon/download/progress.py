"""A download's progress as the tray and the CLI show it: bytes, percent, a smoothed ETA and one human line."""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from daemon.download.manifest import human_bytes

State = Literal["checking", "downloading", "verifying", "done", "failed", "cancelled"]
WHAT = "the cloned voice"


@dataclass(frozen=True)
class DownloadProgress:
    state: State
    done_bytes: int
    total_bytes: int | None
    eta_s: float | None
    message: str  # one line for a tooltip or a terminal; for "failed", what went wrong and what to do
    folder: Path | None = None  # the installed model folder, when done

    @property
    def percent(self) -> int | None:
        if not self.total_bytes:
            return None
        return max(0, min(100, self.done_bytes * 100 // self.total_bytes))

    @property
    def finished(self) -> bool:
        return self.state in ("done", "failed", "cancelled")


def format_eta(seconds: float) -> str:
    """'40 s left', '2 min left', '1 h 05 min left'."""
    s = max(0, round(seconds))
    if s < 60:
        return f"{max(s, 1)} s left"
    minutes = round(s / 60)
    if minutes < 90:
        return f"{minutes} min left"
    return f"{minutes // 60} h {minutes % 60:02d} min left"


def downloading_message(done: int, total: int | None, eta_s: float | None) -> str:
    """'Downloading the cloned voice: 43 %, 2 min left'."""
    if not total:
        return f"Downloading {WHAT}: {human_bytes(done)}"
    text = f"Downloading {WHAT}: {min(100, done * 100 // total)} %"
    return f"{text}, {format_eta(eta_s)}" if eta_s is not None else text


class RateMeter:
    """Bytes per second, smoothed (an exponential moving average over samples at least `every_s` apart), so
    the ETA does not jump with each burst; None until there is something to go on."""

    def __init__(self, every_s: float = 0.5, alpha: float = 0.3) -> None:
        self.every_s = every_s
        self.alpha = alpha
        self._t0: float | None = None
        self._bytes0 = 0
        self.rate: float | None = None

    def add(self, received_total: int, now: float | None = None) -> None:
        """`received_total`: bytes received in this run so far (resumed bytes do not count)."""
        now = time.monotonic() if now is None else now
        if self._t0 is None:
            self._t0, self._bytes0 = now, received_total
            return
        dt = now - self._t0
        if dt < self.every_s:
            return
        sample = (received_total - self._bytes0) / dt
        self.rate = sample if self.rate is None else self.alpha * sample + (1 - self.alpha) * self.rate
        self._t0, self._bytes0 = now, received_total

    def eta(self, remaining: int | None) -> float | None:
        """Seconds left at the current rate; None when there is no rate yet (or a stalled one), or nothing is left
        that the total knows of (more arrived than the server's estimate said)."""
        if remaining is None or remaining <= 0 or not self.rate or self.rate <= 0:
            return None
        return remaining / self.rate
