"""Atomic file writes (temp file in the same folder, then rename) that survive Windows sharing violations.

On Windows `os.replace` fails with a sharing violation (WinError 5/32/33) while another program holds the
target open without FILE_SHARE_DELETE: Defender scanning it, OneDrive syncing it, an editor showing it.
Those holds are short, so the rename is retried with backoff (about 5 s in all) before giving up with one
clear error. Readers always see the old or the new file, never a torn one; a failed write leaves no temp file.
"""

from __future__ import annotations

import logging
import os
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import IO, Any

log = logging.getLogger(__name__)

SHARING_WINERRORS = {5, 32, 33}  # access denied (pending delete / open without share-delete), sharing, lock
RETRY_DELAYS_S = (0.02, 0.05, 0.1, 0.2, 0.3, 0.5, 0.8, 1.0, 1.0, 1.0)


def _is_sharing_violation(exc: OSError) -> bool:
    return sys.platform == "win32" and getattr(exc, "winerror", None) in SHARING_WINERRORS


def replace(src: str | os.PathLike[str], dst: str | os.PathLike[str],
            delays: tuple[float, ...] = RETRY_DELAYS_S) -> None:
    """`os.replace(src, dst)`, retried while Windows reports the target as held by another program."""
    for attempt, delay in enumerate((*delays, None)):
        try:
            os.replace(src, dst)
            if attempt:
                log.info("saved %s after %d retries (another program held it)", dst, attempt)
            return
        except OSError as exc:
            if delay is None or not _is_sharing_violation(exc):
                if _is_sharing_violation(exc):
                    raise PermissionError(
                        exc.errno, f"another program keeps {dst} open (antivirus, OneDrive or an editor?); "
                        "close it and try again", str(dst)) from None
                raise
            time.sleep(delay)


def atomic_write(path: Path, write: Callable[[Path], None], *, mode: int | None = None,
                 delays: tuple[float, ...] = RETRY_DELAYS_S) -> None:
    """Call `write(tmp)` on a temp file beside `path`, then rename it over `path` (with the retry above)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, name = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    os.close(fd)
    tmp = Path(name)
    try:
        write(tmp)
        if mode is not None:
            os.chmod(tmp, mode)  # mkstemp makes it private
        replace(tmp, path, delays)
    except BaseException:
        try:
            tmp.unlink()
        except OSError:
            pass
        raise


def atomic_write_bytes(path: Path, data: bytes, *, mode: int | None = None) -> None:
    """Write bytes to `path` atomically (flushed to disk before the rename)."""

    def write(tmp: Path) -> None:
        with open(tmp, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())

    atomic_write(path, write, mode=mode)


def atomic_write_text(path: Path, text: str, *, mode: int | None = None) -> None:
    """Write UTF-8 text with '\\n' line ends to `path` atomically."""
    atomic_write_bytes(path, text.encode("utf-8"), mode=mode)


_held = threading.local()


@contextmanager
def file_lock(path: Path, timeout: float = 30.0) -> Iterator[None]:
    """Hold an exclusive lock on `<path>.lock` across processes and threads (re-entrant in one thread), so a
    read-modify-write of `path` never loses another writer's update."""
    lock_path = path.with_name(path.name + ".lock")
    key = str(lock_path.resolve())
    depth: dict[str, int] = _held.__dict__.setdefault("depth", {})
    if depth.get(key):
        depth[key] += 1
        try:
            yield
        finally:
            depth[key] -= 1
        return
    lock_path.parent.mkdir(parents=True, exist_ok=True)
    fh = open(lock_path, "a+b")  # noqa: SIM115 - closed below
    try:
        deadline = time.monotonic() + timeout
        while True:
            try:
                try_lock(fh)
                break
            except OSError:
                if time.monotonic() > deadline:
                    raise TimeoutError(f"{path} stays locked by another VoxTray process") from None
                time.sleep(0.02)
        depth[key] = 1
        try:
            yield
        finally:
            depth[key] = 0
            unlock(fh)
    finally:
        fh.close()


if sys.platform == "win32":
    import msvcrt

    def try_lock(fh: IO[Any], offset: int = 0) -> None:
        """Lock one byte at `offset` without waiting (OSError when another handle holds it). Windows locks are
        mandatory: other handles cannot even read a locked byte, so lock a byte nobody needs to read."""
        fh.seek(offset)
        msvcrt.locking(fh.fileno(), msvcrt.LK_NBLCK, 1)

    def unlock(fh: IO[Any], offset: int = 0) -> None:
        fh.seek(offset)
        msvcrt.locking(fh.fileno(), msvcrt.LK_UNLCK, 1)

else:
    import fcntl

    def try_lock(fh: IO[Any], offset: int = 0) -> None:
        """Lock the whole file without waiting (OSError when another open file holds it); `offset` is for Windows."""
        fcntl.flock(fh.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)

    def unlock(fh: IO[Any], offset: int = 0) -> None:
        fcntl.flock(fh.fileno(), fcntl.LOCK_UN)
