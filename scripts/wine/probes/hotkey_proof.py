"""Probe (FINDINGS.md b): run under the lane (bash scripts/wine/run.sh winpy scripts/wine/probes/hotkey_proof.py).

Starts hotkey_listener.py (RegisterHotKey, then the `keyboard` hook variant) and, once it says "ready",
hotkey_sender.py (SendInput) in a separate process; reports whether the listener saw the hotkey.
"""

import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent


def trial(*flags: str) -> bool:
    listener = subprocess.Popen([sys.executable, str(HERE / "hotkey_listener.py"), *flags], stdin=subprocess.DEVNULL,
                                stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    assert listener.stdout is not None
    first = listener.stdout.readline().strip()
    if first != "ready":
        print("listener:", first, listener.stdout.read())
        return False
    time.sleep(0.3)
    sent = subprocess.run([sys.executable, str(HERE / "hotkey_sender.py")], stdin=subprocess.DEVNULL,
                          capture_output=True, text=True, timeout=30)
    out, _ = listener.communicate(timeout=30)
    ok = "fired" in out
    print(f"{flags or ('RegisterHotKey',)}: sender: {sent.stdout.strip()} | listener: {out.strip()!r} -> "
          f"{'WORKS' if ok else 'no hotkey'}")
    return ok


results = [trial(), trial("--keyboard")]
sys.exit(0 if all(results) else 1)
