"""Quiet at rest: how often the running daemon's threads wake up, and how much CPU it burns, while nobody asks.

    .venv/bin/python bench/idle.py [--seconds 20] [--settle 8]
    .venv/bin/python bench/idle.py --quick                     # seconds: settle 4 s, sample 5 s (CI)
    .venv/bin/python bench/idle.py --max-wakeups 5 --max-cpu 0.2   # exit 1 above either (a guard)

The real daemon (App: settings, speech stack with the system voice, router prober and tier watcher, VRAM watcher,
Ollama guard, keep-warm policy, LLM client + health poller against a loopback stand-in, assistant, notifier-less
headless run) is started in THIS process, so every thread is known by name; after `--settle` seconds the bench
reads each thread's context switches (/proc/self/task/TID/status: voluntary + involuntary = wake-ups) and the
process's CPU time over `--seconds`, and prints them per thread, busiest first. Linux only (/proc). Nothing
leaves the machine: edge-tts's endpoint points at a loopback port nobody listens on (as in the tests), the LLM
is a loopback stand-in, NVML has no GPU here. The question box and tray need a display: not part of this run.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def switches(tid: int) -> int:
    """Voluntary + involuntary context switches of one thread so far (0 once it is gone)."""
    try:
        text = Path(f"/proc/self/task/{tid}/status").read_text()
    except OSError:
        return 0
    total = 0
    for line in text.splitlines():
        if line.startswith(("voluntary_ctxt_switches", "nonvoluntary_ctxt_switches")):
            total += int(line.split()[1])
    return total


def cpu_s(tid: int) -> float:
    """CPU seconds (user + system) one thread has used so far (0 once it is gone)."""
    try:
        fields = Path(f"/proc/self/task/{tid}/stat").read_text().rsplit(")", 1)[1].split()
    except (OSError, IndexError):
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")  # utime, stime


def threads() -> dict[int, str]:
    """This process's Python threads: native id -> name."""
    return {t.native_id: t.name for t in threading.enumerate() if t.native_id is not None}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--seconds", type=float, default=20.0, help="how long to sample")
    ap.add_argument("--settle", type=float, default=8.0, help="seconds after start before sampling")
    ap.add_argument("--max-wakeups", type=float, default=None, help="exit 1 above this many wake-ups/s in all")
    ap.add_argument("--max-cpu", type=float, default=None, help="exit 1 above this CPU %% of one core")
    ap.add_argument("--quick", action="store_true", help="settle 4 s, sample 5 s (CI)")
    args = ap.parse_args(argv)
    if args.quick:
        args.settle, args.seconds = 4.0, 5.0
    if not Path("/proc/self/task").is_dir():
        print("bench/idle.py needs Linux (/proc)", file=sys.stderr)
        return 2
    logging.basicConfig(level=logging.WARNING)

    from tests.fixtures.llm_server import start_llm_server

    srv = start_llm_server(api="ollama", tokens=["Fine."])
    import edge_tts.communicate
    import edge_tts.voices

    edge_tts.communicate.WSS_URL = "ws://127.0.0.1:9/edge/v1"  # type: ignore[attr-defined]  # nobody listens
    edge_tts.voices.VOICE_LIST = "http://127.0.0.1:9/voices"  # type: ignore[attr-defined]
    from daemon.app import App
    from daemon.settings import load

    with tempfile.TemporaryDirectory() as tmp:
        os.environ.setdefault("VOXTRAY_DATA_DIR", str(Path(tmp) / "data"))
        os.environ.setdefault("VOXTRAY_LOG_DIR", str(Path(tmp) / "logs"))
        os.environ.pop("DISPLAY", None)  # headless: no hotkeys, no box (they need a display)
        path = Path(tmp) / "settings.json"
        path.write_text(json.dumps({"use_local_cloning": False, "remote_llm_url": srv.url, "llm_api": "ollama",
                                    "notifications": False}))
        app = App(load(path, check=False), path, headless=True)
        app.start()
        try:
            time.sleep(args.settle)
            names = threads()
            before = {tid: (switches(tid), cpu_s(tid)) for tid in names}
            t0 = time.monotonic()
            time.sleep(args.seconds)
            elapsed = time.monotonic() - t0
            after = {tid: (switches(tid), cpu_s(tid)) for tid in names}
        finally:
            app.shutdown()
            srv.stop()
    me = threading.main_thread().native_id
    bench_own = {"llm-stand-in"}  # the loopback LLM this bench runs: not the daemon's
    mine = [t for t in names if t != me and after[t][0] and names[t] not in bench_own]
    rows = sorted(((after[t][0] - before[t][0]) / elapsed, 100.0 * (after[t][1] - before[t][1]) / elapsed, names[t])
                  for t in mine)
    rows.reverse()
    total = sum(rate for rate, _cpu, _name in rows)
    cpu_pct = sum(cpu for _rate, cpu, _name in rows)
    print(f"idle for {elapsed:.1f} s after {args.settle:.0f} s of start-up; {len(names)} threads")
    print("\n| thread | wake-ups/s | CPU % of one core |\n| --- | --- | --- |")
    for rate, cpu, name in rows:
        print(f"| {name} | {rate:.2f} | {cpu:.2f} |")
    print(f"| **all the daemon's threads** | **{total:.2f}** | **{cpu_pct:.2f}** |")
    print(f"\n(CPU is counted in clock ticks of {1000 / os.sysconf('SC_CLK_TCK'):.0f} ms: below "
          f"{100 / os.sysconf('SC_CLK_TCK') / elapsed:.2f} % reads as 0)")
    failed = []
    if args.max_wakeups is not None and total > args.max_wakeups:
        failed.append(f"{total:.2f} wake-ups/s > {args.max_wakeups:g}")
    if args.max_cpu is not None and cpu_pct > args.max_cpu:
        failed.append(f"CPU {cpu_pct:.3f} % > {args.max_cpu:g} %")
    if failed:
        print("too busy at rest: " + "; ".join(failed), file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
