"""`run` (the default verb): the daemon itself, until Ctrl+C, SIGTERM or Quit in the tray."""

from __future__ import annotations

import argparse
import logging

from daemon.cli.common import load_settings, settings_path

log = logging.getLogger(__name__)


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser("run", help="run the daemon (default)", description="Run the VoxTray daemon.")
    p.add_argument("--headless", action="store_true", help="no tray icon, even when a display is available")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from daemon.app import App
    from daemon.desktop.windpi import enable_dpi_awareness
    from daemon.instance import InstanceLock

    settings = load_settings(args)
    level = enable_dpi_awareness()
    if level:
        log.info("DPI awareness: %s", level)
    with InstanceLock():
        app = App(settings, settings_path(args), headless=args.headless)
        return app.run()
