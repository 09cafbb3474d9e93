"""`python -m daemon`: the VoxTray command line (run is the default verb)."""

from __future__ import annotations

import argparse
import importlib
import logging
import sys

from daemon import __version__
from daemon.cli import VERBS
from daemon.cli.common import fail
from daemon.errors import VoxTrayError
from daemon.logs import setup_logging

log = logging.getLogger("daemon")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m daemon",
        description="VoxTray: ask a remote LLM with a hotkey and hear the answer in a cloned voice.",
        epilog="Exit codes: 0 ok, 1 runtime failure, 2 bad input or settings. Without a verb, 'run' is used.",
    )
    parser.add_argument("--settings", metavar="PATH", help="settings file (default: settings.json in the project)")
    parser.add_argument("-v", "--verbose", action="store_true", help="log to the console too (DEBUG level)")
    parser.add_argument("--version", action="version", version=f"VoxTray {__version__}")
    sub = parser.add_subparsers(dest="verb", metavar="VERB")
    for verb in VERBS:
        importlib.import_module(f"daemon.cli.{verb}").register(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    parser = build_parser()
    known_verbs = set(VERBS)
    if not any(a in known_verbs for a in argv if not a.startswith("-")) and not {"-h", "--help", "--version"} & set(argv):
        argv.append("run")
    args = parser.parse_args(argv)
    setup_logging(verbose=args.verbose)
    try:
        code: int = args.func(args)
        return code
    except VoxTrayError as exc:
        fail(str(exc))
        log.error("%s", exc)
        return exc.exit_code
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
