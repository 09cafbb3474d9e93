"""Build voices/sample.wav, the default voice, from public-domain LJ Speech clips (12-18 s), with attribution.

Usage: python scripts/make_sample_voice.py [--source ../shared/audio/ljspeech] [--out voices/sample.wav]
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from daemon.audio import write_wav  # noqa: E402
from daemon.voices import VOICE_RATE, prepare_samples  # noqa: E402
from daemon.voices.decoding import load_mono  # noqa: E402

CLIPS = ("LJ001-0001.wav", "LJ001-0004.wav")
GAP_S = 0.35
ATTRIBUTION = """# Voice attribution

`sample.wav` (the default voice) joins two clips of the LJ Speech Dataset ({clips}), trimmed, resampled to
24000 Hz mono and level-normalised by `scripts/make_sample_voice.py`.

LJ Speech Dataset, Keith Ito and Linda Johnson, 2017: https://keithito.com/LJ-Speech-Dataset/ . The recordings
come from LibriVox readings and are in the public domain in the USA (and likely elsewhere too), as the
dataset's licence states. Transcripts:

{transcripts}
"""


def build(source: Path, out: Path) -> float:
    meta = dict(
        line.split("|", 1) for line in (source / "metadata.csv").read_text(encoding="utf-8").splitlines() if "|" in line
    )
    pieces: list[np.ndarray] = []
    for name in CLIPS:
        pieces.append(prepare_samples(load_mono(source / name, VOICE_RATE), VOICE_RATE))
        pieces.append(np.zeros(int(VOICE_RATE * GAP_S), dtype=np.float32))
    joined = prepare_samples(np.concatenate(pieces[:-1]), VOICE_RATE)
    seconds = joined.size / VOICE_RATE
    if not 12.0 <= seconds <= 18.0:
        raise SystemExit(f"sample voice is {seconds:.1f} s; it must be 12-18 s: change CLIPS")
    write_wav(out, joined, VOICE_RATE)
    transcripts = "\n".join(f"- {Path(c).stem}: \"{meta.get(Path(c).stem, '').strip()}\"" for c in CLIPS)
    (out.parent / "ATTRIBUTION.md").write_text(
        ATTRIBUTION.format(clips=", ".join(Path(c).stem for c in CLIPS), transcripts=transcripts), encoding="utf-8"
    )
    return seconds


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--source", type=Path, default=ROOT.parent / "shared" / "audio" / "ljspeech")
    ap.add_argument("--out", type=Path, default=ROOT / "voices" / "sample.wav")
    args = ap.parse_args()
    seconds = build(args.source, args.out)
    print(f"wrote {args.out} ({seconds:.1f} s) and {args.out.parent / 'ATTRIBUTION.md'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
