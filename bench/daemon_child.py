"""Not a bench: the real daemon (`python -m daemon run`) as a child process on a private X11 desktop, for the benches
that measure it from outside (bench/idle.py, bench/box_latency.py).

The desktop is tests/fixtures/x11.py's (Xvfb, a session bus, trayer as the tray host, dunst), or none (headless).
The LLM is a loopback stand-in; edge-tts points at a loopback port nobody listens on ("down") or at the loopback
edge-tts stand-in ("up"). `source` picks the source tree the daemon runs from, so an older commit's worktree can be
measured beside this one. The child names its Python threads on request: a thread blocked on its stdin (no
wake-ups) writes {native id: name} to a file when the bench writes a line.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
NAMES_THREAD = "bench-names"
CHILD = """
import json, os, sys, threading
def names():
    for _line in sys.stdin:
        with open(os.environ["BENCH_DAEMON_NAMES"], "w") as f:
            json.dump({t.native_id: t.name for t in threading.enumerate()}, f)
threading.Thread(target=names, name="bench-names", daemon=True).start()
import edge_tts.communicate, edge_tts.voices
edge_tts.communicate.WSS_URL = os.environ["BENCH_DAEMON_WSS"]
edge_tts.voices.VOICE_LIST = os.environ["BENCH_DAEMON_VOICES"]
sys.argv = ["daemon", "--settings", os.environ["BENCH_DAEMON_SETTINGS"], "run", *sys.argv[1:]]
from daemon.__main__ import main
sys.exit(main())
"""


@dataclass
class Daemon:
    """A running daemon child: its process, log, X display (empty when headless) and work folder."""

    proc: subprocess.Popen[bytes]
    log: Path
    display: str
    work: Path

    def wait_log(self, text: str, timeout: float) -> None:
        """Until the daemon's log holds `text` (the bench reads the file; the child is not asked)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise SystemExit(f"the daemon exited with {self.proc.returncode}; see {self.work / 'daemon.out'}")
            if self.log.exists() and text in self.log.read_text(encoding="utf-8", errors="replace"):
                return
            time.sleep(0.1)
        raise SystemExit(f"the daemon's log did not say {text!r} within {timeout:.0f} s; see {self.log}")

    def thread_names(self) -> dict[int, str]:
        """The child's Python threads, native id -> name (asked once through its stdin)."""
        names = self.work / "names.json"
        names.unlink(missing_ok=True)
        assert self.proc.stdin is not None
        self.proc.stdin.write(b"names\n")
        self.proc.stdin.flush()
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            try:
                return {int(k): v for k, v in json.loads(names.read_text()).items() if k != "null"}
            except (OSError, ValueError):  # not written yet, or half-written
                time.sleep(0.05)
        raise SystemExit("the daemon child did not name its threads within 10 s")


@contextmanager
def _desktop(work: Path, headless: bool) -> Iterator[dict[str, str]]:
    if headless:
        yield {k: v for k, v in os.environ.items() if k not in ("DISPLAY", "WAYLAND_DISPLAY")}
        return
    from tests.fixtures.x11 import X11Session

    work.mkdir(parents=True, exist_ok=True)
    session = X11Session(work)
    try:
        yield session.start().env
    finally:
        session.stop()


@contextmanager
def _edge(edge: str) -> Iterator[tuple[str, str]]:
    if edge == "down":
        yield "ws://127.0.0.1:9/edge/v1", "http://127.0.0.1:9/voices"
        return
    import logging

    from tests.fixtures.edge_server import EdgeStandIn, _ServerThread

    logging.getLogger("aiohttp").setLevel(logging.CRITICAL)  # the stand-in's "client went away" tracebacks
    standin = EdgeStandIn()
    server = _ServerThread(standin)
    server.start()
    try:
        yield standin.wss_url, standin.voices_url
    finally:
        server.stop()


def settings_for(config: str, llm_url: str) -> dict[str, Any]:
    """settings.json for "off" (cloning off) or "xtts" (the tiny random-weight XTTS warm on the CPU)."""
    values: dict[str, Any] = {"remote_llm_url": llm_url, "llm_api": "ollama", "notifications": False,
                              "use_local_cloning": config == "xtts"}
    if config == "xtts":
        from tests.fixtures.xtts import ensure_tiny_xtts

        values.update(xtts_model_path=str(ensure_tiny_xtts()), xtts_device="cpu", xtts_allow_cpu=True,
                      cloning_reference_file=str(ROOT / "voices" / "sample.wav"), xtts_max_rtf=1000.0)
    return values


@contextmanager
def running(work: Path, *, config: str = "off", edge: str = "down", headless: bool = False,
            source: Path = ROOT) -> Iterator[Daemon]:
    """Start the daemon in one configuration; stop it (and everything started for it) on the way out."""
    from tests.fixtures.llm_server import start_llm_server

    work.mkdir(parents=True, exist_ok=True)
    with ExitStack() as stack:
        env = stack.enter_context(_desktop(work / "desktop", headless))
        wss, voices = stack.enter_context(_edge(edge))
        llm = start_llm_server(api="ollama", tokens=["Fine."])
        stack.callback(llm.stop)
        settings = work / "settings.json"
        settings.write_text(json.dumps(settings_for(config, llm.url)))
        env = {**env, "VOXTRAY_DATA_DIR": str(work / "data"), "VOXTRAY_LOG_DIR": str(work / "log"),
               "BENCH_DAEMON_NAMES": str(work / "names.json"), "BENCH_DAEMON_WSS": wss,
               "BENCH_DAEMON_VOICES": voices, "BENCH_DAEMON_SETTINGS": str(settings), "PYTHONPATH": str(source)}
        cmd = [sys.executable, "-c", CHILD, *(["--headless"] if headless else [])]
        with open(work / "daemon.out", "wb") as out:
            proc = subprocess.Popen(cmd, cwd=source, env=env, stdin=subprocess.PIPE, stdout=out,
                                    stderr=subprocess.STDOUT)
        try:
            yield Daemon(proc, work / "log" / "voxtray.log", env.get("DISPLAY", ""), work)
        finally:
            proc.terminate()
            try:
                proc.wait(30)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(10)
