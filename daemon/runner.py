"""Running the built daemon: the tray on the main thread (the parts start behind it), or headless; signals."""

from __future__ import annotations

import logging
import signal
import sys
import threading
from types import FrameType
from typing import TYPE_CHECKING

from daemon.errors import VoxTrayError
from daemon.winruntime import explain_import_error

if TYPE_CHECKING:
    from daemon.app import App

log = logging.getLogger(__name__)


def run(app: App) -> int:
    """Show the tray at once (or run headless), start the parts, wait for quit, stop. Returns the exit code."""
    _install_signals(app)
    starter: list[threading.Thread] = []
    try:
        from daemon.desktop.tray import tray_available

        ok, why = (False, "running headless (--headless)") if app.headless else tray_available(wait_s=2.0)
        if not ok:
            print(f"VoxTray is running: {why}. Press Ctrl+C to stop.", flush=True)
            log.info("running headless: %s", why)
            app.start()
            _wait_for_quit(app.stopping)
        else:
            _run_tray(app, starter)
    finally:
        for thread in starter:
            thread.join(timeout=60)
        app.shutdown()
    return 0


def _wait_for_quit(stopping: threading.Event) -> None:
    """Block the main thread until quit. POSIX: one wait with no timeout (a signal handler still runs: the lock
    wait is interrupted, the handler sets the event). Windows cannot interrupt a lock wait for Ctrl+C, so there the
    main thread looks once a second (headless runs only; the tray owns the main thread otherwise)."""
    if sys.platform != "win32":
        stopping.wait()
        return
    while not stopping.wait(1.0):
        pass


def _install_signals(app: App) -> None:
    def handler(signum: int, _frame: FrameType | None) -> None:
        log.info("signal %s: stopping", signum)
        app.quit()

    signal.signal(signal.SIGINT, handler)
    signal.signal(signal.SIGTERM, handler)
    if sys.platform == "win32":
        signal.signal(signal.SIGBREAK, handler)


def _run_tray(app: App, starter: list[threading.Thread]) -> None:
    """The tray owns the main thread; the rest starts on a worker thread once the icon is visible."""
    from daemon.desktop.notify import Notifier
    from daemon.desktop.tray import Tray

    def end_session() -> None:
        """The session is ending (Windows log-off/shut-down): stop every part before the OS ends the process."""
        app.stopping.set()
        app.shutdown()

    def start_in_background() -> None:
        starter.append(threading.Thread(target=_start_or_tell, args=(app,), name="startup", daemon=True))
        starter[-1].start()

    tray = app.tray = Tray(app.status, app.commands, app.live, on_end_session=end_session)
    notifier = Notifier(app.status, tray.notify, enabled=lambda: app.live().notifications).start()
    app.shutdown_steps.add("notifications", notifier.close)
    print("VoxTray is running in the system tray.", flush=True)
    if not app.stopping.is_set():
        tray.run(on_ready=start_in_background)


def _start_or_tell(app: App) -> None:
    try:
        app.start()
    except VoxTrayError as exc:
        log.error("start-up failed: %s", exc)
        app.commands.message(f"VoxTray could not start: {exc}")
    except Exception as exc:
        log.exception("start-up failed")
        app.commands.message(f"VoxTray could not start: {explain_import_error(exc) or exc}")
