"""The whole daemon (`python -m daemon run`) as a child process on a private X11 desktop (Xvfb + trayer)."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import psutil

from daemon import __version__
from tests.fixtures.x11 import X11Session, wait_for

ROOT = Path(__file__).resolve().parent.parent


def test_tray_shows_within_2_s_and_sigterm_stops_everything(x11: X11Session, tmp_path: Path) -> None:
    settings = tmp_path / "settings.json"
    settings.write_text(json.dumps({"use_local_cloning": False, "llm_health_interval_s": 0, "notifications": False}))
    before = set(x11.tray_icons())
    t0 = time.monotonic()
    proc = subprocess.Popen(
        [sys.executable, "-m", "daemon", "--settings", str(settings), "run"],
        cwd=ROOT, env={**x11.env, "VOXTRAY_LOG_DIR": os.environ["VOXTRAY_LOG_DIR"]}, stdout=subprocess.PIPE,
        stderr=subprocess.PIPE, text=True,
    )
    try:
        wait_for(lambda: set(x11.tray_icons()) - before, 15, "the VoxTray icon in the tray")
        shown_after = time.monotonic() - t0
        assert proc.stdout is not None
        assert "system tray" in proc.stdout.readline()
        children = psutil.Process(proc.pid).children(recursive=True)
        log = Path(os.environ["VOXTRAY_LOG_DIR"]) / "voxtray.log"  # a per-test folder (conftest)
        # SIGTERM must meet a busy daemon: its start-up thread is building the parts behind the icon
        wait_for(lambda: log.exists() and f"VoxTray {__version__} starting" in log.read_text(encoding="utf-8"), 15,
                 "start-up to be under way")
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=30) == 0, proc.stderr.read() if proc.stderr else ""
        wait_for(lambda: not (set(x11.tray_icons()) - before), 10, "the icon to leave the tray")
        assert not [c for c in children if c.is_running() and c.status() != psutil.STATUS_ZOMBIE]
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(5)
    print(f"tray icon visible {shown_after:.2f} s after start")
    assert shown_after < 2.0
