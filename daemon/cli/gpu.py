"""`python -m daemon gpu [--apply] [--json]`: the VRAM watcher's view and what the Ollama guard would do."""

from __future__ import annotations

import argparse
import json
import logging
from dataclasses import asdict
from typing import Any

from daemon.cli.common import load_settings
from daemon.gpu.ollama import GuardReport, OllamaGuard
from daemon.gpu.vram import VramReading, VramWatcher
from daemon.settings import Settings
from daemon.status import StatusBus

log = logging.getLogger(__name__)


def register(subparsers: Any) -> None:
    p = subparsers.add_parser(
        "gpu",
        help="show VRAM per GPU and what the Ollama guard would do to make room for XTTS",
        description="Reads VRAM through NVML, lists the local Ollama's loaded models and this user's Ollama "
        "processes, and prints what the guard would do to free xtts_vram_required_mb. Nothing is touched "
        "unless --apply is given. Exit code 1 when --apply could not free enough VRAM.",
    )
    p.add_argument("--apply", action="store_true", help="really unload Ollama models (and stop processes if allowed)")
    p.add_argument("--need", type=int, metavar="MB", help="VRAM to free (default: xtts_vram_required_mb)")
    p.add_argument("--json", action="store_true", help="print machine-readable JSON")
    p.set_defaults(func=run)


def _reading_lines(watcher: VramWatcher, reading: VramReading | None) -> list[str]:
    if reading is None:
        return [f"GPU: {watcher.note or 'unreadable'}"]
    return [
        f"GPU {g.index}: {g.name}  total {g.total_mb} MB  free {g.free_mb} MB  used {g.used_mb} MB"
        + ("  (XTTS uses this one)" if g.index == reading.primary.index else "")
        for g in reading.gpus
    ]


def _settings_lines(s: Settings, need: int) -> list[str]:
    on = {True: "on", False: "off"}
    return [
        f"XTTS needs {need} MB; unload below {s.vram_low_water_mb} MB free, reload above {s.vram_high_water_mb} MB, "
        f"after {s.vram_pressure_s:g} s (keep_warm {on[s.keep_warm]})",
        f"Ollama guard: API unload {on[s.ollama_unload]}, stop processes {on[s.ollama_stop_processes]}, "
        f"names {', '.join(s.ollama_process_names)}",
    ]


def _report_lines(s: Settings, report: GuardReport) -> list[str]:
    lines = []
    if report.api_note:
        lines.append(f"Ollama API: {report.api_note}")
    else:
        lines.append(f"Ollama API ({s.ollama_url}): loaded " + (", ".join(report.loaded_models) or "nothing"))
    lines.append("this user's Ollama processes: " + (", ".join(map(str, report.candidates)) or "none"))
    if report.other_users:
        lines.append(
            "other users' Ollama processes (never touched): "
            + ", ".join(f"{p} of {p.user}" for p in report.other_users)
        )
    lines.append("plan:" if report.dry_run else "done:")
    lines.extend(f"  - {step}" for step in report.steps)
    if not report.dry_run:
        lines.append(report.summary())
    return lines


def run(args: argparse.Namespace) -> int:
    s = load_settings(args, check=False)
    watcher = VramWatcher(s, StatusBus())
    try:
        reading = watcher.poll_once()
        need = args.need if args.need is not None else s.xtts_vram_required_mb
        guard = OllamaGuard(s)
        free = reading.free_mb if reading is not None else None
        if args.apply:

            def measure() -> int | None:
                r = watcher.poll_once()
                return r.free_mb if r is not None else None

            report = guard.free_vram(need, measure)
            reading = watcher.snapshot() or reading  # show the VRAM after acting
        else:
            report = guard.plan(need, free)
    finally:
        watcher.stop()
    if args.json:
        out = {
            "gpu_note": watcher.note,
            "gpus": [asdict(g) for g in reading.gpus] if reading else [],
            "need_mb": need,
            "report": asdict(report) | {"enough": report.enough, "summary": report.summary()},
        }
        print(json.dumps(out, indent=2))
    else:
        print("\n".join(_reading_lines(watcher, reading) + _settings_lines(s, need) + _report_lines(s, report)))
    return 1 if args.apply and report.enough is False else 0
