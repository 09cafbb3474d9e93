"""The last utterance's audio, kept for "Repeat the last answer": what reached the sink, chunk by chunk, at the
engines' own rates (before the player's resampling), with the sentence joins.

A recording is bounded: past `max_s` seconds its audio is dropped at once (memory freed, `over` set) and the
repeat re-synthesises the text instead. About 96 kB a second at 24 kHz float32, so the default 300 s is ~29 MB.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field

import numpy as np

from daemon.speech.sinks import SampleSink


@dataclass
class Clip:
    """One utterance's audio as played: (samples, rate) chunks and None where a source (sentence) ended."""

    utterance: int
    max_s: float
    parts: list[tuple[np.ndarray, int] | None] = field(default_factory=list)
    seconds: float = 0.0
    over: bool = False  # longer than max_s: nothing kept

    def add(self, samples: np.ndarray, rate: int) -> None:
        if self.over:
            return
        self.seconds += samples.size / rate
        if self.seconds > self.max_s:
            self.over, self.parts = True, []
            return
        self.parts.append((np.array(samples, dtype=np.float32, copy=True).reshape(-1), rate))

    def end_source(self) -> None:
        if not self.over:
            self.parts.append(None)

    def play(self, sink: SampleSink, cancel: threading.Event) -> None:
        """Hand the audio to `sink` again, as it was first played (blocks on the sink's back-pressure)."""
        for part in self.parts:
            if cancel.is_set():
                return
            if part is None:
                sink.end_source()
            else:
                sink.play(*part)
