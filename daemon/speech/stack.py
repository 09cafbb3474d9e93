"""The speech stack shared by the daemon and the CLI: engines -> router -> pipeline -> sink."""

from __future__ import annotations

import logging
import sys
import threading
from collections.abc import Callable
from dataclasses import dataclass

from daemon import paths
from daemon.errors import EngineError, EngineUnavailableError
from daemon.live import SettingsSource
from daemon.settings import Settings
from daemon.speech import language
from daemon.speech.engines.base import Engine
from daemon.speech.factory import build_engines
from daemon.speech.pipeline import Pipeline
from daemon.speech.router import Router
from daemon.speech.sinks import AudioSink
from daemon.status import StatusBus
from daemon.voices import VoiceRef

log = logging.getLogger(__name__)


@dataclass
class SpeechStack:
    engines: dict[str, Engine]
    router: Router
    pipeline: Pipeline
    sink: AudioSink

    def prepare_voice(self, voice: VoiceRef) -> None:
        """Let every ready engine precompute what it needs for `voice`, in the background (logged, never raised)."""

        def work() -> None:
            for engine in self.engines.values():
                try:
                    if engine.ready():
                        engine.prepare_voice(voice)
                except Exception as exc:
                    log.warning("%s could not prepare the voice %s: %s", engine.label, voice.name, exc)

        threading.Thread(target=work, name="prepare-voice", daemon=True).start()

    def warm_audio(self) -> None:
        """Start the output stream and load the language detector in the background (at the ask or talk hotkey:
        while the user types or speaks), so that the first sentence plays at once."""
        warm = getattr(self.sink, "warm", None)
        if warm is not None:
            threading.Thread(target=warm, name="audio-warm", daemon=True).start()
        language.preload()  # not at start: 49 MB resident until the first question (bench/memory.py)

    def close(self) -> None:
        """Stop speaking and release everything (pipeline, router, sink, engines)."""
        self.pipeline.close()
        self.router.close()
        self.sink.close()
        for engine in self.engines.values():
            try:
                engine.close()
            except Exception:
                log.exception("closing engine %s failed", engine.name)


def build(
    settings: Settings | SettingsSource,
    status: StatusBus,
    sink: AudioSink,
    *,
    headroom: Callable[[], bool] | None = None,
    on_oom: Callable[[], None] | None = None,
    probe: bool = True,
) -> SpeechStack:
    """Every part reads `settings` (a snapshot, or the daemon's provider) at each use."""
    engines = build_engines(settings, status)
    router = Router(engines, settings, status, headroom, on_oom=on_oom, probe=probe)
    return SpeechStack(engines, router, Pipeline(router, sink, settings, status), sink)


def print_progress(stage: str, fraction: float | None) -> None:
    """Progress of long work (model download, warm-up, latents) on stderr, for the CLI."""
    pct = f" {fraction * 100:5.1f}%" if fraction is not None else ""
    print(f"\r{stage}{pct}   ", end="" if fraction is not None and fraction < 1 else "\n", file=sys.stderr, flush=True)


def load_xtts_for_cli(stack: SpeechStack, settings: Settings, forced: bool) -> None:
    """Load XTTS before a one-shot command: a forced engine must load or fail loudly; auto falls back."""
    engine = stack.engines.get("xtts")
    if engine is None:
        if forced:
            raise EngineUnavailableError(f"XTTS could not be set up here; run `{paths.command()} doctor` to see why")
        return
    try:
        engine.load(progress=print_progress)  # type: ignore[attr-defined]
    except EngineError as exc:
        if forced:
            raise
        log.warning("XTTS unavailable, falling back: %s", exc)
        print(f"XTTS unavailable ({exc}); using the next engine.", file=sys.stderr)
