"""Single-instance lock: one VoxTray daemon per user (an OS file lock, released even on a crash)."""

from __future__ import annotations

import os
from pathlib import Path
from typing import IO

from daemon import fsio
from daemon.errors import AlreadyRunningError
from daemon.paths import data_dir


class InstanceLock:
    """Holds an exclusive lock on `<data dir>/voxtray.lock` while the daemon runs."""

    def __init__(self, path: Path | None = None) -> None:
        self.path = path or data_dir() / "voxtray.lock"
        self._fh: IO[str] | None = None

    def acquire(self) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fh = open(self.path, "a+", encoding="utf-8")  # noqa: SIM115 - held until release()
        try:
            _lock(fh)
        except OSError:
            pid = _read_pid(fh)
            fh.close()
            raise AlreadyRunningError(
                f"VoxTray is already running (pid {pid}). Use its tray icon, or stop it before starting another."
            ) from None
        fh.seek(0)
        fh.truncate()
        fh.write(str(os.getpid()))
        fh.flush()
        self._fh = fh

    def release(self) -> None:
        if self._fh is not None:
            try:
                self._fh.seek(0)
                self._fh.truncate()
                _unlock(self._fh)
            finally:
                self._fh.close()
                self._fh = None

    def __enter__(self) -> InstanceLock:
        self.acquire()
        return self

    def __exit__(self, *exc: object) -> None:
        self.release()


def _read_pid(fh: IO[str]) -> str:
    """The running daemon's pid, or '?' (never raises: the answer is "already running" either way)."""
    try:
        fh.seek(0)
        return fh.read(32).strip() or "?"
    except (OSError, ValueError):
        return "?"


# The lock sits on a byte far past the pid text (locking beyond the end of a file is allowed): Windows locks are
# mandatory, and the second instance must still read the pid to say who is running.
LOCK_OFFSET = 1 << 20


def _lock(fh: IO[str]) -> None:
    fsio.try_lock(fh, LOCK_OFFSET)


def _unlock(fh: IO[str]) -> None:
    fsio.unlock(fh, LOCK_OFFSET)
