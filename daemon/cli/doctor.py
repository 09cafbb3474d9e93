"""`doctor`: check Python, torch/CUDA, GPU, audio, edge-tts, LLM, model, voices and hotkeys."""

from __future__ import annotations

import argparse

from daemon.cli.common import load_settings, settings_path


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser("doctor", help="say what works and what to fix", description="Check the set-up.")
    p.add_argument("--offline", action="store_true",
                   help="skip the checks that connect beyond this computer (edge-tts, the remote LLM)")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from daemon.doctor import FAIL, render, run_checks

    settings = load_settings(args, check=False)
    results = run_checks(settings, offline=args.offline)
    print(render(results, settings_path(args)))
    return 1 if any(c.state == FAIL for c in results) else 0
