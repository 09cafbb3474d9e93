"""The model download's renames under Windows share modes (Wine's wineserver implements them for files): a freshly
written file that another program (Defender, the indexer) still holds open is waited for, not reported as a
failed 1.9 GB download. (Wine lets a folder be renamed while a file in it is open, which Windows refuses: the
folder's install gets the same wait, proven on Linux in tests/test_model_download_edges.py.)"""

from __future__ import annotations

import time

from daemon.download import store
from daemon.fsio import replace
from tests_win.test_files_and_locks import hold


def test_a_finished_part_held_by_another_program_is_renamed_once_it_lets_go() -> None:
    folder = store.partial_folder()
    folder.mkdir(parents=True)
    part, final = folder / "model.pth.part", folder / "model.pth"
    part.write_bytes(b"x" * 1000)
    timer = hold(part, 6.0)  # longer than a settings file's ~5 s of retries
    t0 = time.monotonic()
    replace(part, final, store.INSTALL_DELAYS_S)  # what job.py does with each finished file
    elapsed = time.monotonic() - t0
    timer.join()
    assert final.read_bytes() == b"x" * 1000 and not part.exists()
    assert elapsed >= 5.0, f"the rename cannot have waited for the hold ({elapsed:.2f} s)"
