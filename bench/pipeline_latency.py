"""Question -> first audio, per engine, with a stand-in LLM whose first token arrives after a fixed delay.

    .venv/bin/python bench/pipeline_latency.py [--runs 5] [--first-token 0.3] [--token 0.03] [--engines system,edge,xtts]

For each engine it runs the real Assistant (LLMClient -> Pipeline -> Router -> engine -> a null sink) and
reports medians of:
  llm first sentence  when the stand-in had sent the first sentence (and the token after it, which is what
                      tells any splitter the sentence ended), from the moment the question was asked
  engine first chunk  the engine's own time from being handed the first sentence to its first audio chunk
  first audio         question asked -> first audio handed to the output
  overhead            first audio - llm first sentence - engine first chunk: VoxTray's own cost (target < 20 ms)
  wait-whole          first audio when the whole LLM answer is awaited before speaking (no streaming)
  ratio               wait-whole / first audio
Engines: system (espeak-ng/SAPI5), edge (the real edge-tts client against the local websocket stand-in from
tests/fixtures/edge_server.py), xtts (the tiny random-weight XTTS from tests/fixtures/xtts.py, on the CPU).
"""

from __future__ import annotations

import argparse
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

from daemon.brain.assistant import Assistant  # noqa: E402
from daemon.brain.client import LLMClient  # noqa: E402
from daemon.brain.conversation import Conversation  # noqa: E402
from daemon.settings import Settings  # noqa: E402
from daemon.speech.engines.base import Engine, VoiceRef  # noqa: E402
from daemon.speech.pipeline import Pipeline  # noqa: E402
from daemon.speech.router import Router  # noqa: E402
from daemon.speech.text import SentenceSplitter  # noqa: E402
from daemon.status import StatusBus  # noqa: E402
from tests.fixtures.llm_server import start_llm_server  # noqa: E402

ANSWER = ("Blue light scatters more than red light in the air. That is why the sky looks blue. "
          "At sunset the light crosses more air and looks red.")
TOKENS = [w + " " for w in ANSWER.split()]


class NullSink:
    """Accepts audio instantly (the player's own latency is measured in tests/test_player.py)."""

    output_rate = 48000

    def play(self, samples: np.ndarray, rate: int) -> None: ...
    def end_source(self) -> None: ...
    def stop(self) -> None: ...
    def drain(self, timeout: float | None = None) -> bool:
        return True
    def close(self) -> None: ...


def first_sentence_tokens() -> int:
    """How many tokens the LLM must send before the splitter knows the first sentence ended."""
    splitter = SentenceSplitter()
    for i, tok in enumerate(TOKENS):
        if splitter.feed(tok):
            return i + 1
    return len(TOKENS)


class TimedEngine(Engine):
    """Delegates to an engine and records, per sentence, the time from stream() to its first chunk."""

    def __init__(self, inner: Engine) -> None:
        self.inner = inner
        self.name, self.tier, self.sample_rate = inner.name, inner.tier, inner.sample_rate
        self.first_chunk_s: list[float] = []

    def ready(self) -> bool:
        return self.inner.ready()

    def stream(self, text: str, voice: VoiceRef | None = None) -> Iterator[np.ndarray]:
        t0 = time.monotonic()
        first = True
        for chunk in self.inner.stream(text, voice):
            if first:
                self.first_chunk_s.append(time.monotonic() - t0)
                first = False
            self.sample_rate = self.inner.sample_rate
            yield chunk


def measure(name: str, engine: Engine, voice: VoiceRef | None, settings: Settings, args: argparse.Namespace) -> dict:
    status = StatusBus()
    timed = TimedEngine(engine)
    router = Router({name: timed}, settings.model_copy(update={"xtts_max_rtf": 1000.0}), status, probe=False)
    pipeline = Pipeline(router, NullSink(), settings, status)
    n_first = first_sentence_tokens()
    first_sentence = SentenceSplitter().feed("".join(TOKENS[:n_first]))[0]
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
            assistant.ask("Why is the sky blue?")
            assistant.wait_idle(120)
            chunk = timed.first_chunk_s[0]
            t = assistant.last_timings
            assert t is not None and t.first_audio is not None and t.request is not None, t
            # the stand-in's token clock: request -> first token delay, then one token per `token` seconds
            llm = (t.first_token or t.request) - t.submitted + (n_first - 1) * args.token
            audio = t.first_audio - t.submitted
            rows["llm"].append(llm)
            rows["audio"].append(audio)
            rows["chunk"].append(chunk)
            rows["overhead"].append(audio - llm - chunk)
            # no streaming: the whole answer first, then speak it
            t0 = time.monotonic()
            text = "".join(client.chat([{"role": "user", "content": "Why is the sky blue?"}]))
            result = pipeline.speak_text(text, voice)
            rows["whole"].append((result.first_audio_at or time.monotonic()) - t0)
    finally:
        assistant.close()
        pipeline.close()
        router.close()
        srv.stop()
    med = {k: statistics.median(v) for k, v in rows.items()}
    return {"engine": name, **med, "ratio": med["whole"] / med["audio"]}


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
            from daemon.speech.engines.xtts import XttsEngine
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
    p.add_argument("--token", type=float, default=0.03, help="stand-in LLM: seconds between tokens")
    p.add_argument("--engines", default="system,edge,xtts")
    args = p.parse_args(argv)
    logging.basicConfig(level=logging.WARNING)
    print(f"stand-in LLM: first token after {args.first_token * 1000:.0f} ms, then one token every "
          f"{args.token * 1000:.0f} ms; {len(TOKENS)} tokens; medians of {args.runs} runs\n")
    header = (f"{'engine':<8}{'llm 1st sentence':>18}{'engine 1st chunk':>18}{'first audio':>13}"
              f"{'overhead':>10}{'wait-whole':>12}{'ratio':>7}")
    print(header)
    for name, eng, voice, settings, close in build_engines(args.engines.split(",")):
        try:
            r = measure(name, eng, voice, settings, args)
        finally:
            close()
        print(f"{r['engine']:<8}{r['llm'] * 1000:>15.0f} ms{r['chunk'] * 1000:>15.0f} ms{r['audio'] * 1000:>10.0f} ms"
              f"{r['overhead'] * 1000:>7.1f} ms{r['whole'] * 1000:>9.0f} ms{r['ratio']:>6.2f}x", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
