"""edge-tts engine (tier 2): Microsoft's online neural voices, MP3 decoded in-process as it streams.

The asyncio client runs on one event-loop thread per engine; decoded float32 chunks cross to the caller's
(synchronous) iterator through a bounded queue, so the first sound comes from the first MP3 frames.
"""

from __future__ import annotations

import asyncio
import logging
import math
import queue
import re
import threading
from collections.abc import Iterator
from concurrent.futures import Future
from dataclasses import dataclass
from typing import Any

import numpy as np

from daemon import paths
from daemon.audio import resample, to_float32
from daemon.errors import EngineError, EngineTimeoutError, EngineUnavailableError
from daemon.settings import Settings
from daemon.speech.engines.base import Engine
from daemon.speech.engines.edge_voices import voice_for
from daemon.status import Tier
from daemon.voices import VoiceRef

log = logging.getLogger(__name__)

SAMPLE_RATE = 24000
QUEUE_CHUNKS = 64
NEURAL_VOICE = re.compile(r"^[a-z]{2,3}-[A-Z]{2}(-\w+)?-\w+Neural$")
HELP_NET = "Check the internet connection (edge-tts needs speech.platform.bing.com); the router uses the next voice."


@dataclass(frozen=True)
class _Audio:
    data: np.ndarray


@dataclass(frozen=True)
class _End:
    pass


@dataclass(frozen=True)
class _Error:
    error: EngineError


class Mp3Decoder:
    """Incremental MP3 -> float32 mono at 24 kHz: feed bytes as they arrive, get whatever decoded so far."""

    def __init__(self, rate: int = SAMPLE_RATE) -> None:
        import av

        self.rate = rate
        self._codec = av.CodecContext.create("mp3", "r")

    def feed(self, data: bytes | None) -> np.ndarray:
        """Decode `data` (None flushes the parser and decoder at the end of the stream)."""
        out: list[np.ndarray] = []
        packets = self._codec.parse(data)
        for packet in packets:
            out.extend(self._frames(packet))
        if data is None:
            out.extend(self._frames(None))
        return np.concatenate(out) if out else np.zeros(0, dtype=np.float32)

    def _frames(self, packet: Any) -> list[np.ndarray]:
        res: list[np.ndarray] = []
        for frame in self._codec.decode(packet):
            arr = frame.to_ndarray()
            channels = len(frame.layout.channels)
            arr = arr.reshape(channels, -1).T if frame.format.is_planar else arr.reshape(-1, channels)
            mono = to_float32(arr if channels > 1 else arr[:, 0])
            if frame.sample_rate != self.rate:
                mono = resample(mono, frame.sample_rate, self.rate)
            res.append(mono)
        return res


def _map_error(exc: BaseException) -> EngineError:
    """edge-tts / aiohttp failures -> one clear EngineError each."""
    import aiohttp
    from edge_tts import exceptions as ex

    if isinstance(exc, EngineError):
        return exc
    if isinstance(exc, aiohttp.ClientResponseError) and exc.status == 403:
        return EngineUnavailableError(
            "edge-tts refused the request (HTTP 403). This usually means the computer's clock is wrong: "
            "turn on automatic date and time, or update edge-tts."
        )
    if isinstance(exc, ex.SkewAdjustmentError):
        return EngineUnavailableError(f"edge-tts could not correct the clock skew ({exc}). Set the clock right.")
    if isinstance(exc, ex.NoAudioReceived):
        return EngineError(
            "edge-tts sent no audio. Check that 'edge_tts_voice' names an existing voice "
            f"(see `{paths.command()} doctor`)."
        )
    if isinstance(exc, asyncio.TimeoutError | TimeoutError):
        return EngineTimeoutError(f"edge-tts timed out. {HELP_NET}")
    if isinstance(exc, aiohttp.ClientResponseError):
        return EngineError(f"edge-tts answered HTTP {exc.status}. {HELP_NET}")
    if isinstance(exc, aiohttp.ClientError | OSError):
        return EngineError(f"edge-tts is unreachable ({exc.__class__.__name__}: {exc}). {HELP_NET}")
    if isinstance(exc, ex.EdgeTTSException):
        return EngineError(f"edge-tts failed: {exc.__class__.__name__}: {exc}")
    return EngineError(f"edge-tts failed unexpectedly: {exc!r}")


class EdgeEngine(Engine):
    """Streams edge-tts MP3 and yields decoded float32 chunks at 24 kHz."""

    name = "edge"
    label = "edge-tts"
    status_tier = Tier.EDGE
    can_probe = True
    sample_rate = SAMPLE_RATE

    def __init__(self, settings: Settings) -> None:
        try:
            import av  # noqa: F401
            import edge_tts  # noqa: F401
        except ImportError as exc:
            raise EngineUnavailableError(
                f"edge-tts is not installed ({exc}); run pip install -r requirements.txt."
            ) from None
        self.settings = settings
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()
        self._voices: list[dict[str, Any]] | None = None
        self._down_reason = ""

    # ----- loop thread -----
    def _ensure_loop(self) -> asyncio.AbstractEventLoop:
        with self._lock:
            if self._loop is None or self._thread is None or not self._thread.is_alive():
                loop = asyncio.new_event_loop()
                self._thread = threading.Thread(target=loop.run_forever, name="edge-tts-loop", daemon=True)
                self._thread.start()
                self._loop = loop
            return self._loop

    def _timeouts(self) -> tuple[int, int]:
        deadline = self.settings.first_chunk_deadline_s
        return max(1, math.ceil(deadline)), max(2, math.ceil(deadline * 3))

    # ----- Engine contract -----
    def ready(self) -> bool:
        """True unless the last attempt showed the service unreachable (the router probes it back)."""
        return not self._down_reason

    def voice_name(self, voice: VoiceRef | None, language: str = "") -> str:
        """A neural voice picked in the menu; else the voice for the sentence's language (edge_voices)."""
        if voice is not None and NEURAL_VOICE.match(voice.name):
            return voice.name
        s = self.settings
        return voice_for(language, s.edge_tts_voice, s.edge_tts_voices) or s.edge_tts_voice

    def speaks(self, language: str) -> bool:
        s = self.settings
        return voice_for(language, s.edge_tts_voice, s.edge_tts_voices) is not None

    def stream(self, text: str, voice: VoiceRef | None = None, language: str = "") -> Iterator[np.ndarray]:
        loop = self._ensure_loop()
        q: queue.Queue[_Audio | _End | _Error] = queue.Queue(maxsize=QUEUE_CHUNKS)
        stop = threading.Event()
        fut: Future[None] = asyncio.run_coroutine_threadsafe(
            self._produce(text, self.voice_name(voice, language), q, stop), loop
        )
        _, receive_s = self._timeouts()
        try:
            while True:
                try:
                    item = q.get(timeout=receive_s + 1)
                except queue.Empty:
                    raise EngineTimeoutError(f"edge-tts sent nothing for {receive_s + 1} s. {HELP_NET}") from None
                if isinstance(item, _Audio):
                    yield item.data
                elif isinstance(item, _Error):
                    self._down_reason = str(item.error)
                    raise item.error
                else:
                    self._down_reason = ""
                    return
        finally:
            stop.set()
            fut.cancel()

    async def _produce(
        self, text: str, voice: str, q: queue.Queue[_Audio | _End | _Error], stop: threading.Event
    ) -> None:
        import edge_tts

        async def put(item: _Audio | _End | _Error) -> None:
            while not stop.is_set():
                try:
                    q.put_nowait(item)
                    return
                except queue.Full:
                    await asyncio.sleep(0.01)

        connect_s, receive_s = self._timeouts()
        try:
            decoder = Mp3Decoder(self.sample_rate)
            comm = edge_tts.Communicate(
                text,
                voice,
                rate=self.settings.edge_rate(),
                pitch=self.settings.edge_tts_pitch,
                connect_timeout=connect_s,
                receive_timeout=receive_s,
            )
            async for message in comm.stream():
                if stop.is_set():
                    return
                if message["type"] == "audio":
                    pcm = decoder.feed(message["data"])
                    if pcm.size:
                        await put(_Audio(pcm))
            # edge-tts ends quietly when the socket closes early; its byte count is only reset by turn.end.
            if comm.state.get("chunk_audio_bytes", 0):
                raise EngineError(f"edge-tts closed the connection in the middle of a sentence. {HELP_NET}")
            tail = decoder.feed(None)
            if tail.size:
                await put(_Audio(tail))
            await put(_End())
        except asyncio.CancelledError:
            raise
        except BaseException as exc:
            err = _map_error(exc)
            log.debug("edge-tts stream failed: %r", exc)
            await put(_Error(err))

    def probe(self) -> bool:
        """A short real synthesis: True when edge-tts answers with audio."""
        try:
            for _chunk in self.stream("Hello."):
                self._down_reason = ""
                return True
        except EngineError as exc:
            log.debug("edge-tts probe failed: %s", exc)
        return False

    def list_voices(self, refresh: bool = False) -> list[dict[str, Any]]:
        """The service's voice list (cached after the first success). Raises EngineError when unreachable."""
        if self._voices is not None and not refresh:
            return self._voices
        import edge_tts

        loop = self._ensure_loop()
        connect_s, receive_s = self._timeouts()
        fut = asyncio.run_coroutine_threadsafe(
            asyncio.wait_for(edge_tts.list_voices(), timeout=connect_s + receive_s), loop
        )
        try:
            voices = fut.result(timeout=connect_s + receive_s + 1)
        except BaseException as exc:
            fut.cancel()
            raise _map_error(exc) from None
        self._voices = sorted((dict(v) for v in voices), key=lambda v: str(v.get("ShortName", "")))
        return self._voices

    def close(self) -> None:
        with self._lock:
            loop, thread = self._loop, self._thread
            self._loop = self._thread = None
        if loop is not None:
            try:
                asyncio.run_coroutine_threadsafe(_cancel_all(), loop).result(timeout=2.0)
            except Exception:
                log.debug("edge-tts loop shutdown was not clean", exc_info=True)
            loop.call_soon_threadsafe(loop.stop)
            if thread is not None:
                thread.join(timeout=2.0)
            if not loop.is_running():
                loop.close()


async def _cancel_all() -> None:
    """Cancel the loop's other tasks and close its async generators (so nothing is left to a closed loop)."""
    me = asyncio.current_task()
    tasks = [t for t in asyncio.all_tasks() if t is not me]
    for task in tasks:
        task.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)
    await asyncio.get_running_loop().shutdown_asyncgens()
