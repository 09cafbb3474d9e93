"""Speak one text and return: the shared path of `say`, `generate_audio` and scripts."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path

from daemon.errors import EngineUnavailableError
from daemon.settings import Settings
from daemon.speech.engines.base import Engine, VoiceRef
from daemon.speech.player import AudioSink, Player, WavSink
from daemon.speech.text import split_sentences

log = logging.getLogger(__name__)


@dataclass
class OneShotResult:
    seconds: float
    engines: list[str]

    @property
    def summary(self) -> str:
        used = sorted(set(self.engines), key=self.engines.index)
        return "engine: " + ", ".join(used) if used else "nothing spoken"


def make_engine(name: str, settings: Settings) -> Engine:
    """One engine by name."""
    if name == "system":
        from daemon.speech.engines.system import SystemEngine

        return SystemEngine(settings)
    raise EngineUnavailableError(f"engine {name!r} is not available in this build")


def resolve_voice(settings: Settings, voice: str | None) -> VoiceRef | None:
    """--voice NAME_OR_PATH (or the settings' reference clip) as a VoiceRef."""
    target = voice or settings.cloning_reference_file
    path = Path(target)
    if not path.is_absolute():
        for candidate in (settings.resolve(target), settings.voices_path / target, settings.voices_path / f"{target}.wav"):
            if candidate.is_file():
                path = candidate
                break
    return VoiceRef(name=path.stem, path=path if path.is_file() else None)


def speak_once(
    settings: Settings, text: str, engine: str | None = None, voice: str | None = None, out: Path | None = None
) -> OneShotResult:
    """Speak text with the chosen engine into the speakers or a WAV file; blocks until done."""
    choice = engine or settings.engine
    name = "system" if choice == "auto" else choice
    eng = make_engine(name, settings)
    sink: AudioSink = (
        WavSink(out, volume=settings.volume)
        if out is not None
        else Player(settings.output_device, settings.output_sample_rate, settings.volume)
    )
    used: list[str] = []
    total = 0
    try:
        ref = resolve_voice(settings, voice)
        for sentence in split_sentences(text):
            for chunk in eng.stream(sentence, ref):
                sink.play(chunk, eng.sample_rate)
                total += chunk.size * sink.output_rate // eng.sample_rate
            sink.end_source()
            used.append(eng.name)
        sink.drain(timeout=max(5.0, total / sink.output_rate + 5.0))
    finally:
        sink.close()
        eng.close()
    return OneShotResult(total / sink.output_rate, used)
