"""#22: the XTTS soak's RSS rise is the allocator's, not a leak: after warm-up, speaking keeps no memory.

A fresh child (tests/xtts_memory_child.py) loads the tiny random-weight XTTS through the product's engine and
speaks on one long-lived worker thread, as the synthesis worker does. Between two points after warm-up, the bytes
glibc's malloc has handed out and not had back (live native memory: torch's CPU tensors too), Python's own
allocations (tracemalloc) and the live objects per type (gc) must not grow. RSS is not the measure: it moves by
+-10 MB over 10-20 sentences with the arenas' fragmentation (malloc_trim(0) too), as the soak's RSS does. The same child then keeps 1 MB per sentence on purpose, and the
same figures must see it: the check can fail.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
IN_USE_MB = 4.0  # live native memory (malloc's in-use bytes) over 10 sentences (quiet: ~0.2 MB; 2.3 MB once on a
# loaded CI machine, not explained), well under the 10 MB of the deliberate leak below
TRACED_MB = 0.5  # Python allocations over 10 sentences (measured: ~0.1 MB: tracemalloc's own records)
OBJECTS = 20  # most live objects one type may gain over 10 sentences (measured: 0)

pytestmark = pytest.mark.slow


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc and calls glibc's malloc_trim")
def test_speaking_keeps_no_memory_after_warm_up(tiny_xtts_dir: Path, tmp_path: Path) -> None:
    reference = tmp_path / "voices" / "sample.wav"
    reference.parent.mkdir()
    shutil.copy(ROOT / "voices" / "sample.wav", reference)
    done = subprocess.run([sys.executable, "-m", "tests.xtts_memory_child", str(tiny_xtts_dir), str(reference),
                           "--leak-kb", "1024"], cwd=ROOT, capture_output=True, text=True, timeout=300, check=False)
    assert done.returncode == 0, done.stdout + done.stderr[-4000:]
    clean, leaky = (json.loads(line) for line in done.stdout.splitlines() if line.startswith("{"))
    assert clean["in_use_mb"] < IN_USE_MB, clean
    assert clean["traced_mb"] < TRACED_MB, clean
    assert max(clean["objects"].values(), default=0) < OBJECTS, clean
    # 10 sentences x 1 MB kept: both measures see the 10 MB
    assert leaky["in_use_mb"] > IN_USE_MB and leaky["traced_mb"] > TRACED_MB, leaky
