"""Question -> first audio, per engine, with a stand-in LLM whose first token arrives after a fixed delay.

    .venv/bin/python bench/pipeline_latency.py [--runs 5] [--first-token 0.3] [--token 0.0333] [--engines system,edge,xtts]
    .venv/bin/python bench/pipeline_latency.py --quick    # seconds: one run, system voice, a fast stand-in (CI)

The stand-in sends one token (a word) every --token seconds: 30 tokens/s by default. Table 1 compares, per
engine, the hotkey -> first audio time when the reply's first sentence waits to be complete ("whole first
sentence", first_fragment_words = 0) with starting at its first clause ("first clause", first_fragment_words =
3, the default), side by side with the ratio. Table 2 (first clause on) runs the real Assistant (LLMClient ->
Pipeline -> Router -> engine -> a null sink) and reports medians of:
  llm first sentence  when the stand-in had sent the first sentence (and the token after it, which is what
                      tells any splitter the sentence ended), from the moment the question was asked
  engine first chunk  the engine's own time from being handed the first sentence to its first audio chunk
  first audio         question asked -> first audio handed to the output
  overhead            first audio - llm first sentence - engine first chunk: VoxTray's own cost (target < 20 ms)
  wait-whole          first audio when the whole LLM answer is awaited before speaking (no streaming)
  ratio               wait-whole / first audio
The hotkey is taken as pressed when the question is asked (the question box's typing is the user's time).
Engines: system (espeak-ng/SAPI5), edge (the real edge-tts client against the local websocket stand-in from
tests/fixtures/edge_server.py), xtts (the tiny random-weight XTTS from tests/fixtures/xtts.py, on the CPU).
"""

from __future__ import annotations

import argparse
import json
import logging
import statistics
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from daemon.assistant import Assistant  # noqa: E402
from daemon.brain.client import LLMClient  # noqa: E402
from daemon.brain.conversation import Conversation  # noqa: E402
from daemon.settings import Settings  # noqa: E402
from daemon.speech.engines.base import Engine, VoiceRef  # noqa: E402
from daemon.speech.pipeline import Pipeline  # noqa: E402
from daemon.speech.router import Router  # noqa: E402
from daemon.speech.sentences import SentenceSplitter  # noqa: E402
from daemon.status import StatusBus  # noqa: E402
from tests.fixtures.llm_server import start_llm_server  # noqa: E402

ANSWER = ("When sunlight enters the air, blue light scatters much more than red light, so the whole sky looks "
          "blue. At sunset the light crosses more air and looks red.")
TOKENS = [w + " " for w in ANSWER.split()]
FRAGMENT_WORDS = 3  # the default of settings.first_fragment_words


class NullSink:
    """Accepts audio instantly (the player's own latency is measured in tests/test_player.py)."""

    output_rate = 48000

    def play(self, samples: np.ndarray, rate: int) -> None: ...
    def end_source(self) -> None: ...
    def stop(self) -> None: ...
    def drain(self, timeout: float | None = None) -> bool:
        return True
    def close(self) -> None: ...


def first_sentence_tokens(fragment_words: int) -> tuple[int, str]:
    """How many tokens the LLM must send before the splitter hands out the first piece, and that piece."""
    splitter = SentenceSplitter(first_fragment_words=fragment_words)
    for i, tok in enumerate(TOKENS):
        out = splitter.feed(tok)
        if out:
            return i + 1, out[0]
    return len(TOKENS), (splitter.close() or [""])[0]


class TimedEngine(Engine):
    """Delegates to an engine and records, per sentence, the time from stream() to its first chunk."""

    def __init__(self, inner: Engine) -> None:
        self.inner = inner
        self.name, self.sample_rate, self.settings = inner.name, inner.sample_rate, inner.settings
        for key in ("label", "status_tier", "gpu_bound", "last_resort", "can_probe", "speaks"):  # the router reads these
            setattr(self, key, getattr(inner, key))
        self.first_chunk_s: list[float] = []

    def ready(self) -> bool:
        return self.inner.ready()

    def stream(self, text: str, voice: VoiceRef | None = None, language: str = "") -> Iterator[np.ndarray]:
        t0 = time.monotonic()
        first = True
        for chunk in self.inner.stream(text, voice, language):
            if first:
                self.first_chunk_s.append(time.monotonic() - t0)
                first = False
            self.sample_rate = self.inner.sample_rate
            yield chunk


def measure(name: str, engine: Engine, voice: VoiceRef | None, settings: Settings, args: argparse.Namespace,
            fragment_words: int = FRAGMENT_WORDS, whole: bool = True) -> dict:
    status = StatusBus()
    timed = TimedEngine(engine)
    settings = settings.model_copy(update={"xtts_max_rtf": 1000.0, "first_fragment_words": fragment_words})
    router = Router({name: timed}, settings, status, probe=False)
    pipeline = Pipeline(router, NullSink(), settings, status)
    n_first, first_sentence = first_sentence_tokens(fragment_words)
    for _ in range(2):  # warm-up (first calls of some engines are slow or empty)
        try:
            engine.synthesize(first_sentence, voice)
        except Exception as exc:
            logging.debug("warm-up: %s", exc)
    srv = start_llm_server(api="ollama", tokens=TOKENS, delay_s=args.token, first_token_delay_s=args.first_token)
    client = LLMClient(settings.model_copy(update={"remote_llm_url": srv.url}))
    client.model()  # detection and model pick happen once per client, not per question
    assistant = Assistant(client, Conversation(0), pipeline, status, voice=voice)
    rows: dict[str, list[float]] = {k: [] for k in ("llm", "chunk", "audio", "overhead", "whole")}
    try:
        for _ in range(args.runs):
            timed.first_chunk_s.clear()
            assistant.ask("Why is the sky blue?", t_hotkey=time.monotonic())
            assistant.wait_idle(120)
            chunk = timed.first_chunk_s[0]
            t = assistant.last_timings
            assert t is not None and t.first_audio is not None and t.request is not None, t
            # the stand-in's token clock: request -> first token delay, then one token per `token` seconds
            llm = (t.first_token or t.request) - t.submitted + (n_first - 1) * args.token
            audio = t.first_audio - (t.hotkey or t.submitted)
            rows["llm"].append(llm)
            rows["audio"].append(audio)
            rows["chunk"].append(chunk)
            rows["overhead"].append(audio - llm - chunk)
            if not whole:
                continue
            # no streaming: the whole answer first, then speak it
            t0 = time.monotonic()
            text = "".join(client.chat([{"role": "user", "content": "Why is the sky blue?"}]))
            result = pipeline.speak_text(text, voice)
            rows["whole"].append((result.timings.first_audio or time.monotonic()) - t0)
    finally:
        assistant.close()
        pipeline.close()
        router.close()
        srv.stop()
    med = {k: statistics.median(v) if v else float("nan") for k, v in rows.items()}
    return {"engine": name, **med, "ratio": med["whole"] / med["audio"], "first": first_sentence}


def build_engines(names: list[str]) -> list[tuple[str, Engine, VoiceRef | None, Settings, Callable[[], None]]]:
    out: list[tuple[str, Engine, VoiceRef | None, Settings, Callable[[], None]]] = []
    for name in names:
        if name == "system":
            from daemon.speech.engines.system import SystemEngine

            s = Settings(engine="system", use_local_cloning=False)
            eng: Any = SystemEngine(s)
            out.append((name, eng, None, s, eng.close))
        elif name == "edge":
            import edge_tts.communicate
            import edge_tts.voices

            from daemon.speech.engines.edge import EdgeEngine
            from tests.fixtures.edge_server import EdgeStandIn, _ServerThread

            standin = EdgeStandIn()
            server = _ServerThread(standin)
            server.start()
            edge_tts.communicate.WSS_URL = standin.wss_url  # type: ignore[attr-defined]
            edge_tts.voices.VOICE_LIST = standin.voices_url  # type: ignore[attr-defined]
            s = Settings(engine="edge", use_local_cloning=False)
            eng = EdgeEngine(s)
            out.append((name, eng, None, s, lambda e=eng, srv=server: (e.close(), srv.stop())))
        elif name == "xtts":
            from daemon.speech.xtts.engine import XttsEngine
            from tests.fixtures.xtts import ensure_tiny_xtts

            folder = ensure_tiny_xtts()
            ref = ROOT.parent / "shared" / "audio" / "ljspeech" / "LJ001-0001.wav"
            s = Settings(engine="xtts", xtts_model_path=str(folder), xtts_allow_cpu=True,
                         cloning_reference_file=str(ref), xtts_first_chunk_tokens=4, xtts_chunk_tokens=8)
            eng = XttsEngine(s)
            eng.load()
            out.append((name, eng, VoiceRef("lj", ref), s, eng.close))
    return out


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--runs", type=int, default=5)
    p.add_argument("--first-token", type=float, default=0.3, help="stand-in LLM: seconds to the first token")
    p.add_argument("--token", type=float, default=1 / 30, help="stand-in LLM: seconds between tokens (30/s)")
    p.add_argument("--engines", default="system,edge,xtts")
    p.add_argument("--quick", action="store_true", help="one run, system voice only, a fast stand-in (seconds; CI)")
    args = p.parse_args(argv)
    if args.quick:
        args.runs, args.engines, args.first_token, args.token = 1, "system", 0.02, 0.002
    logging.basicConfig(level=logging.WARNING)
    print(f"stand-in LLM: first token after {args.first_token * 1000:.0f} ms, then one token every "
          f"{args.token * 1000:.1f} ms ({1 / args.token:.0f} tokens/s); {len(TOKENS)} tokens; medians of "
          f"{args.runs} runs")
    print(f"first sentence: {first_sentence_tokens(0)[1]!r}; first clause: {first_sentence_tokens(FRAGMENT_WORDS)[1]!r}\n")
    results = []
    for name, eng, voice, settings, close in build_engines(args.engines.split(",")):
        try:
            before = measure(name, eng, voice, settings, args, fragment_words=0, whole=False)
            after = measure(name, eng, voice, settings, args)
        finally:
            close()
        results.append((before, after))
    print("1. hotkey -> first audio: the whole first sentence (before) vs its first clause (after)")
    print(f"{'engine':<8}{'before':>10}{'after':>10}{'ratio':>8}")
    for before, after in results:
        print(f"{after['engine']:<8}{before['audio'] * 1000:>7.0f} ms{after['audio'] * 1000:>7.0f} ms"
              f"{before['audio'] / after['audio']:>7.2f}x")
    print("\n2. where the time goes (first clause on)")
    print(f"{'engine':<8}{'llm 1st piece':>15}{'engine 1st chunk':>18}{'first audio':>13}"
          f"{'overhead':>10}{'wait-whole':>12}{'ratio':>7}")
    for _before, r in results:
        print(f"{r['engine']:<8}{r['llm'] * 1000:>12.0f} ms{r['chunk'] * 1000:>15.0f} ms{r['audio'] * 1000:>10.0f} ms"
              f"{r['overhead'] * 1000:>7.1f} ms{r['whole'] * 1000:>9.0f} ms{r['ratio']:>6.2f}x", flush=True)
    for before, after in results:
        print(json.dumps({"bench": "first_fragment", "engine": after["engine"], "tokens_per_s": round(1 / args.token),
                          "before_first_audio_s": round(before["audio"], 3),
                          "after_first_audio_s": round(after["audio"], 3)}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
