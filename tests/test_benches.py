"""Benches that cannot rot: each bench/ script's `--quick` mode (seconds, tiny inputs) runs as a child process, as
a user would start it, so a refactor that breaks a bench fails here. The figures are not checked, only that each
bench ran to its end and printed its result; tests/test_soak.py runs the full soak and checks its limits."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
BENCH = ROOT / "bench"
HELPERS = {"faulty_llm", "daemon_child"}  # not benches: the soak's LLM child, the daemon child of idle/box_latency

# script -> (a line its quick run must print, timeout s)
QUICK = {
    "box_latency": ('"bench": "box_latency"', 120),
    "idle": ("| **all the daemon's threads** |", 120),
    "memory": ('"bench": "memory"', 90),
    "pipeline_latency": ('"bench": "first_fragment"', 60),
    "soak": ("soak passed", 90),
    "speech_check": ('"bench": "speech_check"', 120),
    "stt_latency": ("| base | ~3 s (LJ) |", 120),
    "xtts_latency": ('"bench": "xtts"', 180),
}


def test_every_bench_has_a_quick_run_here() -> None:
    scripts = {p.stem for p in BENCH.glob("*.py") if p.stem != "__init__"}
    assert scripts - HELPERS == set(QUICK), "a new bench/ script needs a --quick mode and an entry in QUICK"


@pytest.fixture(scope="module")
def quick_runs(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, tuple[subprocess.Popen[bytes], Path]]]:
    """Every quick run started at once (output to a file, so none waits on a full pipe): together they take about
    as long as the slowest."""
    runs: dict[str, tuple[subprocess.Popen[bytes], Path]] = {}
    for name in sorted(QUICK, key=lambda n: -QUICK[n][1]):
        work = tmp_path_factory.mktemp(name)
        with open(work / "output.txt", "wb") as out:
            proc = subprocess.Popen([sys.executable, str(BENCH / f"{name}.py"), "--quick"], cwd=work, stdout=out,
                                    stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
        runs[name] = proc, work / "output.txt"
    yield runs
    for proc, _ in runs.values():
        if proc.poll() is None:
            proc.kill()
        proc.wait()


@pytest.mark.slow
@pytest.mark.parametrize("name", sorted(QUICK))
def test_the_quick_run_of_each_bench_ends_with_its_result(
    name: str, quick_runs: dict[str, tuple[subprocess.Popen[bytes], Path]]
) -> None:
    expected, timeout = QUICK[name]
    proc, output = quick_runs[name]
    code = proc.wait(timeout=timeout)
    out = output.read_text(encoding="utf-8", errors="replace")
    assert code == 0, f"bench/{name}.py --quick exited {code}:\n{out[-4000:]}"
    assert expected in out, f"bench/{name}.py --quick did not print {expected!r}:\n{out[-4000:]}"


def test_the_faulty_llm_child_serves_both_protocols_and_obeys_stdin() -> None:
    proc = subprocess.run([sys.executable, str(BENCH / "faulty_llm.py")], input='{"tokens": ["Hi", "."]}\n',
                          capture_output=True, text=True, timeout=30, check=False)
    lines = proc.stdout.splitlines()
    assert proc.returncode == 0 and len(lines) == 2, proc.stdout + proc.stderr
    assert set(json.loads(lines[0])) == {"ollama", "openai"} and lines[1] == "ok"


@pytest.mark.slow
def test_the_daemon_is_quiet_at_rest() -> None:
    """#22's guard: the real daemon as a user runs it (tray in trayer under Xvfb, global hotkeys, the hidden
    question box; bench/idle.py) wakes its threads at most 10 times a second in all and uses at most 1 % of a core
    over 10 s while nobody asks. Before #22 it woke ~290 times a second (the box's Tk loop polled every 20 ms)."""
    done = subprocess.run([sys.executable, str(BENCH / "idle.py"), "--configs", "off", "--edge", "up", "--settle", "5",
                           "--seconds", "10", "--max-wakeups", "10", "--max-cpu", "1"], capture_output=True, text=True,
                          timeout=180, check=False)
    assert done.returncode == 0, done.stdout + done.stderr
    summary = json.loads(done.stdout.strip().splitlines()[-1])
    assert summary["bench"] == "idle" and not summary["headless"] and len(summary["runs"]) == 1
    assert "question-box" in done.stdout and "hotkeys" in done.stdout, "the box and hotkeys must be measured too"
