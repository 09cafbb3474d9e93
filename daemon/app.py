"""Composition root: builds the daemon's parts from Settings, starts and stops them in order, public verbs."""

from __future__ import annotations

import logging
import signal
import sys
import threading
from collections.abc import Callable
from pathlib import Path
from types import FrameType

from daemon import __version__
from daemon.settings import Settings
from daemon.status import StatusBus

log = logging.getLogger(__name__)


class App:
    """The running daemon. `run()` blocks until quit() (tray), Ctrl+C or SIGTERM, then stops every part."""

    def __init__(self, settings: Settings, settings_path: Path, headless: bool = False) -> None:
        self.settings = settings
        self.settings_path = settings_path
        self.headless = headless
        self.status = StatusBus()
        self._stop = threading.Event()
        self._stoppers: list[tuple[str, Callable[[], None]]] = []

    # --- lifecycle -----------------------------------------------------------------------------
    def on_stop(self, name: str, fn: Callable[[], None]) -> None:
        """Register a part's stop function; parts stop in reverse order of registration."""
        self._stoppers.append((name, fn))

    def start(self) -> None:
        """Build and start every part (nothing slow here: loading happens on worker threads)."""
        log.info("VoxTray %s starting (settings %s)", __version__, self.settings_path)

    def shutdown(self) -> None:
        for name, fn in reversed(self._stoppers):
            try:
                fn()
            except Exception:
                log.exception("stopping %s failed", name)
        self._stoppers.clear()
        log.info("VoxTray stopped")

    def quit(self) -> None:
        """Ask the daemon to stop (thread-safe)."""
        self._stop.set()

    def _install_signals(self) -> None:
        def handler(signum: int, _frame: FrameType | None) -> None:
            log.info("signal %s: stopping", signum)
            self.quit()

        signal.signal(signal.SIGINT, handler)
        signal.signal(signal.SIGTERM, handler)
        if sys.platform == "win32":
            signal.signal(signal.SIGBREAK, handler)

    def run(self) -> int:
        """Start, wait for quit, stop. Returns the exit code."""
        self._install_signals()
        try:
            self.start()
            print("VoxTray is running headless (no tray). Press Ctrl+C to stop.", flush=True)
            while not self._stop.wait(0.5):
                pass
        finally:
            self.shutdown()
        return 0
