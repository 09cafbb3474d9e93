"""Quiet at rest on Windows (#22), as far as Wine shows it: the daemon under pythonw.exe (win32 tray, RegisterHotKey
hotkeys, the hidden question box, the LLM health poller and edge-tts against loopback stand-ins) while nobody asks.

A Windows process under Wine is a Linux process: the test finds it in /proc (Wine's Z: drive) and reads every
thread's context switches (wake-ups) and CPU ticks as bench/idle.py does on Linux; the launcher
(tests_win/named_daemon.py) hands each Python thread's name to SetThreadDescription, which Wine passes on to the
Linux thread name (15 characters). psutil's Windows view (GetProcessTimes) is printed beside it.

Faked: nothing in the daemon; edge-tts's two endpoint URLs point at the stand-in. Not proven here: the real Windows
scheduler and timer behaviour (these are Wine figures, Wine's own threads included).
"""

from __future__ import annotations

import json
import os
import time
from pathlib import Path

import psutil

from tests.fixtures.edge_server import EdgeStandIn, _ServerThread
from tests.fixtures.llm_server import start_llm_server
from tests_win.conftest import ROOT
from tests_win.daemon_proc import running
from tests_win.winutil import wait_for

PROC = Path("Z:/proc")
SETTLE_S, WINDOW_S = 5.0, float(os.environ.get("VOXTRAY_IDLE_WINDOW_S") or 12.0)  # longer: VOXTRAY_IDLE_WINDOW_S


def unix_pid(marker: str) -> int:
    """The Linux pid of the Wine process whose command line holds `marker`."""
    for entry in PROC.iterdir():
        if entry.name.isdigit():
            try:
                cmdline = (entry / "cmdline").read_bytes().decode("utf-8", "replace")
            except OSError:
                continue
            if "pythonw.exe" in cmdline and marker in cmdline:
                return int(entry.name)
    raise AssertionError(f"no pythonw.exe with {marker!r} in /proc")


def tasks(pid: int) -> dict[int, tuple[int, int, str]]:
    """Per Linux thread: context switches, CPU ticks (user + system) and name."""
    out = {}
    for task in (PROC / str(pid) / "task").iterdir():
        try:
            status = (task / "status").read_text()
            fields = (task / "stat").read_text().rsplit(")", 1)[1].split()
            name = (task / "comm").read_text().strip()
        except OSError:
            continue
        switches = sum(int(line.split()[1]) for line in status.splitlines()
                       if line.startswith(("voluntary_ctxt_switches", "nonvoluntary_ctxt_switches")))
        out[int(task.name)] = (switches, int(fields[11]) + int(fields[12]), name)
    return out


def test_the_daemon_under_pythonw_is_quiet_at_rest(tmp_path: Path) -> None:
    llm = start_llm_server(api="ollama", tokens=["Fine."])
    edge = EdgeStandIn()
    server = _ServerThread(edge)
    server.start()
    try:
        with running(tmp_path, launcher=ROOT / "tests_win" / "named_daemon.py",
                     env_extra={"VOXTRAY_TEST_EDGE_WSS": edge.wss_url, "VOXTRAY_TEST_EDGE_VOICES": edge.voices_url},
                     use_local_cloning=False, remote_llm_url=llm.url, llm_api="ollama") as daemon:
            wait_for(lambda: "voice tier -> edge" in daemon.log(), 60, "the edge tier in the log")
            wait_for(lambda: "global hotkeys (win32)" in daemon.log(), 60, "hotkeys registered")
            time.sleep(SETTLE_S)
            linux = unix_pid(tmp_path.name)
            proc = psutil.Process(daemon.pid)
            cpu0, before, t0 = proc.cpu_times(), tasks(linux), time.monotonic()
            time.sleep(WINDOW_S)
            cpu1, after, elapsed = proc.cpu_times(), tasks(linux), time.monotonic() - t0
            rss_mb = proc.memory_info().rss / 1e6
            assert "Traceback" not in daemon.log()
    finally:
        server.stop()
        llm.stop()
    tick = 100  # USER_HZ: Linux reports thread times in 1/100 s
    rows = sorted((((sw - before.get(tid, (0, 0, ""))[0]) / elapsed,
                    100.0 * (ticks - before.get(tid, (0, 0, ""))[1]) / tick / elapsed, name)
                   for tid, (sw, ticks, name) in after.items()), key=lambda r: (-r[0], -r[1], r[2]))
    wakeups, cpu_pct = sum(r[0] for r in rows), sum(r[1] for r in rows)
    windows_view = 100.0 * ((cpu1.user - cpu0.user) + (cpu1.system - cpu0.system)) / elapsed
    figures = {"bench": "idle_wine", "seconds": round(elapsed, 1), "wakeups_s": round(wakeups, 2),
               "cpu_pct": round(cpu_pct, 3), "cpu_pct_getprocesstimes": round(windows_view, 3),
               "threads": len(rows), "rss_mb": round(rss_mb),
               "busiest": [[name, round(rate, 2), round(cpu, 3)] for rate, cpu, name in rows[:8] if rate]}
    print("\n| thread (Linux name under Wine) | wake-ups/s | CPU % of one core |\n| --- | --- | --- |")
    for rate, cpu, name in rows:
        print(f"| {name} | {rate:.2f} | {cpu:.2f} |")
    print(json.dumps(figures))
    artifacts = Path(os.environ.get("VOXTRAY_ARTIFACTS") or ROOT / "artifacts")
    artifacts.mkdir(parents=True, exist_ok=True)
    (artifacts / "idle_wine.json").write_text(json.dumps(figures) + "\n", encoding="utf-8")
    # generous (Wine's own threads are in these figures), so a polling loop cannot come back unnoticed: the question
    # box polling every 20 ms alone woke ~150 times a second and cost ~1.2 % of a core on Linux
    assert wakeups < 50 and cpu_pct < 1.0, figures
