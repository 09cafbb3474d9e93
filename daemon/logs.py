"""Logging: a rotating per-user log file (platformdirs) and, with --verbose, the console."""

from __future__ import annotations

import logging
import logging.handlers
import os
from pathlib import Path

import platformdirs

from daemon import APP_ID

FORMAT = "%(asctime)s %(levelname)-7s %(threadName)s %(name)s: %(message)s"


def log_dir() -> Path:
    """Per-user log folder (VOXTRAY_LOG_DIR overrides, for tests)."""
    override = os.environ.get("VOXTRAY_LOG_DIR")
    return Path(override) if override else Path(platformdirs.user_log_dir(APP_ID, appauthor=False))


def log_file() -> Path:
    return log_dir() / "voxtray.log"


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
        fh = logging.handlers.RotatingFileHandler(path, maxBytes=2_000_000, backupCount=5, encoding="utf-8")
        fh.setLevel(logging.DEBUG if verbose else getattr(logging, level, logging.INFO))
        fh.setFormatter(logging.Formatter(FORMAT))
        fh._voxtray = True  # type: ignore[attr-defined]
        root.addHandler(fh)
    except OSError:
        path = None
    if verbose:
        ch = logging.StreamHandler()
        ch.setLevel(logging.DEBUG)
        ch.setFormatter(logging.Formatter("%(levelname)s %(name)s: %(message)s"))
        ch._voxtray = True  # type: ignore[attr-defined]
        root.addHandler(ch)
    for noisy in ("urllib3", "numba", "matplotlib", "PIL", "asyncio", "httpx", "filelock", "fsspec"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
    return path
