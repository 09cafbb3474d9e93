"""Speed and Volume from the win32 tray (#21), under Wine: the daemon under pythonw.exe, its tray menu driven with
the keyboard as a user would (Speed > 1.5×, Volume > Loud); the choice is saved in settings.json and the next
sentence (the read hotkey, SendInput -> RegisterHotKey) reaches edge-tts at +50 %.

Faked: nothing in the daemon; edge-tts's two endpoint URLs point at the loopback stand-in (tests_win/edge_daemon.py).
The gain's effect on the sound is measured on Linux (tests/test_speed_volume.py); here only that the tray sets it.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from tests.fixtures.edge_server import EdgeStandIn, _ServerThread
from tests_win import daemon_proc
from tests_win.conftest import ROOT
from tests_win.test_read_aloud import SELECTED, focused_app  # noqa: F401  (a fixture)
from tests_win.winutil import wait_for


def saved(settings: Path) -> dict[str, object]:
    return json.loads(settings.read_text(encoding="utf-8"))


def test_tray_speed_and_volume_are_saved_and_the_next_sentence_is_faster(tmp_path: Path, focused_app) -> None:  # noqa: F811
    edge = EdgeStandIn()
    thread = _ServerThread(edge)
    thread.start()
    try:
        with daemon_proc.running(tmp_path, launcher=ROOT / "tests_win" / "edge_daemon.py",
                                 env_extra={"VOXTRAY_TEST_EDGE_WSS": edge.wss_url,
                                            "VOXTRAY_TEST_EDGE_VOICES": edge.voices_url},
                                 engine="edge", output_device="Primary Sound Driver") as daemon:
            settings = tmp_path / "cfg" / "settings.json"
            wait_for(lambda: "voice tier -> edge" in daemon.log(), 60, "the edge tier in the log")
            wait_for(lambda: "global hotkeys (win32)" in daemon.log(), 60, "hotkeys registered")
            daemon_proc.choose_in_submenu(daemon_proc.open_menu(daemon), "Speed", 3)  # 0.8×, 1×, 1.25×, 1.5×
            wait_for(lambda: saved(settings).get("speech_speed") == 1.5, 20, "speech_speed 1.5 in settings.json")
            daemon_proc.choose_in_submenu(daemon_proc.open_menu(daemon), "Volume", 2)  # Quiet, Normal, Loud
            wait_for(lambda: saved(settings).get("volume") == 1.5, 20, "volume 1.5 in settings.json")
            focused_app(SELECTED)
            done = subprocess.run([sys.executable, "-m", "tests_win.sendinput", "combo", "ctrl+alt+insert"],
                                  cwd=ROOT, stdin=subprocess.DEVNULL, capture_output=True, text=True, timeout=60,
                                  check=False)
            assert done.returncode == 0, done.stdout + done.stderr
            wait_for(lambda: any("selected sentence" in t for t in edge.texts), 60, "the selection at edge-tts")
            spoken = [s for s in edge.ssml if "selected sentence" in s]
            assert spoken and "rate='+50%'" in spoken[-1], spoken[-1:]
            log = daemon.log()
            assert "speech speed set to 1.5x" in log and "volume set to 1.5" in log, log[-3000:]
            assert "Traceback" not in log, log[-3000:]
    finally:
        thread.stop()
