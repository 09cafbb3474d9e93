"""Windows file semantics for real (Wine's wineserver implements Windows share modes and byte-range locks):
saves while another program holds the file, the shared rotating log, the single-instance lock."""

from __future__ import annotations

import logging
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from daemon import fsio
from daemon import settings as settings_mod
from daemon.errors import AlreadyRunningError
from daemon.instance import InstanceLock
from daemon.logs import SharedRotatingFileHandler
from tests_win.winutil import wait_for


class hold:  # lower case: reads as a verb in the tests
    """Another PROCESS opens `path` like an editor/antivirus would (no FILE_SHARE_DELETE) for `seconds`."""

    def __init__(self, path: Path, seconds: float) -> None:
        code = f"import time; f = open(r'{path}', 'rb'); print('held', flush=True); time.sleep({seconds})"
        self.proc = subprocess.Popen([sys.executable, "-c", code], stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                                     text=True)
        assert self.proc.stdout is not None and self.proc.stdout.readline().strip() == "held"

    def join(self) -> None:
        self.proc.wait(30)


def leftovers(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir() if p.name.endswith(".tmp"))


def test_a_held_file_really_blocks_a_plain_replace(tmp_path: Path) -> None:
    """The condition users hit: os.replace onto a file another handle holds fails at once."""
    target, new = tmp_path / "settings.json", tmp_path / "new.json"
    target.write_text("old")
    new.write_text("new")
    with open(target, "rb"), pytest.raises(PermissionError):
        os.replace(new, target)


def test_atomic_save_waits_out_a_short_hold(tmp_path: Path) -> None:
    target = tmp_path / "settings.json"
    target.write_text("old", encoding="utf-8")
    timer = hold(target, 0.6)
    t0 = time.monotonic()
    fsio.atomic_write_text(target, "new")
    elapsed = time.monotonic() - t0
    timer.join()
    assert target.read_text(encoding="utf-8") == "new"
    assert elapsed >= 0.4, f"the save cannot have waited for the hold ({elapsed:.2f} s)"
    assert leftovers(tmp_path) == []


def test_settings_save_while_an_editor_holds_the_file(tmp_path: Path) -> None:
    path = tmp_path / "settings.json"
    settings = settings_mod.load(path, check=False)  # created with the defaults
    timer = hold(path, 0.5)
    settings_mod.save(settings.model_copy(update={"volume": 0.5}), path)
    timer.join()
    assert settings_mod.load(path, check=False).volume == 0.5


def test_a_hold_that_never_ends_gives_one_clear_error_and_keeps_the_old_file(tmp_path: Path) -> None:
    target = tmp_path / "voice.wav"
    target.write_bytes(b"old")
    with open(target, "rb"), pytest.raises(PermissionError, match=r"another program keeps .* open"):
        fsio.atomic_write(target, lambda tmp: tmp.write_bytes(b"new"), delays=(0.01, 0.02))
    assert target.read_bytes() == b"old"
    assert leftovers(tmp_path) == []


def test_the_log_rotates_while_another_process_has_it_open_without_errors(tmp_path: Path) -> None:
    """A CLI verb and the daemon share voxtray.log: Windows cannot rename it while the other has it open."""
    path = tmp_path / "voxtray.log"
    path.write_text("")
    other = open(path, "a", encoding="utf-8")  # noqa: SIM115 - the daemon's handle
    errors: list[logging.LogRecord] = []
    handler = SharedRotatingFileHandler(path, maxBytes=400, backupCount=2, encoding="utf-8")
    handler.handleError = errors.append  # type: ignore[method-assign]
    logger = logging.getLogger("wine-lane-rotation")
    logger.propagate = False
    logger.addHandler(handler)
    try:
        for i in range(60):
            logger.warning("line %03d of a log shared by two processes", i)
    finally:
        logger.removeHandler(handler)
        handler.close()
        other.close()
    assert errors == [], "a failed rollover must not become a logging error on every record"
    text = "".join(p.read_text(encoding="utf-8") for p in sorted(tmp_path.glob("voxtray.log*")))
    assert all(f"line {i:03d}" in text for i in range(60)), "no line may be lost"


def test_the_second_instance_is_told_the_first_ones_pid(tmp_path: Path) -> None:
    """Windows locks are mandatory: reading a locked byte fails, so the pid must sit outside the locked range."""
    lock = tmp_path / "voxtray.lock"
    code = ("import sys, time; from pathlib import Path; from daemon.instance import InstanceLock; "
            f"l = InstanceLock(Path(r'{lock}')); l.acquire(); print('locked', flush=True); time.sleep(60)")
    child = subprocess.Popen([sys.executable, "-c", code], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    try:
        assert child.stdout is not None and child.stdout.readline().strip() == "locked"
        with pytest.raises(AlreadyRunningError, match=rf"already running \(pid {child.pid}\)"):
            InstanceLock(lock).acquire()
        # On Windows a locked byte cannot be read by another handle (Wine does not enforce that for reads, but it
        # does between lockers): the pid's bytes must be outside the locked range.
        import msvcrt

        with open(lock, "r+b") as fh:
            msvcrt.locking(fh.fileno(), msvcrt.LK_NBLCK, 32)
            fh.seek(0)
            msvcrt.locking(fh.fileno(), msvcrt.LK_UNLCK, 32)
    finally:
        child.kill()
        child.wait(10)
    wait_for(lambda: _acquires(lock), 10, "the lock to be free once its holder died")


def _acquires(lock: Path) -> bool:
    try:
        with InstanceLock(lock):
            return True
    except AlreadyRunningError:
        return False
