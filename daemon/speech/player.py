"""Audio output to the sound card: a sounddevice stream fed from a pre-filled buffer.

Engines produce float32 mono chunks at their own rate; the player resamples them to the device's rate
(speech/resampling.py), joins sources without clicks, and stops within a block or two. The PortAudio callback
only copies from the buffer. The other sinks and the sink contract are speech/sinks.py.
"""

from __future__ import annotations

import collections
import logging
import threading
import time
from collections.abc import Callable
from typing import Any

import numpy as np

from daemon.audio import FADE_S, fade
from daemon.errors import AudioDeviceError
from daemon.speech import devices
from daemon.speech.devices import NO_DEVICE_HELP, resolve_device
from daemon.speech.resampling import Resampling

log = logging.getLogger(__name__)

BLOCK_S = 0.01  # callback block: 10 ms, so stop() takes effect within ~2 blocks + device latency
MAX_BUFFER_S = 30.0  # play() blocks beyond this much queued audio (back-pressure)
IDLE_CLOSE_S = 30.0  # the stream is stopped after this long with nothing to play (warm() restarts it)


class Player:
    """Plays float32 chunks through a sounddevice OutputStream opened on first use."""

    on_lost: Callable[[], None] | None = None  # the stream died while playing: called on its own thread, queue kept
    _lost = False  # the stream died (or move_to() is swapping it): nothing reopens it but move_to()

    def __init__(self, device: str | int | None = None, sample_rate: int | None = None, volume: float = 1.0) -> None:
        self._device, info = resolve_device(device)
        self.device_name = str(info.get("name", "default"))
        self.output_rate = int(sample_rate or info.get("default_samplerate") or 48000)
        self._conv = Resampling(self.output_rate, volume)
        self._buf: collections.deque[np.ndarray] = collections.deque()
        self._buffered = 0  # frames queued, not yet handed to the device
        self._offset = 0  # read position in _buf[0]
        self._lock = threading.Lock()
        self._space = threading.Condition(self._lock)
        self._empty = threading.Event()
        self._empty.set()
        self._stopping = False
        self._stop_done = threading.Event()
        self._idle_frames = 0
        self._stream: Any = None
        self._open_lock = threading.Lock()
        self._flowing = threading.Event()  # the device is consuming blocks (not just pre-filling)
        self._first_callback: float | None = None
        self._channels = 1
        self._gen = 0  # bumped by stop(): a play() blocked on back-pressure gives up
        self._paused = False  # pause(): the stream is stopped, the queue and its read position kept

    @property
    def volume(self) -> float:
        return self._conv.gain

    @volume.setter
    def volume(self, gain: float) -> None:
        """Applies from the next chunk queued."""
        self._conv.gain = float(gain)

    @property
    def idle(self) -> bool:
        """Nothing queued or playing."""
        return self._empty.is_set()

    # --- producer side -------------------------------------------------------------------------
    def play(self, samples: np.ndarray, rate: int) -> None:
        """Queue audio (any rate); blocks only while more than MAX_BUFFER_S is already queued."""
        data = self._conv.convert(samples, rate)
        self._enqueue(data)

    def end_source(self) -> None:
        """The current source (sentence or engine) ended: flush its resampler and fade the join."""
        tail = self._conv.flush()
        if tail.size:
            self._enqueue(fade(tail, self.output_rate, fade_in=False, fade_out=True))
            return
        with self._lock:
            if self._buf and (len(self._buf) > 1 or self._offset == 0):
                self._buf[-1] = fade(self._buf[-1], self.output_rate, fade_in=False, fade_out=True)

    def _enqueue(self, data: np.ndarray) -> None:
        if data.size == 0:
            return
        self._ensure_stream()
        with self._space:
            gen = self._gen
            limit = int(MAX_BUFFER_S * self.output_rate)
            while self._buffered > limit and gen == self._gen:
                self._space.wait(None if self._paused else 0.1)  # paused: resume() or stop() wakes it
            if gen != self._gen:
                return
            self._buf.append(data.astype(np.float32, copy=False))
            self._buffered += data.size
            self._empty.clear()

    def warm(self, timeout: float | None = None) -> bool:
        """Start the output stream ahead of speech (some hosts, e.g. ALSA over PulseAudio, take seconds to get
        going); with a timeout, wait until the device is consuming audio. The hotkey calls it while the user types.
        """
        self._ensure_stream()
        return self._flowing.wait(timeout) if timeout else self._flowing.is_set()

    def stop(self) -> None:
        """Drop everything queued; the sound stops within a couple of blocks (short fade, no click)."""
        self._conv.reset()
        stream = self._stream
        with self._lock:
            self._paused = False
            self._gen += 1
            self._space.notify_all()
            if stream is None or not stream.active or not self._buf:
                self._clear_locked()
                return
            self._stopping = True
            self._stop_done.clear()
        if not self._stop_done.wait(0.1):  # the callback did not run (device stalled): clear it here
            with self._lock:
                self._stopping = False
                self._clear_locked()

    def drain(self, timeout: float | None = None) -> bool:
        """Wait until everything queued has been played; False on timeout."""
        if not self._empty.wait(timeout):
            return False
        stream = self._stream
        if stream is not None and stream.active:
            time.sleep(min(float(stream.latency or 0.0), 0.5))  # let the device play its own buffer
        return True

    def close(self) -> None:
        """Stop and release the device."""
        self.stop()
        stream, self._stream = self._stream, None
        if stream is not None:
            try:
                stream.close(ignore_errors=True)
            except Exception:
                log.debug("closing the output stream failed", exc_info=True)

    # --- pause -----------------------------------------------------------------------------------
    @property
    def paused(self) -> bool:
        return self._paused

    def pause(self) -> None:
        """Hold the sound at the next sample: the stream is stopped (it plays out what the device already holds,
        then no callbacks run), the queue and its read position are kept, play() keeps queueing up to
        MAX_BUFFER_S; resume() goes on from that sample, stop() drops it all."""
        with self._open_lock:
            with self._lock:
                self._paused = True
            stream = self._stream
            if stream is not None and stream.active:
                stream.stop()  # Pa_StopStream: pending buffers are played, nothing is dropped

    def resume(self) -> None:
        """Go on from the sample where pause() held the sound."""
        with self._open_lock:
            with self._lock:
                if not self._paused:
                    return
                self._paused = False
                self._space.notify_all()
                waiting = bool(self._buf)
            if waiting:
                self._open_stream()

    # --- another device ----------------------------------------------------------------------------
    @property
    def device_open(self) -> bool:
        """The output stream is running (when it is not, re-scanning the devices costs nothing audible)."""
        stream = self._stream
        return stream is not None and bool(stream.active)

    def move_to(self, device: str | int | None, *, rescan: bool = True) -> None:
        """Go on on another output device from the first sample not handed to the old one (the queue is kept; what
        the old device held, at most its output latency, is not replayed). With `rescan`, PortAudio re-reads its
        device list first (this stream closed). Raises AudioDeviceError; the queue then waits for another move_to."""
        with self._open_lock:
            with self._lock:
                self._lost = True  # closing the stream below is no loss to report
            stream, self._stream = self._stream, None
            if stream is not None:
                try:
                    stream.close(ignore_errors=True)
                except Exception:
                    log.debug("closing the old output stream failed", exc_info=True)
            if rescan:
                devices.rescan()
            self._device, info = resolve_device(device)
            self.device_name = str(info.get("name", "default"))
            self._lost = False
        if not self._empty.is_set():  # (not while paused: resume() opens it)
            self._ensure_stream()

    # --- device side ---------------------------------------------------------------------------
    def _clear_locked(self) -> None:
        self._buf.clear()
        self._buffered = 0
        self._offset = 0
        self._empty.set()
        self._stop_done.set()
        self._space.notify_all()

    def _ensure_stream(self) -> None:
        stream = self._stream
        if (stream is not None and stream.active) or self._paused:
            return
        with self._open_lock:  # warm() (hotkey thread) and play() (synthesis thread) may race here
            if not self._paused:
                self._open_stream()

    def _open_stream(self) -> None:
        stream = self._stream
        if (stream is not None and stream.active) or self._lost:  # lost: move_to() reopens it
            return
        import sounddevice as sd

        self._flowing.clear()
        self._first_callback = None
        if stream is not None:
            try:
                stream.stop(ignore_errors=True)
                stream.start()
                self._idle_frames = 0
                return
            except Exception:
                log.warning("audio stream could not restart; reopening the device", exc_info=True)
                stream.close(ignore_errors=True)
                self._stream = None
        last_exc: Exception | None = None
        for channels in (1, 2):
            try:
                stream = sd.OutputStream(
                    samplerate=self.output_rate,
                    blocksize=int(self.output_rate * BLOCK_S),
                    device=self._device,
                    channels=channels,
                    dtype="float32",
                    latency="low",
                    callback=self._callback,
                    finished_callback=self._finished,
                )
                stream.start()
                self._stream, self._channels, self._idle_frames = stream, channels, 0
                log.info("audio out: %s at %d Hz, %d ch", self.device_name, self.output_rate, channels)
                return
            except Exception as exc:
                last_exc = exc
        raise AudioDeviceError(f"The output device {self.device_name!r} could not be opened ({last_exc}). {NO_DEVICE_HELP}")

    def _finished(self) -> None:
        with self._lock:
            if self._paused:  # stopped by pause(): the queue waits for resume()
                return
            if self._lost:  # move_to() closed it
                return
            lost = bool(self._buf) and not self._stopping
            self._lost = lost and self.on_lost is not None
            if not self._lost:
                self._clear_locked()
        if lost and self.on_lost is not None:
            log.warning("the audio device %r stopped while playing (unplugged?): moving on", self.device_name)
            threading.Thread(target=self.on_lost, name="voxtray-audio-lost", daemon=True).start()
        elif lost:
            log.warning("the audio device stopped while playing (unplugged?); the next sentence reopens it")

    def _callback(self, outdata: np.ndarray, frames: int, _time: Any, status: Any) -> None:
        import sounddevice as sd

        out = outdata[:, 0]
        if not self._flowing.is_set():
            now = time.monotonic()
            if self._first_callback is None:
                self._first_callback = now
            elif now - self._first_callback >= 2 * BLOCK_S:  # past the pre-fill: blocks arrive in real time
                self._flowing.set()
        with self._lock:
            pos = 0
            limit = frames
            if self._stopping:
                limit = min(frames, int(self.output_rate * FADE_S))
            while pos < limit and self._buf:
                head = self._buf[0]
                n = min(limit - pos, head.size - self._offset)
                out[pos : pos + n] = head[self._offset : self._offset + n]
                pos += n
                self._offset += n
                self._buffered -= n
                if self._offset >= head.size:
                    self._buf.popleft()
                    self._offset = 0
            out[pos:] = 0.0
            if self._stopping:
                out[:pos] *= np.linspace(1.0, 0.0, pos, dtype=np.float32) if pos else 1.0
                self._stopping = False
                self._clear_locked()
            elif not self._buf:
                self._empty.set()
            self._space.notify_all()
            if pos == 0:
                self._idle_frames += frames
            else:
                self._idle_frames = 0
        if self._channels > 1:
            outdata[:, 1:] = outdata[:, :1]
        if self._idle_frames > IDLE_CLOSE_S * self.output_rate:
            raise sd.CallbackStop
