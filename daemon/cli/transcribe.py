"""`transcribe FILE...`: print what the speech recogniser hears in audio files (the talk hotkey's recogniser)."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from daemon.cli.common import load_settings


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser(
        "transcribe", help="print the text spoken in audio files (local speech recognition)",
        description="Transcribe audio files (any format PyAV reads) with the recogniser the talk hotkey uses "
                    "(settings stt_model, stt_language). One line of text per file on stdout; timings on stderr.",
    )
    p.add_argument("files", metavar="FILE", nargs="+", type=Path, help="audio file(s): wav, mp3, flac, ogg, m4a, ...")
    p.add_argument("--model", metavar="SIZE_OR_FOLDER", help="speech model (default: settings.stt_model)")
    p.add_argument("--language", metavar="CODE", help="language spoken, e.g. en (default: settings.stt_language)")
    p.set_defaults(func=run)


def recognizer_for(args: argparse.Namespace) -> object:
    """The recogniser from settings and the --model / --language overrides (not loaded yet)."""
    from daemon.listen.recognizer import Recognizer

    settings = load_settings(args, check=False)
    changes = {k: v for k, v in (("stt_model", args.model), ("stt_language", args.language)) if v}
    if changes:
        settings = settings.model_copy(update=changes)
    return Recognizer.from_settings(settings, progress=lambda text: print(text, file=sys.stderr, flush=True))


def run(args: argparse.Namespace) -> int:
    from daemon.listen.recognizer import Recognizer, decode_file

    audio = [decode_file(path) for path in args.files]  # bad files fail (exit 2) before the model loads
    rec = recognizer_for(args)
    assert isinstance(rec, Recognizer)
    try:
        rec.load()
        print(f"[speech model {rec.model_name}: loaded in {rec.load_s or 0:.1f} s]", file=sys.stderr)
        for path, samples in zip(args.files, audio, strict=True):
            heard = rec.transcribe(samples)
            print(heard.text, flush=True)
            print(f"[{path.name}: {heard.audio_s:.1f} s of audio, recognised in {heard.seconds:.2f} s "
                  f"(real-time factor {heard.rtf:.2f}), language {heard.language}]", file=sys.stderr)
    finally:
        rec.close()
    return 0
