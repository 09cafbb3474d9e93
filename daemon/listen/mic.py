"""The microphone: a sounddevice InputStream at the device's own rate, resampled to 16 kHz, kept in memory.

    mic = Microphone(settings.input_device)   # raises AudioDeviceError (NO_INPUT_HELP) when there is no microphone
    mic.start()                               # opens the stream; `mic.live` is set once audio arrives
    chunk = mic.read(timeout=0.05)            # float32 mono 16 kHz (None: nothing new yet); the arrival time
    mic.stop()                                #   of the latest chunk is `mic.t_latest`

The PortAudio callback only copies the block into a queue; resampling happens in `read()` on the caller's thread.
"""

from __future__ import annotations

import logging
import queue
import threading
import time
from typing import Any

import numpy as np

from daemon import paths
from daemon.errors import AudioDeviceError
from daemon.listen import RATE
from daemon.winruntime import require

log = logging.getLogger(__name__)

BLOCK_S = 0.02
NO_INPUT_HELP = (
    "No microphone (audio input device) was found. Plug one in or enable it, or set input_device in "
    f"settings.json to one listed by `{paths.command()} doctor`. You can still type your question (the ask hotkey)."
)


def input_devices() -> list[tuple[int, dict[str, Any]]]:
    """Every device with input channels, as (index, info)."""
    import sounddevice as sd

    try:
        devices = list(sd.query_devices())
    except Exception as exc:  # PortAudio missing or broken
        raise AudioDeviceError(f"The audio system could not be queried ({exc}). {NO_INPUT_HELP}") from None
    return [(i, dict(d)) for i, d in enumerate(devices) if d.get("max_input_channels", 0) > 0]


def resolve_input_device(device: str | int | None) -> tuple[int | None, dict[str, Any]]:
    """The microphone named in settings (name substring or index; None = the default input)."""
    import sounddevice as sd

    inputs = input_devices()
    if not inputs:
        raise AudioDeviceError(NO_INPUT_HELP)
    if device is None or device == "":
        try:
            return None, dict(sd.query_devices(kind="input"))
        except Exception:
            return inputs[0]
    for i, d in inputs:
        if (isinstance(device, int) and i == device) or (
            isinstance(device, str) and device.lower() in str(d.get("name", "")).lower()
        ):
            return i, d
    names = "; ".join(f"{i}: {d['name']}" for i, d in inputs)
    raise AudioDeviceError(f"input_device {device!r} was not found. Microphones here: {names}.")


class _Resampler:
    """Block-by-block resampling with soxr's state carried across blocks (no edge artefacts)."""

    def __init__(self, src: int, dst: int) -> None:
        self._stream = None if src == dst else require("soxr").ResampleStream(src, dst, 1, dtype="float32")

    def process(self, block: np.ndarray) -> np.ndarray:
        block = np.asarray(block, dtype=np.float32)
        return block if self._stream is None else np.asarray(self._stream.resample_chunk(block), dtype=np.float32)

    def release(self) -> None:
        """Drop soxr's stream: one still referenced when Python exits makes nanobind print ~15 "leaked" lines."""
        self._stream = None


class Microphone:
    """One capture stream; start() / read() / stop(). Thread-safe enough for one reader."""

    def __init__(self, device: str | int | None = None) -> None:
        self._device, info = resolve_input_device(device)
        self.device_name = str(info.get("name", "default"))
        self.device_rate = int(info.get("default_samplerate") or 48000)
        self._channels = 1
        self._max_channels = int(info.get("max_input_channels") or 1)
        self._queue: queue.SimpleQueue[tuple[np.ndarray, float]] = queue.SimpleQueue()
        self._resampler = _Resampler(self.device_rate, RATE)
        self._stream: Any = None
        self.live = threading.Event()  # set by the first block of audio
        self.t_latest: float | None = None  # time.monotonic() when the latest block read arrived
        self.overflows = 0

    def _callback(self, indata: np.ndarray, frames: int, _time: Any, status: Any) -> None:
        if status and getattr(status, "input_overflow", False):
            self.overflows += 1
        block = indata[:, 0].copy() if self._channels == 1 else indata.mean(axis=1).astype(np.float32)
        self._queue.put((block, time.monotonic()))
        self.live.set()

    def start(self) -> None:
        import sounddevice as sd

        if self._stream is not None:
            return
        self._resampler = _Resampler(self.device_rate, RATE)  # fresh state (and a new one after release())
        last: Exception | None = None
        for channels in dict.fromkeys((1, min(2, self._max_channels))):  # some hardware refuses mono
            try:
                self._channels = channels
                stream = sd.InputStream(device=self._device, channels=channels, samplerate=self.device_rate,
                                        dtype="float32", blocksize=int(self.device_rate * BLOCK_S), latency="low",
                                        callback=self._callback)
                stream.start()
            except Exception as exc:  # PortAudioError, ValueError
                last = exc
                continue
            self._stream = stream
            log.info("microphone open: %s at %d Hz (%d ch)", self.device_name, self.device_rate, channels)
            return
        raise AudioDeviceError(f"the microphone {self.device_name!r} could not be opened ({last}). {NO_INPUT_HELP}")

    def read(self, timeout: float = 0.05) -> np.ndarray | None:
        """Everything captured since the last read, at 16 kHz (None when nothing arrived within timeout)."""
        try:
            first = self._queue.get(timeout=timeout)
        except queue.Empty:
            if self._stream is None:  # stopped and drained: nothing of soxr outlives the question
                self._resampler.release()
            return None
        blocks = [first]
        while True:
            try:
                blocks.append(self._queue.get_nowait())
            except queue.Empty:
                break
        self.t_latest = blocks[-1][1]
        raw = np.concatenate([b for b, _ in blocks])
        return self._resampler.process(raw)

    def stop(self) -> None:
        stream, self._stream = self._stream, None
        if stream is None:
            return
        try:
            stream.stop()
            stream.close()
        except Exception:
            log.debug("closing the microphone failed", exc_info=True)
        log.info("microphone closed (%d overflows)", self.overflows)
