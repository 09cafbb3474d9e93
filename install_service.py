"""Start VoxTray at login: `python install_service.py install|uninstall|status` (a thin CLI over daemon/desktop/autostart/)."""

from __future__ import annotations

import argparse
import logging
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))  # run from anywhere, by any Python

from daemon.desktop import autostart
from daemon.errors import VoxTrayError

DESCRIPTION = """\
Make VoxTray start when you log in (for this user only), stop that, or say whether it will.

Windows: a value named VoxTray under HKEY_CURRENT_USER\\Software\\Microsoft\\Windows\\CurrentVersion\\Run that
runs "<pythonw.exe>" "<this folder>\voxtray.pyw" run with the Python that ran install (a venv's or a plain
install's). Linux: an XDG autostart file, $XDG_CONFIG_HOME/autostart/voxtray.desktop (~/.config/autostart by
default), that runs that Python with -m daemon run in this folder.
"""

EPILOG = """\
Why not a Windows Service? Services run in session 0, which has no desktop: a service can never show a tray
icon, catch a hotkey or open the question box. A per-user Run entry starts VoxTray inside your own session.

status starts the registered command once (with --version) to prove it can run, and
reports an entry you switched off yourself (Task Manager > Startup apps on Windows, Startup
Applications / Hidden=true on Linux); install switches it back on. Every command is safe to repeat.
Exit codes: 0 ok (status: installed and enabled), 1 failure, 3 status: not installed, disabled or stale.
"""


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="install_service.py", description=DESCRIPTION, epilog=EPILOG,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("command", choices=["install", "uninstall", "status"], help="what to do")
    parser.add_argument("-v", "--verbose", action="store_true", help="log what is done")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO if args.verbose else logging.WARNING, format="%(message)s")
    try:
        code, text = autostart.run_command(args.command)
    except VoxTrayError as exc:
        print(f"install_service.py: {exc}", file=sys.stderr)
        return 1
    print(text)
    return code

if __name__ == "__main__":
    sys.exit(main())
