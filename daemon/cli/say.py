"""`say TEXT`: speak text through the output device, or write a WAV with --out."""

from __future__ import annotations

import argparse
import logging
from pathlib import Path

from daemon import paths
from daemon.cli.common import load_settings
from daemon.errors import BadInputError, EngineError

log = logging.getLogger(__name__)


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser("say", help="speak TEXT (or write it to a WAV file)", description="Speak TEXT once and exit.")
    p.add_argument("text", metavar="TEXT", help="what to say (markdown, URLs and emoji are cleaned up)")
    p.add_argument(
        "--engine", choices=["auto", "xtts", "edge", "system"], default=None, help="engine (default: settings.engine)"
    )
    p.add_argument("--voice", metavar="NAME_OR_PATH", help="voice name from voices/ or a reference clip path")
    p.add_argument("--out", metavar="FILE.wav", type=Path, help="write a WAV file instead of playing")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from daemon.speech.oneshot import speak_once

    if not args.text.strip():
        raise BadInputError("nothing to say: TEXT is empty")
    if args.out is not None and args.out.suffix.lower() != ".wav":
        raise BadInputError(f"--out must name a .wav file, got {args.out}")
    settings = load_settings(args, check=False)
    result = speak_once(settings, args.text, engine=args.engine, voice=args.voice, out=args.out)
    if result.seconds <= 0:
        raise EngineError("nothing was spoken: " + (result.errors[0] if result.errors else
                          f"no voice could speak this text. Check the set-up with `{paths.command()} doctor`."))
    if args.out is not None:
        print(f"wrote {args.out} ({result.seconds:.2f} s of audio, {result.summary})")
    else:
        print(f"spoke {result.seconds:.2f} s of audio ({result.summary})")
    return 0
