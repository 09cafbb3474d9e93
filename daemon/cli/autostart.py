"""`autostart install|uninstall|status`: start VoxTray at login (the same as the tray's "Start at login"
and, in a clone, `install_service.py`), for a VoxTray installed with pip too."""

from __future__ import annotations

import argparse
from typing import Any

from daemon.desktop import autostart


def register(subparsers: Any) -> None:
    p = subparsers.add_parser(
        "autostart",
        help="start VoxTray at login (install), stop that (uninstall), or say whether it will (status)",
        description="Windows: a per-user Run entry (HKCU\\...\\Run) that starts VoxTray without a console; Linux: "
        "an XDG autostart file. status starts the registered command once (--version) to prove it runs. "
        "Exit codes: 0 ok (status: installed and enabled), 1 failure, 3 status: not installed, disabled or stale.",
    )
    p.add_argument("action", choices=["install", "uninstall", "status"], help="what to do")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    code, text = autostart.run_command(args.action)
    print(text)
    return code
