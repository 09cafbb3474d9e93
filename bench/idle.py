"""Quiet at rest: how often the running daemon's threads wake up, how much CPU and memory it takes, while nobody asks.

    .venv/bin/python bench/idle.py                              # 4 runs: cloning off / tiny XTTS warm x edge down / up
    .venv/bin/python bench/idle.py --configs off --edge down --seconds 60
    .venv/bin/python bench/idle.py --headless                   # no display: no tray, hotkeys or question box
    .venv/bin/python bench/idle.py --quick                      # one run, settle 3 s, sample 5 s (CI)
    .venv/bin/python bench/idle.py --max-wakeups 5 --max-cpu 0.2   # exit 1 when a run is above either (a guard)
    git worktree add /tmp/before 63efe8f^ && .venv/bin/python bench/idle.py --before /tmp/before   # side by side

Each run starts the real daemon (`python -m daemon run`) as a child process on a private X11 desktop (Xvfb, a
session bus, trayer as the tray host, dunst; bench/daemon_child.py), so the tray, the global hotkeys (pynput) and
the hidden question box are all there, as on a user's desktop. The LLM is a loopback stand-in; edge-tts's endpoint
is either a loopback port nobody listens on ("down") or the loopback edge-tts stand-in ("up"); NVML has no GPU
here. "xtts" is the tiny random-weight XTTS (tests/fixtures/xtts.py) warm on the CPU in front of the other voices.
The bench waits until the tray shows the voice that configuration should get (the log's "voice tier -> ...") and,
with XTTS, until its warm-up synthesis is done; lets it settle; then reads every thread's context switches
(/proc/PID/task/TID/status: voluntary + involuntary = wake-ups) and CPU ticks over `--seconds`, busiest first.
Python threads are named by the child itself (a thread blocked on its stdin answers the bench's one request; it is
left out of the figures); native threads by their /proc name.
Linux only (/proc). Nothing leaves the machine.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
TARGETS = {"wakeups_s": 5.0, "cpu_pct": 0.2}  # #22: at rest, cloning off and XTTS warm
EXPECTED_TIER = {("off", "down"): "system", ("off", "up"): "edge", ("xtts", "down"): "xtts", ("xtts", "up"): "xtts"}


def sample(pid: int) -> dict[int, tuple[int, float, str]]:
    """Every thread of `pid` now: context switches and CPU seconds so far, /proc name (threads that end while being
    read are skipped)."""
    tick = os.sysconf("SC_CLK_TCK")
    out = {}
    for task in Path(f"/proc/{pid}/task").iterdir():
        try:
            status = (task / "status").read_text()
            fields = (task / "stat").read_text().rsplit(")", 1)[1].split()
            comm = (task / "comm").read_text().strip()
        except OSError:
            continue
        switches = sum(int(line.split()[1]) for line in status.splitlines()
                       if line.startswith(("voluntary_ctxt_switches", "nonvoluntary_ctxt_switches")))
        out[int(task.name)] = (switches, (int(fields[11]) + int(fields[12])) / tick, comm)  # utime + stime
    return out


@dataclass
class Run:
    tree: str  # "now" or "before"
    config: str
    edge: str
    seconds: float
    rows: list[tuple[float, float, str]]  # wake-ups/s, CPU % of one core, thread name
    rss_mb: float
    uss_mb: float

    @property
    def wakeups_s(self) -> float:
        return sum(r[0] for r in self.rows)

    @property
    def cpu_pct(self) -> float:
        return sum(r[1] for r in self.rows)

    def summary(self) -> dict[str, Any]:
        return {"tree": self.tree, "config": self.config, "edge": self.edge, "seconds": round(self.seconds, 1),
                "wakeups_s": round(self.wakeups_s, 2), "cpu_pct": round(self.cpu_pct, 3),
                "rss_mb": round(self.rss_mb), "uss_mb": round(self.uss_mb),
                "busiest": [[name, round(rate, 2), round(cpu, 3)] for rate, cpu, name in self.rows[:5] if rate]}


def measure(tree: str, source: Path, config: str, edge: str, args: argparse.Namespace, work: Path) -> Run:
    """Start the daemon in one configuration, wait until it is ready and settled, and measure it at rest."""
    import psutil

    from bench.daemon_child import NAMES_THREAD, running

    with running(work, config=config, edge=edge, headless=args.headless, source=source) as daemon:
        daemon.wait_log(f"voice tier -> {EXPECTED_TIER[config, edge]} ", args.ready_timeout)
        if config == "xtts":  # loaded is not yet at rest: the warm-up synthesis runs after the tier turns green
            daemon.wait_log("XTTS warm-up took", args.ready_timeout)
        time.sleep(args.settle)
        python_names = daemon.thread_names()
        time.sleep(0.2)  # the names thread has written and blocks on stdin again
        before, t0 = sample(daemon.proc.pid), time.monotonic()
        time.sleep(args.seconds)
        after, elapsed = sample(daemon.proc.pid), time.monotonic() - t0
        memory = psutil.Process(daemon.proc.pid).memory_full_info()
    rows = []
    for tid, (switches, cpu, comm) in after.items():
        name = python_names.get(tid) or f"native thread ({comm})"
        if name == NAMES_THREAD:
            continue
        was = before.get(tid, (0, 0.0, comm))  # a thread born during the window counts from zero
        rows.append(((switches - was[0]) / elapsed, 100.0 * (cpu - was[1]) / elapsed, name))
    rows.sort(key=lambda r: (-r[0], -r[1], r[2]))
    return Run(tree, config, edge, elapsed, rows, memory.rss / 1e6, memory.uss / 1e6)


def print_run(run: Run, headless: bool) -> None:
    where = "headless" if headless else "tray + hotkeys + question box under Xvfb"
    print(f"\n### {run.tree}: cloning {run.config}, edge-tts {run.edge} ({where}): {run.seconds:.0f} s at rest, "
          f"{len(run.rows)} threads")
    print("\n| thread | wake-ups/s | CPU % of one core |\n| --- | --- | --- |")
    for rate, cpu, name in run.rows:
        print(f"| {name} | {rate:.2f} | {cpu:.2f} |")
    print(f"| **all the daemon's threads** | **{run.wakeups_s:.2f}** | **{run.cpu_pct:.2f}** |")
    print(f"\nresident: {run.rss_mb:.0f} MB (unique {run.uss_mb:.0f} MB)")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--seconds", type=float, default=20.0, help="how long to sample each run (default 20)")
    ap.add_argument("--settle", type=float, default=10.0, help="seconds after ready before sampling (default 10)")
    ap.add_argument("--configs", default="off,xtts", help="cloning off and/or the tiny XTTS warm (default both)")
    ap.add_argument("--edge", default="down,up", help="edge-tts unreachable and/or reachable (default both)")
    ap.add_argument("--headless", action="store_true", help="no display: no tray, hotkeys or question box")
    ap.add_argument("--ready-timeout", type=float, default=180.0, help="seconds allowed to get ready (default 180)")
    ap.add_argument("--before", type=Path, default=None,
                    help="also run the daemon from this source tree (an older commit's worktree), side by side")
    ap.add_argument("--max-wakeups", type=float, default=None, help="exit 1 when a run wakes more often (per s)")
    ap.add_argument("--max-cpu", type=float, default=None, help="exit 1 when a run uses more (%% of one core)")
    ap.add_argument("--quick", action="store_true", help="cloning off, edge down; settle 3 s, sample 5 s (CI)")
    args = ap.parse_args(argv)
    if args.quick:
        args.configs, args.edge, args.settle, args.seconds = "off", "down", 3.0, 5.0
    configs, edges = args.configs.split(","), args.edge.split(",")
    if not set(configs) <= {"off", "xtts"} or not set(edges) <= {"down", "up"} or args.seconds <= 0:
        print("bench/idle.py: --configs takes off,xtts; --edge takes down,up; --seconds > 0", file=sys.stderr)
        return 2
    if not Path("/proc/self/task").is_dir():
        print("bench/idle.py needs Linux (/proc)", file=sys.stderr)
        return 1
    trees = ([("before", args.before.resolve())] if args.before else []) + [("now", ROOT)]
    if args.before and not (args.before / "daemon" / "__main__.py").is_file():
        print(f"bench/idle.py: --before {args.before} is not a VoxTray source tree", file=sys.stderr)
        return 2
    runs = []
    work = Path(tempfile.mkdtemp(prefix="voxtray-idle-"))
    try:
        for config in configs:
            for edge in edges:
                for tree, source in trees:
                    run = measure(tree, source, config, edge, args, work / f"{tree}-{config}-{edge}")
                    print_run(run, args.headless)
                    runs.append(run)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    print("\n| configuration | tree | wake-ups/s | CPU % of one core | resident MB |\n| --- | --- | --- | --- | --- |")
    for run in runs:
        print(f"| cloning {run.config}, edge-tts {run.edge} | {run.tree} | {run.wakeups_s:.2f} | {run.cpu_pct:.2f} | "
              f"{run.rss_mb:.0f} |")
        was = next((r for r in runs if r.tree == "before" and (r.config, r.edge) == (run.config, run.edge)), None)
        if run.tree == "now" and was is not None:
            ratio = lambda a, b: f"{a / b:.3f}x" if b else "-"  # noqa: E731
            print(f"| (now / before) | | {ratio(run.wakeups_s, was.wakeups_s)} | {ratio(run.cpu_pct, was.cpu_pct)} | "
                  f"{ratio(run.rss_mb, was.rss_mb)} |")
    tick_ms = 1000 / os.sysconf("SC_CLK_TCK")
    print(f"\n(CPU is counted in clock ticks of {tick_ms:.0f} ms: below {tick_ms / 10 / args.seconds:.2f} % reads as 0;"
          f" targets: < {TARGETS['wakeups_s']:g} wake-ups/s, < {TARGETS['cpu_pct']:g} % of a core)")
    met = all(r.wakeups_s < TARGETS["wakeups_s"] and r.cpu_pct < TARGETS["cpu_pct"] for r in runs if r.tree == "now")
    print(json.dumps({"bench": "idle", "headless": args.headless, "targets": TARGETS, "met": met,
                      "runs": [r.summary() for r in runs]}))
    failed = [f"cloning {r.config}, edge {r.edge}: {why}" for r in runs if r.tree == "now" for why in
              ([f"{r.wakeups_s:.2f} wake-ups/s > {args.max_wakeups:g}"]
               if args.max_wakeups is not None and r.wakeups_s > args.max_wakeups else []) +
              ([f"CPU {r.cpu_pct:.3f} % > {args.max_cpu:g} %"]
               if args.max_cpu is not None and r.cpu_pct > args.max_cpu else [])]
    if failed:
        print("too busy at rest: " + "; ".join(failed), file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
