"""First run, as a new user meets it: the whole daemon (`python -m tests.daemon_child run`) in a fresh user profile
on a private X11 desktop (Xvfb + trayer, pystray gtk), cloning on, no XTTS model anywhere, the licence not accepted.
The model is served by a loopback stand-in for Hugging Face (tests/fixtures/model_server.py) holding the tiny
random-weight XTTS, at a limited rate, and it drops the connection once in the middle of model.pth.

Driven like a user, with xdotool: right-click the icon, choose "Get the cloned voice (XTTS v2)…" with the keyboard,
press Enter in the licence dialog (Accept and download). Then: the progress line is the icon's title/tooltip, the
download resumes after the drop (a Range request), and the icon turns green with no restart and no file edited
by hand (the acceptance was saved by the daemon).

Faked: NVML (no GPU here; a file says 5000 MB free) and where edge-tts connects (a port nobody listens on), as in
test_tray_truth.py; the model's host is the loopback stand-in. Everything else is real.
"""

from __future__ import annotations

import hashlib
import json
import subprocess
import sys
import time
from pathlib import Path

import pytest

from daemon.desktop.dialogs import MODEL_TITLE
from daemon.desktop.traymenu import GET_MODEL_ITEM
from daemon.settings import Settings
from tests.fixtures.llm_server import refused_url
from tests.fixtures.model_server import serve
from tests.fixtures.x11 import X11Session, wait_for
from tests.procs import stop_process
from tests.test_tray_dialogs_x11 import press, window, windows
from tests.test_tray_x11 import icon_colour, popup_windows

pytestmark = [pytest.mark.x11, pytest.mark.slow]
ROOT = Path(__file__).resolve().parent.parent
PROGRESS = "Downloading the cloned voice"


def tray_title(x11: X11Session) -> str:
    """The title pystray gave the icon (GtkStatusIcon sets it on the icon's own X window; the tooltip is the
    same text, see test_tray_dialogs_x11.py)."""
    ids = x11.run("xdotool", "search", "--name", PROGRESS, check=False).stdout.split()
    return x11.run("xdotool", "getwindowname", ids[0], check=False).stdout.strip() if ids else ""


def test_accept_in_the_dialog_downloads_with_progress_resumes_a_drop_and_turns_green_without_a_restart(
        x11: X11Session, tmp_path: Path, xtts_settings: Settings, tiny_xtts_dir: Path) -> None:
    files = {p.name: p.read_bytes() for p in tiny_xtts_dir.iterdir() if p.name in ("config.json", "vocab.json",
                                                                                   "model.pth")}
    files["hash.md5"] = hashlib.md5(files["model.pth"]).hexdigest().encode()
    model, httpd = serve(files)
    model.rate_bps = 25_000_000  # ~4 s for the tiny model: long enough to see the progress
    model.drop_after["model.pth"] = len(files["model.pth"]) // 3
    settings = xtts_settings.model_dump(mode="json") | {
        "xtts_model_path": Settings().xtts_model_path, "xtts_download_url": model.url,
        "xtts_license_accepted": False, "engine_order": ["xtts", "edge", "system"],
        "llm_health_interval_s": 0, "notifications": True,
    }
    path = tmp_path / "settings.json"
    path.write_text(json.dumps(settings))
    nvml = tmp_path / "nvml.txt"
    nvml.write_text("5000")
    data = tmp_path / "profile" / "data"
    env = {**x11.env, "VOXTRAY_TEST_EDGE_WSS": refused_url().replace("http", "ws") + "/edge/v1",
           "VOXTRAY_TEST_NVML_FILE": str(nvml), "VOXTRAY_DATA_DIR": str(data),
           "VOXTRAY_LOG_DIR": str(tmp_path / "profile" / "logs"), "COQUI_TOS_AGREED": ""}
    x11.wait_tray_empty()
    proc = subprocess.Popen([sys.executable, "-m", "tests.daemon_child", "--settings", str(path), "run"], cwd=ROOT,
                            env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    try:
        shot = tmp_path / "shot.png"
        wait_for(lambda: icon_colour(x11, shot) == "blue", 60, "the icon (blue: the system voice, as edge-tts is down and no model yet)")
        told = wait_for(lambda: [n for n in x11.notifications() if GET_MODEL_ITEM in n.get("body", "")], 30,
                        "a notification saying how to get the cloned voice")
        print("notification:", told[0])
        assert model.gets("model.pth") == [], "nothing is downloaded before the licence is accepted"

        x, y, w, h = x11.icon()
        x11.xdotool("mousemove", str(x + w // 2), str(y + h // 2), "click", "3")
        wait_for(lambda: len(popup_windows(x11)) > 0, 10, "the GTK menu popup")
        x11.xdotool("key", "Down")  # the first item: Get the cloned voice (XTTS v2)…
        x11.xdotool("key", "Return")
        wait_for(lambda: window(x11, MODEL_TITLE), 20, "the licence dialog")
        press(x11, MODEL_TITLE, "alt+a")  # Accept and download (its underlined letter; Enter would cancel)
        wait_for(lambda: not windows(x11, MODEL_TITLE), 10, "the dialog to close")

        t0 = time.monotonic()
        title = wait_for(lambda: tray_title(x11) if "%" in tray_title(x11) else None, 30,
                         "the download's progress in the icon's tooltip")
        print("tooltip:", title.replace("\n", " | "))
        assert f"{PROGRESS}:" in title and "%" in title
        wait_for(lambda: icon_colour(x11, shot) == "green", 240, "a green icon once the model is in and warm")
        print(f"green {time.monotonic() - t0:.1f} s after the download started")
        assert proc.poll() is None, "no restart: the same daemon process"

        saved = json.loads(path.read_text())
        assert saved["xtts_license_accepted"] is True, "the acceptance was saved by the daemon"
        assert saved["xtts_model_path"] == Settings().xtts_model_path, "the setting still names the model id"
        gets = model.gets("model.pth")
        assert len(gets) >= 2 and gets[0].sent < len(files["model.pth"]), "the first transfer was cut"
        assert any(g.headers.get("Range", "").startswith("bytes=") for g in gets[1:]), "it resumed with a Range"
        assert sum(g.sent for g in gets) == len(files["model.pth"]), "no byte was downloaded twice"
    finally:
        stop_process(proc, timeout=30)
        httpd.shutdown()
        httpd.server_close()
        if proc.stderr is not None:
            err = proc.stderr.read()
            if err.strip():
                print("daemon stderr:", err[-3000:])
