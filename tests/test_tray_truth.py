"""The tray never lies: the whole daemon (`python -m tests.daemon_child run`, i.e. `python -m daemon run` with NVML
and edge-tts's endpoint URL faked, see that module) on a private X11 desktop (Xvfb + trayer, pystray gtk), the
real tiny XTTS loading on the CPU, no question ever asked. Screenshot pixels prove the colour at each moment
(green = XTTS, blue = the system voice; see daemon/desktop/icons.py).

Faked: NVML (no GPU here; free VRAM read from a file the test writes) and where edge-tts connects (a port nobody
listens on: "the network is down").
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from daemon.settings import Settings
from tests.fixtures.llm_server import refused_url
from tests.fixtures.x11 import X11Session, wait_for
from tests.procs import stop_process
from tests.test_tray_x11 import icon_colour

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture
def start_daemon(x11: X11Session, tmp_path: Path) -> Iterator[Any]:
    procs: list[subprocess.Popen[str]] = []

    def start(settings: dict[str, Any], nvml_free_mb: int | None = None) -> tuple[subprocess.Popen[str], Path]:
        path = tmp_path / f"settings-{len(procs)}.json"
        path.write_text(json.dumps({"llm_health_interval_s": 0, "notifications": False, **settings}))
        nvml = tmp_path / f"nvml-{len(procs)}.txt"
        env = {**x11.env, "VOXTRAY_TEST_EDGE_WSS": refused_url().replace("http", "ws") + "/edge/v1",
               "VOXTRAY_DATA_DIR": str(tmp_path / f"data-{len(procs)}"), "VOXTRAY_LOG_DIR": str(tmp_path / "logs")}
        if nvml_free_mb is not None:
            nvml.write_text(str(nvml_free_mb))
            env["VOXTRAY_TEST_NVML_FILE"] = str(nvml)
        x11.wait_tray_empty()
        proc = subprocess.Popen([sys.executable, "-m", "tests.daemon_child", "--settings", str(path), "run"],
                                cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        procs.append(proc)
        return proc, nvml

    yield start
    for proc in procs:
        stop_process(proc, timeout=30)


def colour_now(x11: X11Session, tmp_path: Path) -> str:
    return icon_colour(x11, tmp_path / "shot.png")


def test_green_once_xtts_is_warm_blue_within_a_second_of_vram_pressure(
        x11: X11Session, tmp_path: Path, xtts_settings: Settings, start_daemon: Any) -> None:
    settings = xtts_settings.model_dump(mode="json") | {
        "engine_order": ["xtts", "edge", "system"], "vram_poll_interval_s": 0.2, "vram_pressure_s": 0.5,
        "vram_low_water_mb": 400, "keep_warm": True,
    }
    _proc, nvml = start_daemon(settings, nvml_free_mb=5000)
    # XTTS loads on the CPU (tiny model); edge-tts is unreachable, so meanwhile the system voice would speak: blue.
    wait_for(lambda: colour_now(x11, tmp_path) in ("blue", "green"), 30, "the daemon's first tier on the icon")
    t0 = time.monotonic()
    wait_for(lambda: colour_now(x11, tmp_path) == "green", 180, "a green icon once XTTS is warm, no question asked")
    print(f"green {time.monotonic() - t0:.1f} s after the first tier")

    nvml.write_text("150")  # another program takes the VRAM: the keep-warm policy unloads XTTS
    t_pressure = time.monotonic()
    wait_for(lambda: colour_now(x11, tmp_path) == "blue", 10, "the icon to leave green under VRAM pressure")
    took = time.monotonic() - t_pressure
    # the watcher needs vram_pressure_s (0.5 s) of pressure and a reading (every 0.2 s) before acting
    assert took < 0.5 + 0.2 + 1.0, f"the icon changed {took:.2f} s after the pressure began"


def test_blue_not_amber_when_edge_tts_cannot_be_reached_and_cloning_is_off(
        x11: X11Session, tmp_path: Path, start_daemon: Any) -> None:
    start_daemon({"use_local_cloning": False})
    wait_for(lambda: colour_now(x11, tmp_path) != "no icon docked yet", 15, "the icon")
    wait_for(lambda: colour_now(x11, tmp_path) == "blue", 15, "a blue icon (system voice): edge-tts is unreachable")
    time.sleep(1.0)
    assert colour_now(x11, tmp_path) == "blue", "it never turns amber while edge-tts cannot speak"
