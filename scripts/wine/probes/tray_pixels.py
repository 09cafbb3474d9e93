"""Probe (FINDINGS.md a): read the pixels of a pystray (win32 backend) icon docked into trayer, from Wine.

Run under the lane: bash scripts/wine/run.sh winpy scripts/wine/probes/tray_pixels.py
Way 1: PIL.ImageGrab.grab() (GDI BitBlt of the screen DC; Wine reads the X root window, so it sees trayer too).
Way 2: the X server's own view via a Linux tool, started with `start.exe /unix` (fire and forget: no handle, no
exit code, no pipes), so the command writes its output and exit code to files that we poll.
"""

import os
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import pystray
from PIL import Image, ImageGrab

COLOUR = (255, 0, 255)


def to_unix(path: Path) -> str:
    """Z:\\tmp\\x -> /tmp/x (Wine maps Z: to /)."""
    text = str(path)
    assert text[:2].upper() == "Z:", "use a folder under Z: (the Unix root) for files a Linux tool writes"
    return text[2:].replace("\\", "/")


def unix_run(command: str, workdir: Path, timeout: float = 20) -> tuple[int, str]:
    """Run a shell command on the Linux side; return (exit code, stdout) via files."""
    out, rc = workdir / "unix.out", workdir / "unix.rc"
    for f in (out, rc):
        f.unlink(missing_ok=True)
    script = f"( {command} ) > '{to_unix(out)}' 2>&1; echo $? > '{to_unix(rc)}.tmp'; mv '{to_unix(rc)}.tmp' '{to_unix(rc)}'"
    subprocess.run(["start.exe", "/unix", "/bin/sh", "-c", script], stdin=subprocess.DEVNULL, capture_output=True,
                   timeout=timeout, check=True)
    deadline = time.monotonic() + timeout
    while not rc.exists():
        if time.monotonic() > deadline:
            raise TimeoutError(command)
        time.sleep(0.05)
    return int(rc.read_text()), out.read_text(errors="replace")


def find(img: Image.Image) -> list[tuple[int, int]]:
    px = img.convert("RGB").load()
    return [(x, y) for y in range(img.height) for x in range(img.width) if px[x, y] == COLOUR]


def probe(icon: pystray.Icon) -> None:
    try:
        time.sleep(2)  # docking: Wine's explorer.exe hands the icon to the XEmbed tray
        work = Path(tempfile.mkdtemp(prefix="trayprobe-", dir=os.environ.get("VOXTRAY_PROBE_DIR", r"Z:\tmp")))
        hits = find(ImageGrab.grab())
        box = (min(x for x, _ in hits), min(y for _, y in hits), max(x for x, _ in hits), max(y for _, y in hits))
        print(f"ImageGrab.grab(): {len(hits)} icon pixels, box {box}")
        shot = work / "root.png"
        rc, out = unix_run(f"import -window root '{to_unix(shot)}'", work)
        hits2 = find(Image.open(shot)) if rc == 0 else []
        print(f"start /unix import -window root: rc={rc} {out.strip()} {len(hits2)} icon pixels")
        rc, out = unix_run("xwininfo -root -tree | grep -A3 '\"panel\" \"trayer\"'", work)
        print(f"start /unix xwininfo: rc={rc}\n{out}")
        print("RESULT", "WORKS" if hits and hits2 and len(hits) == len(hits2) else "FAILS", flush=True)
    finally:
        icon.stop()


icon = pystray.Icon("probe", Image.new("RGB", (32, 32), COLOUR), "probe")
threading.Thread(target=probe, args=(icon,), daemon=True).start()
icon.run()
sys.exit(0)
