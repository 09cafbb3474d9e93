"""`read [FILE] [--clipboard]`: read the selection (else the clipboard), the clipboard, or a text or markdown
file aloud, as the read hotkey does; --out writes a WAV as for `say`."""

from __future__ import annotations

import argparse
import codecs
import logging
import signal
import sys
from pathlib import Path

from daemon import paths
from daemon.cli.common import load_settings
from daemon.errors import BadInputError, EngineError, VoxTrayError

log = logging.getLogger(__name__)


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser("read", help="read the selected text, the clipboard or a file aloud (or write a WAV file)",
                       description="Read text aloud: the selection (else the clipboard), the clipboard, or a file.")
    p.add_argument("file", metavar="FILE", nargs="?", type=Path, help="a text or markdown file (UTF-8 or UTF-16)")
    p.add_argument("--clipboard", action="store_true", help="read the clipboard, not the selection")
    p.add_argument("--engine", choices=["auto", "xtts", "edge", "system"], default=None,
                   help="engine (default: settings.engine)")
    p.add_argument("--voice", metavar="NAME_OR_PATH", help="voice name from voices/ or a reference clip path")
    p.add_argument("--out", metavar="FILE.wav", type=Path, help="write a WAV file instead of playing")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from daemon.speech.oneshot import speak_once

    if args.file is not None and args.clipboard:
        raise BadInputError("give either FILE or --clipboard, not both")
    if args.out is not None and args.out.suffix.lower() != ".wav":
        raise BadInputError(f"--out must name a .wav file, got {args.out}")
    settings = load_settings(args, check=False)
    text = read_file(args.file) if args.file is not None else _grab(args.clipboard)
    result = speak_once(settings, text, engine=args.engine, voice=args.voice, out=args.out,
                        max_chars=settings.read_max_chars)
    if result.seconds <= 0:
        raise EngineError("nothing was read aloud: " + (result.errors[0] if result.errors else
                          f"no voice could speak this text. Check the set-up with `{paths.command()} doctor`."))
    if result.truncated:
        print(f"voxtray: the text is longer than read_max_chars ({settings.read_max_chars}); the rest was not read",
              file=sys.stderr)
    done = f"wrote {args.out}" if args.out is not None else "read"
    print(f"{done} ({result.seconds:.2f} s of audio, {result.summary})")
    return 0


def read_file(path: Path) -> str:
    """A text or markdown file's text: UTF-8 (a BOM is fine) or UTF-16 with a BOM; anything else is bad input."""
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        raise BadInputError(f"nothing to read: {path} does not exist") from None
    except IsADirectoryError:
        raise BadInputError(f"nothing to read: {path} is a folder, not a text file") from None
    try:
        if data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
            text = data.decode("utf-16")
        else:
            text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise BadInputError(f"{path} is not UTF-8 or UTF-16 text; save it as UTF-8 and try again") from None
    if "\0" in text:
        raise BadInputError(f"{path} is not a text file (it holds binary data)")
    if not text.strip():
        raise BadInputError(f"nothing to read: {path} is empty")
    return text


def _grab(clipboard_only: bool) -> str:
    from daemon.desktop.selection import SelectionError, clipboard_text, selected_text

    ignore = sys.platform == "win32" and not clipboard_only  # our Ctrl+C reaches our own console too: not a stop
    previous = signal.signal(signal.SIGINT, signal.SIG_IGN) if ignore else None
    try:
        grab = clipboard_text() if clipboard_only else selected_text()
    except SelectionError as exc:
        raise VoxTrayError(f"cannot read the selection or the clipboard: {exc}") from None
    finally:
        if ignore:
            signal.signal(signal.SIGINT, previous)
    if grab.empty:
        raise BadInputError("nothing to read: the clipboard holds no text" if clipboard_only else
                            "nothing to read: no text is selected and the clipboard holds none")
    if grab.source == "clipboard" and not clipboard_only:
        print("voxtray: nothing selected; reading the clipboard", file=sys.stderr)
    return grab.text
