"""`voices list | check FILE | add FILE [--name NAME]`: the voice library from the command line."""

from __future__ import annotations

import argparse
import logging
from pathlib import Path

from daemon import paths
from daemon.cli.common import load_settings
from daemon.voices import VoiceRef

log = logging.getLogger(__name__)


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser(
        "voices",
        help="list, check or add voice reference clips",
        description="Manage the voice references in voices/ (10-20 s of clean speech clone best).",
    )
    vsub = p.add_subparsers(dest="voices_cmd", metavar="COMMAND", required=True)
    ls = vsub.add_parser("list", help="list the voices in voices/")
    ls.set_defaults(func=run_list)
    ck = vsub.add_parser("check", help="say whether a recording suits cloning (duration, level, noise...)")
    ck.add_argument("file", metavar="FILE", type=Path)
    ck.set_defaults(func=run_check)
    add = vsub.add_parser("add", help="import a WAV/MP3/FLAC/OGG/M4A recording as a voice")
    add.add_argument("file", metavar="FILE", type=Path)
    add.add_argument("--name", help="voice name (default: the file name)")
    add.add_argument("--force", action="store_true", help="import even if the check finds it unusable")
    add.add_argument(
        "--no-latents", action="store_true", help="do not load XTTS to precompute the speaker latents now"
    )
    add.set_defaults(func=run_add)


def run_list(args: argparse.Namespace) -> int:
    from daemon.voices import VoiceLibrary

    settings = load_settings(args, check=False)
    lib = VoiceLibrary(settings)
    voices = lib.list()
    if not voices:
        print(f"no voices in {lib.folder}; add one with: {paths.command()} voices add FILE")
        return 0
    current = settings.reference_path.resolve()
    for v in voices:
        mark = "*" if v.path.resolve() == current else " "
        print(f"{mark} {v.name:<24} {v.path}")
    print("(* = cloning_reference_file)")
    return 0


def run_check(args: argparse.Namespace) -> int:
    from daemon.voices import VoiceLibrary

    report = VoiceLibrary(load_settings(args, check=False)).check(args.file)
    print(report.summary())
    return 0 if report.ok else 2


def run_add(args: argparse.Namespace) -> int:
    from daemon.voices import VoiceLibrary

    settings = load_settings(args, check=False)
    lib = VoiceLibrary(settings)
    precompute = None
    if not args.no_latents and settings.use_local_cloning:

        def precompute(ref: VoiceRef) -> None:
            from daemon.speech.xtts.engine import XttsEngine

            engine = XttsEngine(settings)
            try:
                engine.load(lambda msg, _frac: print(f"  {msg}..."))
                engine.prepare_voice(ref)
            finally:
                engine.unload()

    report = lib.check(args.file)
    print(report.summary())
    info = lib.add(args.file, name=args.name, precompute=precompute, force=args.force)
    print(f"added voice '{info.name}': {info.path}")
    if info.note:
        print(f"  {info.note}")
    print(f"use it: set \"cloning_reference_file\": \"{info.path}\" in settings.json, or pick it in the tray menu")
    return 0
