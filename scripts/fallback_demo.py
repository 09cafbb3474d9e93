"""Acceptance demo: kill each voice tier in turn while a 6-sentence reply is spoken; nothing is lost.

XTTS (the tiny random-weight test model on the CPU) runs out of GPU memory at sentence 3 (injected between
its chunks: there is no GPU here), the edge-tts service (the local stand-in from tests/fixtures/edge_server.py,
spoken to by the real edge-tts client) disappears in the middle of sentence 5, and the system voice finishes.

    .venv/bin/python scripts/fallback_demo.py [--wav out.wav] [--play]

Prints the tier sequence and per-sentence engines; exits 0 when all six sentences were spoken.
"""

from __future__ import annotations

import argparse
import logging
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from daemon.errors import EngineOutOfMemoryError  # noqa: E402
from daemon.settings import Settings  # noqa: E402
from daemon.speech.engines.edge import EdgeEngine  # noqa: E402
from daemon.speech.engines.system import SystemEngine  # noqa: E402
from daemon.speech.pipeline import Pipeline  # noqa: E402
from daemon.speech.player import Player  # noqa: E402
from daemon.speech.router import Router  # noqa: E402
from daemon.speech.sinks import WavSink  # noqa: E402
from daemon.speech.xtts.engine import XttsEngine  # noqa: E402
from daemon.status import Status, StatusBus  # noqa: E402
from tests.fixtures.edge_server import EdgeStandIn, _ServerThread  # noqa: E402
from tests.fixtures.tones import Faulty, raise_on  # noqa: E402
from tests.fixtures.xtts import ensure_tiny_xtts  # noqa: E402

REPLY = " ".join(f"Sentence {i} of six." for i in range(1, 7))


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--wav", type=Path, default=Path(tempfile.gettempdir()) / "voxtray-fallback-demo.wav")
    ap.add_argument("--play", action="store_true", help="play on the default output device instead of a WAV")
    args = ap.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    for noisy in ("TTS", "trainer", "numba", "fsspec", "urllib3", "aiohttp.access"):
        logging.getLogger(noisy).setLevel(logging.WARNING)

    import edge_tts.communicate

    standin = EdgeStandIn(mode="drop", drop_after=1, fail_only_on="Sentence 5")
    server = _ServerThread(standin)
    server.start()
    edge_tts.communicate.WSS_URL = standin.wss_url

    ref = ROOT.parent / "shared" / "audio" / "ljspeech" / "LJ001-0001.wav"
    settings = Settings(
        xtts_model_path=str(ensure_tiny_xtts()), xtts_allow_cpu=True, cloning_reference_file=str(ref),
        voices_dir=tempfile.mkdtemp(prefix="voxtray-demo-voices-"), xtts_first_chunk_tokens=4,
        xtts_chunk_tokens=8, xtts_max_rtf=1000.0, first_chunk_deadline_s=30.0,
    )
    status = StatusBus()
    tiers: list[str] = []

    def on_change(old: Status, new: Status) -> None:
        if old.tier != new.tier:
            tiers.append(f"{new.tier.value} ({new.tier_reason})")

    status.subscribe(on_change)
    xtts_engine = XttsEngine(settings, status)
    xtts_engine.load()
    xtts = Faulty(xtts_engine, raise_on(3, lambda: EngineOutOfMemoryError("CUDA out of memory (injected)")))
    engines = {"xtts": xtts, "edge": EdgeEngine(settings), "system": SystemEngine(settings)}
    sink = Player() if args.play else WavSink(args.wav)
    router = Router(dict(engines), settings, status, probe=False)
    pipe = Pipeline(router, sink, settings, status)
    try:
        result = pipe.speak_text(REPLY)
    finally:
        pipe.close()
        sink.close()
        for engine in engines.values():
            engine.close()
        server.stop()
    print("tier sequence:", " -> ".join(tiers))
    for s in result.sentences:
        print(f"  {s.index + 1}. {s.engine or 'NOT SPOKEN'}: {s.text}")
    if not args.play:
        print("audio written to", args.wav)
    ok = len(result.sentences) == 6 and all(s.engine for s in result.sentences)
    print("all six sentences spoken" if ok else "SOME SENTENCES WERE LOST")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
