"""The speech check's cost: hearing one synthesised sentence with Whisper base (CPU int8, word timestamps).

    .venv/bin/python bench/speech_check.py [--runs 3]
    .venv/bin/python bench/speech_check.py --quick     # one run of the short sentence and the babble (CI)

For espeak-ng sentences of ~1.5 to ~9 s (the length of a spoken sentence; "+ babble" adds 2 s of gibberish after
one), the time `SpeechCheck.review` takes (wall and CPU seconds of this process), per audio second, and what it
decided. speech_check "on" adds this to every held sentence (it runs while the previous sentence plays, so it
delays nothing while it is shorter than that sentence); "last-resort" only to a sentence that ran long; the first
sentence of an answer streams unchecked, so first audio is never delayed (0 ms, by construction: the router
checks only the sentences it holds until they are complete).
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import numpy as np  # noqa: E402

from daemon.listen.recognizer import Recognizer, decode_file  # noqa: E402
from daemon.settings import Settings  # noqa: E402
from daemon.speech.check import SpeechCheck  # noqa: E402
from tests.fixtures.whisper import assemble, espeak_wav  # noqa: E402

SENTENCES = [
    "Sure, here it is.",
    "The weather will be fine tomorrow morning.",
    "When sunlight enters the air, blue light scatters much more than red light, so the sky looks blue.",
    "I am planning a trip to Lisbon next spring with two friends, and we would like to see the old town, the "
    "river and the coast.",
]
GIBBERISH = "blorp vantik shmeegle gorbly traxen plinto vurbo"


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--quick", action="store_true", help="one run, the shortest sentence and the babble only")
    args = ap.parse_args(argv)
    if args.quick:
        args.runs = 1
    with tempfile.TemporaryDirectory() as tmp_name:
        tmp = Path(tmp_name)
        rec = Recognizer(str(assemble("base", tmp / "base")), language="en")
        rec.load()
        check = SpeechCheck(lambda: Settings(speech_check="on"), words=lambda a, lang: rec.words(a, lang or None))
        cases = [(s, decode_file(espeak_wav(s, tmp / f"{i}.wav"))) for i, s in enumerate(SENTENCES)]
        babble = decode_file(espeak_wav(GIBBERISH, tmp / "g.wav"))
        cases.append((SENTENCES[1] + " (+ babble)", np.concatenate([cases[1][1], babble])))
        if args.quick:
            cases = [cases[0], cases[-1]]
        rows = []
        for label, audio in cases:
            text = label.replace(" (+ babble)", "")
            walls, cpus, outcome = [], [], ""
            for _ in range(args.runs):
                w0, c0 = time.perf_counter(), time.process_time()
                review = check.review(text, audio, 16000)
                walls.append(time.perf_counter() - w0)
                cpus.append(time.process_time() - c0)
                assert review is not None
                outcome = "rejected" if review.rejected else f"cut {review.cut_s:.1f} s" if review.cut_s else "kept"
            secs = audio.size / 16000
            rows.append((label, secs, statistics.median(walls), statistics.median(cpus), outcome))
        rec.close()
    print("| sentence | audio | check (wall, p50) | CPU s per audio s | decided |")
    print("| --- | --- | --- | --- | --- |")
    for label, secs, wall, cpu, outcome in rows:
        short = label if len(label) < 48 else label[:45] + "..."
        print(f"| {short} | {secs:.1f} s | {wall:.2f} s | {cpu / secs:.2f} | {outcome} |")
    print("first audio: +0 ms (an answer's first sentence streams unchecked)")
    print(json.dumps({"bench": "speech_check", "rows": [
        {"audio_s": round(s, 2), "wall_s": round(w, 3), "cpu_per_audio_s": round(c / s, 3), "decided": o}
        for _label, s, w, c, o in rows]}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
