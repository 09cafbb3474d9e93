"""Child processes with a deadline, for the system voice: start, feed stdin, read pipes, wait, kill, reap.

A child that crashes, hangs or chatters costs the caller an exception, never a blocked thread: the text goes
to its stdin on a thread, its stderr (and stdout when asked) are read on threads, and waiting is on the process
with a deadline. Each engine's files live in a voxtray-sys-<pid>-* temp folder (`new_folder`); folders of dead
processes are removed (`remove_stale_folders`).
"""

from __future__ import annotations

import logging
import os
import re
import shutil
import signal
import stat
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import IO

import psutil

from daemon.errors import EngineError, EngineTimeoutError, EngineUnavailableError

log = logging.getLogger(__name__)

FOLDER_PREFIX = "voxtray-sys-"
_FOLDER = re.compile(rf"{re.escape(FOLDER_PREFIX)}(\d+)-[a-z0-9_]+")
STALE_AFTER_S = 86400.0
LIST_TIMEOUT_S = 20.0


def new_folder() -> Path:
    """A fresh voxtray-sys-<pid>-* temp folder (stale ones of dead processes removed first)."""
    try:
        remove_stale_folders()
    except OSError as exc:
        log.debug("stale system-voice folders not checked: %s", exc)
    return Path(tempfile.mkdtemp(prefix=f"{FOLDER_PREFIX}{os.getpid()}-"))


def remove_stale_folders(root: Path | None = None, max_age_s: float = STALE_AFTER_S) -> list[Path]:
    """Remove this user's voxtray-sys-<pid>-* folders older than max_age_s whose creating process is gone."""
    root = Path(tempfile.gettempdir()) if root is None else root
    removed: list[Path] = []
    try:
        candidates = [p for p in root.iterdir() if _FOLDER.fullmatch(p.name)]
    except OSError:
        return removed
    now = time.time()
    for path in candidates:
        match = _FOLDER.fullmatch(path.name)
        try:
            st = path.lstat()
        except OSError:
            continue
        if not stat.S_ISDIR(st.st_mode) or now - st.st_mtime < max_age_s or not _own(st):
            continue
        if match is None or psutil.pid_exists(int(match.group(1))):
            continue
        shutil.rmtree(path, ignore_errors=True)
        if not path.exists():
            removed.append(path)
            log.debug("removed stale system-voice folder %s", path)
    return removed


def _own(st: os.stat_result) -> bool:
    if sys.platform == "win32":
        return True  # the temp folder is per user on Windows
    return st.st_uid == os.getuid()


def _no_window() -> int:
    if sys.platform == "win32":
        return subprocess.CREATE_NO_WINDOW  # no console flashes under pythonw
    return 0


def exit_reason(rc: int) -> str:
    """"crashed (SIGSEGV)" or "failed (exit code N)" for a child's exit status."""
    if rc < 0:
        try:
            return f"crashed ({signal.Signals(-rc).name})"
        except ValueError:
            return f"crashed (signal {-rc})"
    return f"failed (exit code {rc:#010x})" if rc > 0xFFFF else f"failed (exit code {rc})"


def last_line(data: bytes) -> str:
    """The last non-blank line of a child's output (at most 300 characters)."""
    lines = data.decode("utf-8", errors="replace").splitlines()
    return next((line.strip()[:300] for line in reversed(lines) if line.strip()), "")


class Tail:
    """Reads a pipe on its own thread to EOF, keeping its last `keep` bytes (a chatty child never blocks)."""

    def __init__(self, pipe: IO[bytes] | None, keep: int) -> None:
        self.data = b""
        self._keep = keep
        self._thread = _thread(self._read, pipe)

    def _read(self, pipe: IO[bytes] | None) -> None:
        if pipe is None:
            return
        try:
            while chunk := os.read(pipe.fileno(), 65536):  # whatever has arrived, not a full buffer
                self.data = (self.data + chunk)[-self._keep :]
        except (OSError, ValueError):
            pass
        finally:
            try:
                pipe.close()
            except OSError:
                pass

    def get(self, grace_s: float = 0.5) -> bytes:
        """The bytes read, once the pipe closed or after grace_s (under Wine a helper process that inherited
        the pipe can hold it open after the child exited)."""
        self._thread.join(timeout=grace_s)
        return self.data


class Child:
    """One child process with a deadline: the text goes to its stdin on a thread, its stderr (and stdout when
    asked) are read on threads, and waiting is on the process, never on a pipe. Pipes, not files: Windows
    CPython under Wine cannot start with a file as a standard handle."""

    def __init__(self, argv: list[str], data: bytes, timeout_s: float, cwd: Path | None, stdout: bool = False) -> None:
        self.timeout_s = timeout_s
        self.deadline = time.monotonic() + timeout_s
        self.proc = subprocess.Popen(
            argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE if stdout else subprocess.DEVNULL,
            stderr=subprocess.PIPE, cwd=cwd, creationflags=_no_window(),
        )
        self.stderr = Tail(self.proc.stderr, 8192)
        self.stdout = Tail(self.proc.stdout, 1 << 20)
        _thread(self._write, data)

    def _write(self, data: bytes) -> None:
        stdin = self.proc.stdin
        if stdin is None:
            return
        try:
            stdin.write(data)
        except OSError:
            pass  # the child died or was killed: its exit status says why
        finally:
            try:
                stdin.close()
            except OSError:
                pass

    def wait(self) -> int | None:
        """The exit code, or None when the child still runs at its deadline."""
        try:
            return self.proc.wait(timeout=max(0.0, self.deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            return None

    def stop(self) -> None:
        """Kill the child if it still runs (only it, by its handle) and reap it."""
        if self.proc.poll() is None:
            try:
                self.proc.kill()
            except OSError:
                pass
        try:
            self.proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            log.warning("system voice child %s did not exit after kill", self.proc.pid)


def _thread(target: Callable[..., None], *args: object) -> threading.Thread:
    thread = threading.Thread(target=target, args=args, name="system-voice-io", daemon=True)
    thread.start()
    return thread


def listing(argv: list[str], unavailable_rc: int | None, cwd: Path | None) -> str:
    """stdout of a short listing child (UTF-8), with a deadline; exit code `unavailable_rc` means unavailable."""
    try:
        child = Child(argv, b"", LIST_TIMEOUT_S, cwd, stdout=True)
    except FileNotFoundError as exc:
        raise EngineUnavailableError(f"{argv[0]} was not found") from exc
    except OSError as exc:
        raise EngineError(f"listing the system voices failed: {exc}") from exc
    try:
        rc = child.wait()
        if rc is None:
            raise EngineTimeoutError(f"listing the system voices took over {LIST_TIMEOUT_S:g} s")
        if rc != 0:
            detail = last_line(child.stderr.get())
            cls = EngineUnavailableError if rc == unavailable_rc else EngineError
            raise cls(f"listing the system voices {exit_reason(rc)}" + (f": {detail}" if detail else ""))
        return child.stdout.get(grace_s=2.0).decode("utf-8", errors="replace")
    finally:
        child.stop()
