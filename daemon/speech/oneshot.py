"""Speak one text and return: the shared path of `say`, `generate_audio` and scripts."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from pathlib import Path

from daemon.audio import ensure_resampler
from daemon.settings import Settings
from daemon.speech import stack as speech_stack
from daemon.speech.player import Player
from daemon.speech.sinks import AudioSink, WavSink
from daemon.status import StatusBus
from daemon.voices import VoiceRef

log = logging.getLogger(__name__)


@dataclass
class OneShotResult:
    seconds: float
    engines: list[str]
    errors: list[str] = field(default_factory=list)  # why sentences were not spoken
    truncated: bool = False  # longer than max_chars: the rest was not spoken

    @property
    def summary(self) -> str:
        used = sorted(set(self.engines), key=self.engines.index)
        return "engine: " + ", ".join(used) if used else "nothing spoken"


def resolve_voice(settings: Settings, voice: str | None) -> VoiceRef | None:
    """--voice NAME_OR_PATH (or the settings' reference clip) as a VoiceRef."""
    if voice:
        from daemon.voices import VoiceLibrary

        return VoiceLibrary(settings).find(voice)
    path = settings.reference_path
    return VoiceRef(name=path.stem, path=path) if path.is_file() else None


class _Counting:
    """Counts the samples that reach a sink (for the summary line)."""

    def __init__(self, sink: AudioSink) -> None:
        self.sink = sink
        self.output_rate = sink.output_rate
        self.seconds = 0.0

    def play(self, samples, rate):  # type: ignore[no-untyped-def]
        self.seconds += len(samples) / rate
        self.sink.play(samples, rate)

    def end_source(self) -> None:
        self.sink.end_source()

    def stop(self) -> None:
        self.sink.stop()

    def drain(self, timeout: float | None = None) -> bool:
        return self.sink.drain(timeout)

    def close(self) -> None:
        self.sink.close()


def speak_once(
    settings: Settings, text: str, engine: str | None = None, voice: str | None = None, out: Path | None = None,
    max_chars: int | None = None,
) -> OneShotResult:
    """Speak text (engine forced or chosen by health) into the speakers or a WAV file; blocks until done.
    `max_chars`: the longest text spoken (default speak_max_chars; `read` gives read_max_chars)."""
    ensure_resampler()
    if engine is not None:
        settings = settings.model_copy(update={"engine": engine})
    forced = settings.engine != "auto"
    ref = resolve_voice(settings, voice)
    sink = _Counting(
        WavSink(out, volume=settings.volume)
        if out is not None
        else Player(settings.output_device, settings.output_sample_rate, settings.volume)
    )
    stack = speech_stack.build(settings, StatusBus(), sink, probe=False)
    try:
        if settings.engine in ("auto", "xtts") and "xtts" in stack.engines:
            speech_stack.load_xtts_for_cli(stack, settings, forced=settings.engine == "xtts")
        result = stack.pipeline.speak([text], ref, first_fragment=False, max_chars=max_chars)
        used = [e for e in result.engines if e]
        errors = [s.error for s in result.sentences if s.engine is None and s.error]
        if forced and used and set(used) != {settings.engine}:
            log.warning("%s could not speak everything; used %s", settings.engine, ", ".join(sorted(set(used))))
    finally:
        stack.close()
    return OneShotResult(sink.seconds, used, errors, result.truncated)
