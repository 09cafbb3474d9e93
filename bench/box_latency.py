"""Hotkey -> question box on screen: how long from the ask hotkey's key press to the box's window being mapped.

    .venv/bin/python bench/box_latency.py                        # 10 presses (the first one reported apart)
    git worktree add /tmp/before 63efe8f^ && .venv/bin/python bench/box_latency.py --before /tmp/before
    .venv/bin/python bench/box_latency.py --quick                # 3 presses (CI)

The real daemon runs as a child process on a private X11 desktop with a tray host (bench/daemon_child.py: cloning
off, the LLM a loopback stand-in, edge-tts down), its global hotkeys on (pynput). The bench presses Ctrl+Alt+Space
through XTEST (as xdotool does, seen by pynput's RECORD listener like a real keyboard) and takes the time at the
press; it then waits for the X server's MapNotify of the box's top-level window ("VoxTray — Ask") and takes the
time again. Escape closes the box (UnmapNotify) before the next press, 0.5 s apart. With `--before TREE` the same
presses run against an older source tree first, and the table shows both with their ratio (#22: the box must open
as fast as before while its thread sleeps at rest; target < 150 ms).
"""

from __future__ import annotations

import argparse
import json
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
TITLE = "VoxTray — Ask"
TARGET_MS = 150.0


def _title(display: Any, window: Any) -> str:
    from Xlib import error

    try:
        prop = window.get_full_property(display.intern_atom("_NET_WM_NAME"), display.intern_atom("UTF8_STRING"))
        return bytes(prop.value).decode("utf-8", "replace") if prop else str(window.get_wm_name() or "")
    except error.XError:
        return ""


def _wait_event(display: Any, kind: int, timeout: float) -> Any | None:
    """The next event of `kind` on a window titled TITLE, or None after `timeout` seconds."""
    import select

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        while display.pending_events():
            event = display.next_event()
            if event.type == kind and _title(display, event.window) == TITLE:
                return event
        select.select([display.fileno()], [], [], max(0.0, deadline - time.monotonic()))
    return None


def _press(display: Any, keys: list[str]) -> None:
    """Press and release `keys` (X keysym names) through XTEST, then flush."""
    from Xlib import XK, X
    from Xlib.ext import xtest

    codes = [display.keysym_to_keycode(XK.string_to_keysym(k)) for k in keys]
    for code in codes:
        xtest.fake_input(display, X.KeyPress, code)
    for code in reversed(codes):
        xtest.fake_input(display, X.KeyRelease, code)
    display.sync()


def presses(source: Path, n: int, work: Path) -> list[float]:
    """Milliseconds from each press of the ask hotkey to the box being mapped, against the daemon in `source`."""
    import Xlib.display
    from Xlib import X

    from bench.daemon_child import running

    with running(work, source=source) as daemon:
        daemon.wait_log("voice tier -> system ", 120)
        daemon.wait_log("hotkeys: ctrl+alt+space asks", 60)
        time.sleep(2.0)  # the box's own thread and the listener finish starting
        display = Xlib.display.Display(daemon.display)
        try:
            display.screen().root.change_attributes(event_mask=X.SubstructureNotifyMask)
            display.sync()
            took = []
            for i in range(n):
                t0 = time.perf_counter()
                _press(display, ["Control_L", "Alt_L", "space"])
                if _wait_event(display, X.MapNotify, 5.0) is None:
                    raise SystemExit(f"press {i + 1}: the question box did not open within 5 s; see {daemon.log}")
                took.append(1000.0 * (time.perf_counter() - t0))
                time.sleep(0.3)  # the box takes focus; Escape goes to it
                _press(display, ["Escape"])
                if _wait_event(display, X.UnmapNotify, 5.0) is None:
                    raise SystemExit(f"press {i + 1}: Escape did not close the question box; see {daemon.log}")
                time.sleep(0.5)
        finally:
            display.close()
    return took


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--presses", type=int, default=10, help="presses per tree (default 10)")
    ap.add_argument("--before", type=Path, default=None, help="also measure this source tree (an older worktree)")
    ap.add_argument("--quick", action="store_true", help="3 presses (CI)")
    args = ap.parse_args(argv)
    if args.quick:
        args.presses = 3
    if args.presses < 2:
        print("bench/box_latency.py: --presses must be at least 2", file=sys.stderr)
        return 2
    if args.before and not (args.before / "daemon" / "__main__.py").is_file():
        print(f"bench/box_latency.py: --before {args.before} is not a VoxTray source tree", file=sys.stderr)
        return 2
    trees = ([("before", args.before.resolve())] if args.before else []) + [("now", ROOT)]
    work = Path(tempfile.mkdtemp(prefix="voxtray-box-"))
    results: dict[str, list[float]] = {}
    try:
        for tree, source in trees:
            results[tree] = presses(source, args.presses, work / tree)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    print(f"\nAsk hotkey -> question box mapped ({args.presses} presses per tree; ms)\n")
    print("| tree | first press | p50 of the rest | max of the rest |\n| --- | --- | --- | --- |")
    rows = {}
    for tree, took in results.items():
        rows[tree] = {"first_ms": round(took[0], 1), "p50_ms": round(statistics.median(took[1:]), 1),
                      "max_ms": round(max(took[1:]), 1)}
        r = rows[tree]
        print(f"| {tree} | {r['first_ms']:.1f} | {r['p50_ms']:.1f} | {r['max_ms']:.1f} |")
    if "before" in rows:
        b, a = rows["before"], rows["now"]
        print(f"| now / before | {a['first_ms'] / b['first_ms']:.2f}x | {a['p50_ms'] / b['p50_ms']:.2f}x | "
              f"{a['max_ms'] / b['max_ms']:.2f}x |")
    met = rows["now"]["max_ms"] < TARGET_MS and rows["now"]["first_ms"] < TARGET_MS
    print(f"\ntarget: every press < {TARGET_MS:g} ms: {'met' if met else 'NOT met'}")
    print(json.dumps({"bench": "box_latency", "target_ms": TARGET_MS, "met": met, **rows}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
