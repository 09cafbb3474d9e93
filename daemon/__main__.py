"""`python -m daemon` (installed: `voxtray`, and `voxtray-tray` without a console window on Windows): the VoxTray
command line (run is the default verb)."""

from __future__ import annotations

import argparse
import importlib
import logging
import signal
import sys
from collections.abc import Callable

from daemon import __version__, paths
from daemon.cli import VERBS
from daemon.cli.common import fail
from daemon.errors import MissingRuntimeError, VoxTrayError
from daemon.logs import capture_stray_output, has_console, setup_logging
from daemon.winruntime import explain_import_error

log = logging.getLogger("daemon")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog=paths.command(),
        description="VoxTray: ask a remote LLM with a hotkey and hear the answer in a cloned voice.",
        epilog="Exit codes: 0 ok, 1 runtime failure, 2 bad input or settings. Without a verb, 'run' is used.",
    )
    parser.add_argument("--settings", metavar="PATH", help=f"settings file (default: {paths.settings_file()})")
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
    _tolerant_output()
    args = parser.parse_args(argv)
    setup_logging(verbose=args.verbose)
    capture_stray_output()
    signal.signal(signal.SIGTERM, _terminate)  # like Ctrl+C: what was spoken so far is still written (--out)
    try:
        code: int = _explained(args.func, args)
        return code
    except VoxTrayError as exc:
        log.error("%s", exc)
        _tell(str(exc))
        return exc.exit_code
    except KeyboardInterrupt as exc:
        return 143 if isinstance(exc, Terminated) else 130
    except OSError as exc:  # the environment: a folder that cannot be written, a disk that is full, ...
        log.exception("%s", exc)
        where = f"{exc.filename}: " if exc.filename else ""
        _tell(f"{where}{exc.strerror or exc}. Check that this folder exists and can be written (permissions, "
              "disk space), then try again.")
        return 1
    except Exception as exc:  # a bug: logged whole, told in one line
        log.critical("VoxTray stopped because of an unexpected error", exc_info=True)
        _tell(f"stopped because of an unexpected error ({type(exc).__name__}: {exc}); details are in the log.")
        return 1


def _explained(func: Callable[[argparse.Namespace], int], args: argparse.Namespace) -> int:
    """Run a verb; a library that cannot load for lack of the Visual C++ Redistributable becomes its sentence."""
    try:
        return func(args)
    except (ImportError, OSError) as exc:
        why = explain_import_error(exc)
        if why is None:
            raise
        log.warning("%s: %s", type(exc).__name__, exc)
        raise MissingRuntimeError(why) from None


def _tolerant_output() -> None:
    """A character the output cannot encode prints as '?' instead of stopping the command: on Windows, output
    piped to a file or another program uses the ANSI code page (cp1252), which has no Cyrillic, CJK or arrows."""
    for stream in (sys.stdout, sys.stderr):
        reconfigure = getattr(stream, "reconfigure", None)
        if reconfigure is not None:
            try:
                reconfigure(errors="replace")
            except (ValueError, OSError):
                pass


class Terminated(KeyboardInterrupt):
    """SIGTERM, raised where Ctrl+C would be, so every verb stops the same clean way."""


def _terminate(_signum: int, _frame: object) -> None:
    raise Terminated()


def _tell(message: str) -> None:
    """One line on stderr; without a console (pythonw.exe) a message box, so a fatal error is never invisible."""
    if has_console():
        fail(message)
    else:
        from daemon.desktop.messagebox import show_error

        show_error(f"VoxTray could not start:\n\n{message}")


if __name__ == "__main__":
    sys.exit(main())
