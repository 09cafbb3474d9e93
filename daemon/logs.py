"""Logging: a rotating per-user log file (platformdirs) and, with --verbose, the console.

Under pythonw.exe (autostart, the Windows gui launcher, the `voxtray-tray` gui script) sys.stdout and sys.stderr
are None: stray prints and uncaught exceptions would vanish or crash the writer. `capture_stray_output()` routes
both streams and both excepthooks (main thread and worker threads) to the log instead.
"""

from __future__ import annotations

import logging
import logging.handlers
import os
import sys
import threading
import time
from pathlib import Path
from types import TracebackType

import platformdirs

from daemon import APP_ID

FORMAT = "%(asctime)s %(levelname)-7s %(threadName)s %(name)s: %(message)s"
ROLLOVER_RETRY_S = 60.0

log = logging.getLogger(__name__)


def log_dir() -> Path:
    """Per-user log folder (VOXTRAY_LOG_DIR overrides, for tests)."""
    override = os.environ.get("VOXTRAY_LOG_DIR")
    return Path(override) if override else Path(platformdirs.user_log_dir(APP_ID, appauthor=False))


def log_file() -> Path:
    return log_dir() / "voxtray.log"


class SharedRotatingFileHandler(logging.handlers.RotatingFileHandler):
    """A rotating log that the daemon and CLI verbs may share: on Windows a file another process has open cannot
    be renamed, so a failed rollover keeps appending to the current file and tries again a minute later."""

    _blocked_until = 0.0

    def shouldRollover(self, record: logging.LogRecord) -> int:
        if time.monotonic() < self._blocked_until:
            return 0
        return super().shouldRollover(record)

    def doRollover(self) -> None:
        try:
            super().doRollover()
        except OSError:
            self._blocked_until = time.monotonic() + ROLLOVER_RETRY_S
            if self.stream is None:
                self.stream = self._open()


def setup_logging(verbose: bool = False, level: str = "INFO") -> Path | None:
    """Configure the root logger once; returns the log file path (None if it cannot be written)."""
    root = logging.getLogger()
    for h in list(root.handlers):
        if getattr(h, "_voxtray", False):
            root.removeHandler(h)
            h.close()
    root.setLevel(logging.DEBUG)
    path: Path | None = log_file()
    try:
        assert path is not None
        path.parent.mkdir(parents=True, exist_ok=True)
        fh = SharedRotatingFileHandler(path, maxBytes=2_000_000, backupCount=5, encoding="utf-8")
        fh.setLevel(logging.DEBUG if verbose else getattr(logging, level, logging.INFO))
        fh.setFormatter(logging.Formatter(FORMAT))
        fh._voxtray = True  # type: ignore[attr-defined]
        root.addHandler(fh)
    except OSError:
        path = None
    if verbose and sys.stderr is not None:
        ch = logging.StreamHandler()
        ch.setLevel(logging.DEBUG)
        ch.setFormatter(logging.Formatter("%(levelname)s %(name)s: %(message)s"))
        ch._voxtray = True  # type: ignore[attr-defined]
        root.addHandler(ch)
    for noisy in ("urllib3", "numba", "matplotlib", "PIL", "asyncio", "httpx", "filelock", "fsspec"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
    return path


class LogStream:
    """A write-only text stream that sends each line to a logger (stands in for None streams under pythonw)."""

    encoding = "utf-8"
    errors = "replace"

    def __init__(self, name: str, level: int) -> None:
        self._log = logging.getLogger(name)
        self._level = level
        self._buffer = ""
        self._lock = threading.Lock()

    def write(self, text: str) -> int:
        with self._lock:
            self._buffer += text
            *lines, self._buffer = self._buffer.split("\n")
        for line in lines:
            if line.strip():
                self._log.log(self._level, "%s", line.rstrip())
        return len(text)

    def flush(self) -> None:
        with self._lock:
            line, self._buffer = self._buffer, ""
        if line.strip():
            self._log.log(self._level, "%s", line.rstrip())

    def isatty(self) -> bool:
        return False

    def writable(self) -> bool:
        return True


def gui_process() -> bool:
    """True on Windows under pythonw.exe (the autostart entry, voxtray.pyw) or any other way of starting without a
    console (the installed `voxtray-tray` gui script: its launcher leaves no standard streams): nobody can read
    its stdout/stderr, even when it inherited handles (then they usually lead to NUL)."""
    if sys.platform != "win32":
        return False
    return Path(sys.executable).stem.lower() == "pythonw" or (sys.__stdout__ is None and sys.__stderr__ is None)


def has_console() -> bool:
    """False when printed errors would reach nobody: they must then be shown in a window."""
    return not gui_process() and sys.__stderr__ is not None


def capture_stray_output() -> None:
    """Route unreadable stdout/stderr (None, or pythonw's) and uncaught exceptions (any thread) to the log."""
    if sys.stdout is None or gui_process():
        sys.stdout = LogStream("stdout", logging.INFO)  # type: ignore[assignment]
    if sys.stderr is None or gui_process():
        sys.stderr = LogStream("stderr", logging.WARNING)  # type: ignore[assignment]
    previous = sys.excepthook

    def excepthook(kind: type[BaseException], exc: BaseException, tb: TracebackType | None) -> None:
        if not issubclass(kind, KeyboardInterrupt):
            log.critical("uncaught exception", exc_info=(kind, exc, tb))
        if has_console():
            previous(kind, exc, tb)

    def thread_excepthook(args: threading.ExceptHookArgs) -> None:
        if args.exc_type is SystemExit:
            return
        name = args.thread.name if args.thread is not None else "?"
        log.critical("uncaught exception in thread %s", name,
                     exc_info=(args.exc_type, args.exc_value, args.exc_traceback))  # type: ignore[arg-type]

    sys.excepthook = excepthook
    threading.excepthook = thread_excepthook
