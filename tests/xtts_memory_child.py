"""The XTTS memory check's child (`python -m tests.xtts_memory_child MODEL_DIR REFERENCE`; tests/test_xtts_memory.py).

A fresh process loads the tiny random-weight XTTS through the product's engine and speaks sentences on one
long-lived worker thread, as the pipeline's synthesis worker does. After `--warmup` sentences it records the
baseline; after `--sentences` more it prints one JSON line:
  rss_mb / trimmed_mb   RSS growth as read, and after glibc's malloc_trim(0) at both ends (informative: both move
                        by +-10 MB with the arenas' fragmentation, as in the soak)
  in_use_mb             growth of the bytes malloc has handed out and not had back (mallinfo2: live native
                        memory, torch's CPU tensors included, whatever the arenas keep in reserve)
  traced_mb             growth of Python's own allocations (tracemalloc)
  objects               the types whose live object count grew most (gc)
With `--leak-kb N` a second window follows in which each sentence also keeps N kB (a deliberate leak: it proves
the check can fail), and a second JSON line.
"""

from __future__ import annotations

import argparse
import collections
import ctypes
import gc
import json
import queue
import sys
import threading
import tracemalloc
from pathlib import Path
from typing import Any

SENTENCES = ("Hello there, how are you today?", "The weather is fine.", "Seven cats sleep by the fire tonight.",
             "Please read the next page slowly.")


def rss_mb() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError("no VmRSS")


def trimmed_mb() -> float:
    gc.collect()
    ctypes.CDLL("libc.so.6").malloc_trim(0)
    return rss_mb()


class _Mallinfo2(ctypes.Structure):
    _fields_ = [(name, ctypes.c_size_t) for name in ("arena", "ordblks", "smblks", "hblks", "hblkhd", "usmblks",
                                                      "fsmblks", "uordblks", "fordblks", "keepcost")]


def in_use_mb() -> float:
    """Bytes glibc's malloc has handed out and not had back (all arenas + mmapped blocks): live native memory,
    whatever the arenas keep in reserve or lose to fragmentation."""
    mallinfo2 = ctypes.CDLL("libc.so.6").mallinfo2
    mallinfo2.restype = _Mallinfo2
    info = mallinfo2()
    return (info.uordblks + info.hblkhd) / 2**20


def objects() -> collections.Counter[str]:
    gc.collect()
    return collections.Counter(type(o).__name__ for o in gc.get_objects())


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("model", type=Path)
    ap.add_argument("reference", type=Path)
    ap.add_argument("--warmup", type=int, default=12)
    ap.add_argument("--sentences", type=int, default=10)
    ap.add_argument("--leak-kb", type=int, default=0)
    args = ap.parse_args()
    import numpy as np
    import torch

    from daemon.settings import Settings
    from daemon.speech.xtts.engine import XttsEngine
    from daemon.voices import VoiceRef

    torch.set_num_threads(1)
    settings = Settings(xtts_model_path=str(args.model), xtts_device="cpu", xtts_allow_cpu=True,
                        voices_dir=str(args.reference.parent), cloning_reference_file=str(args.reference),
                        xtts_first_chunk_tokens=4, xtts_chunk_tokens=8)
    engine = XttsEngine(settings)
    engine.load()
    voice = VoiceRef(args.reference.stem, args.reference)
    jobs: queue.Queue[int | None] = queue.Queue()
    done: queue.Queue[int] = queue.Queue()
    kept: list[Any] = []
    leak = [0]

    def worker() -> None:  # one long-lived thread, as the pipeline's synthesis worker
        while (i := jobs.get()) is not None:
            for _chunk in engine.stream(SENTENCES[i % len(SENTENCES)], voice):
                pass
            if leak[0]:
                kept.append(np.ones(leak[0] * 256, dtype=np.float32))
            done.put(i)

    thread = threading.Thread(target=worker, name="synthesis")
    thread.start()

    def speak(first: int, count: int) -> None:
        for i in range(first, first + count):
            jobs.put(i)
            done.get(timeout=120)

    speak(0, args.warmup)
    tracemalloc.start()
    objects()  # the first census leaves a few dozen weakrefs behind (once): not the sentences' doing
    first = args.warmup
    for leak_kb in (0, args.leak_kb) if args.leak_kb else (0,):
        leak[0] = leak_kb
        base = rss_mb(), trimmed_mb(), tracemalloc.get_traced_memory()[0], objects(), in_use_mb()
        speak(first, args.sentences)
        first += args.sentences
        end = rss_mb(), trimmed_mb(), tracemalloc.get_traced_memory()[0], objects(), in_use_mb()
        grown = (end[3] - base[3]).most_common(5)
        print(json.dumps({"leak_kb": leak_kb, "sentences": args.sentences, "rss_mb": round(end[0] - base[0], 2),
                          "trimmed_mb": round(end[1] - base[1], 2), "in_use_mb": round(end[4] - base[4], 2),
                          "traced_mb": round((end[2] - base[2]) / 2**20, 3), "objects": dict(grown),
                          "rss_end_mb": round(end[0], 1)}), flush=True)
    jobs.put(None)
    thread.join()
    return 0


if __name__ == "__main__":
    sys.exit(main())
