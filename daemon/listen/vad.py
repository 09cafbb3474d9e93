"""Streaming voice-activity detection for "end of speech": Silero VAD (the ONNX model faster-whisper ships).

    vad = SpeechDetector(pause_s=0.8)
    for chunk in chunks16k:                  # float32 mono at 16 kHz, any sizes
        vad.feed(chunk)
        vad.speaking, vad.heard_speech       # in speech now / any speech so far
        vad.silence_s                        # seconds of silence since the last speech frame (0 while speaking)
        vad.speech_end_sample                # sample index just past the last speech frame (None before speech)

Silero scores 512-sample frames (32 ms), each with the 64 samples before it as context, so frames can be scored
as they arrive (the model's state carried between calls) and the result matches scoring the whole
recording at once. Hysteresis as in faster-whisper's
own VAD: a frame starts speech at `threshold`, and speech continues until a frame falls below `threshold - 0.15`.
"""

from __future__ import annotations

import numpy as np

from daemon.listen import RATE, whisperlib

FRAME = 512
CONTEXT = 64
FRAME_S = FRAME / RATE


def load_model() -> object:
    """faster-whisper's Silero VAD model (loaded once per process); MissingRuntimeError when onnxruntime or
    ctranslate2 cannot load for lack of the Visual C++ Redistributable."""
    return whisperlib.load("faster_whisper.vad").get_vad_model()


class SpeechDetector:
    """Feeds on 16 kHz audio and tracks speech / silence frame by frame."""

    def __init__(self, *, threshold: float = 0.5, min_speech_s: float = 0.15, model: object | None = None) -> None:
        self.threshold = threshold
        self.neg_threshold = max(threshold - 0.15, 0.01)
        self.min_speech_frames = max(1, round(min_speech_s / FRAME_S))
        self._model = model if model is not None else load_model()
        self._pending = np.zeros(0, dtype=np.float32)
        self._context = np.zeros(CONTEXT, dtype=np.float32)
        self._h = np.zeros((1, 1, 128), dtype=np.float32)  # the model's state, carried from call to call
        self._c = np.zeros((1, 1, 128), dtype=np.float32)
        self.frames = 0  # frames scored so far
        self.speaking = False
        self._run = 0  # consecutive speech frames while not yet speaking
        self.speech_frames = 0
        self.speech_start_sample: int | None = None
        self.speech_end_sample: int | None = None  # just past the last speech frame

    @property
    def heard_speech(self) -> bool:
        return self.speech_start_sample is not None

    @property
    def samples(self) -> int:
        return self.frames * FRAME

    @property
    def silence_s(self) -> float:
        """Seconds of non-speech since the last speech frame (0 while speaking or before any speech)."""
        if self.speaking or self.speech_end_sample is None:
            return 0.0
        return (self.samples - self.speech_end_sample) / RATE

    def feed(self, chunk: np.ndarray) -> None:
        data = np.concatenate([self._pending, np.asarray(chunk, dtype=np.float32).reshape(-1)])
        n = data.size // FRAME
        self._pending = data[n * FRAME:]
        if n == 0:
            return
        frames = data[: n * FRAME].reshape(n, FRAME)
        contexts = np.concatenate([self._context[None, :], frames[:-1, -CONTEXT:]], axis=0)
        self._context = frames[-1, -CONTEXT:].copy()
        probs = self._score(np.concatenate([contexts, frames], axis=1))
        for p in probs:
            self._step(float(p))

    def _score(self, batch: np.ndarray) -> np.ndarray:
        session = self._model.session  # type: ignore[attr-defined]
        out, self._h, self._c = session.run(None, {"input": batch.astype(np.float32), "h": self._h, "c": self._c})
        return np.asarray(out, dtype=np.float32).reshape(-1)

    def _step(self, p: float) -> None:
        index = self.frames
        self.frames += 1
        if self.speaking:
            if p >= self.neg_threshold:
                self.speech_frames += 1
                self.speech_end_sample = (index + 1) * FRAME
            else:
                self.speaking = False
            return
        if p >= self.threshold:
            self._run += 1
            if self._run >= self.min_speech_frames or self.heard_speech:
                self.speaking = True
                if self.speech_start_sample is None:
                    self.speech_start_sample = (index + 1 - self._run) * FRAME
                self.speech_frames += self._run
                self.speech_end_sample = (index + 1) * FRAME
                self._run = 0
        else:
            self._run = 0
