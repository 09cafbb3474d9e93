"""`python -m daemon model status | get | remove` as real child processes, against the loopback model stand-in.
Settings, data and logs live in tmp_path: never the project's settings.json or the user's folders."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.fixtures.model_server import ModelServer

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture
def env(tmp_path: Path) -> dict[str, str]:
    return {**os.environ, "VOXTRAY_DATA_DIR": str(tmp_path / "data"), "VOXTRAY_LOG_DIR": str(tmp_path / "logs"),
            "COQUI_TOS_AGREED": ""}


@pytest.fixture
def settings_file(tmp_path: Path, model_server: ModelServer) -> Path:
    path = tmp_path / "settings.json"
    path.write_text(json.dumps({"use_local_cloning": False, "xtts_download_url": model_server.url}))
    return path


def model(settings: Path, env: dict[str, str], *args: str, timeout: float = 60) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "daemon", "--settings", str(settings), "model", *args], cwd=ROOT,
                          env=env, capture_output=True, text=True, timeout=timeout, stdin=subprocess.DEVNULL)


def test_status_get_status_remove(settings_file: Path, env: dict[str, str], tmp_path: Path,
                                  model_server: ModelServer) -> None:
    folder = tmp_path / "data" / "models" / "xtts_v2"
    before = model(settings_file, env, "status")
    assert before.returncode == 0, before.stderr
    assert "not downloaded" in before.stdout and str(folder) in before.stdout
    assert "not accepted" in before.stdout and model_server.url in before.stdout

    refused = model(settings_file, env, "get")  # no terminal to ask on, no flag: refused, nothing fetched
    assert refused.returncode == 2 and "--accept-license" in refused.stderr
    assert model_server.seen == [] and not folder.exists()

    model_server.rate_bps = 400_000
    got = model(settings_file, env, "get", "--accept-license")
    assert got.returncode == 0, got.stderr
    assert "The cloned voice is ready" in got.stdout and str(folder) in got.stdout
    assert json.loads(settings_file.read_text())["xtts_license_accepted"] is True  # the acceptance was saved
    lines = [ln for ln in got.stderr.splitlines() if ln.startswith("Downloading the cloned voice: ")]
    assert 2 <= len(lines) <= 12, got.stderr  # a line every ~10 %, not one per chunk
    assert "\r" not in got.stderr
    assert (folder / "model.pth").read_bytes() == model_server.files["model.pth"]

    after = model(settings_file, env, "status")
    assert after.returncode == 0 and "present" in after.stdout and ": accepted" in after.stdout
    again = model(settings_file, env, "get")
    assert again.returncode == 0 and "already here" in again.stdout

    removed = model(settings_file, env, "remove")
    assert removed.returncode == 0 and "freed" in removed.stdout and not folder.exists()
    assert model(settings_file, env, "remove").stdout.startswith("nothing to remove")


def test_ctrl_c_cancels_and_keeps_the_partial_then_get_resumes(settings_file: Path, env: dict[str, str],
                                                               tmp_path: Path, model_server: ModelServer) -> None:
    model_server.rate_bps = 60_000
    proc = subprocess.Popen(
        [sys.executable, "-m", "daemon", "--settings", str(settings_file), "model", "get", "--accept-license"],
        cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, stdin=subprocess.DEVNULL,
    )
    part = tmp_path / "data" / "models" / "xtts_v2.partial" / "model.pth.part"
    deadline = time.monotonic() + 30
    while not (part.is_file() and part.stat().st_size > 30_000) and time.monotonic() < deadline:
        time.sleep(0.05)
    proc.send_signal(signal.SIGINT)
    _out, err = proc.communicate(timeout=20)
    assert proc.returncode == 130, err
    assert "paused" in err and part.stat().st_size > 0
    status = model(settings_file, env, "status")
    assert "partial:" in status.stdout and "resumes it" in status.stdout
    model_server.rate_bps = 0
    done = model(settings_file, env, "get")  # the licence was saved by the first run: no flag needed
    assert done.returncode == 0, done.stderr
    assert model_server.gets("model.pth")[-1].headers.get("Range", "").startswith("bytes=")


def test_a_server_error_is_exit_1_with_what_to_do(tmp_path: Path, env: dict[str, str]) -> None:
    path = tmp_path / "settings.json"
    path.write_text(json.dumps({"use_local_cloning": False, "xtts_download_url": "http://127.0.0.1:9/x/"}))
    env = {**env, "COQUI_TOS_AGREED": "1"}
    code = subprocess.run(
        [sys.executable, "-c", "import daemon.download.job as j, sys; j.RETRY_DELAYS_S = (0.01,); "
         "from daemon.__main__ import main; sys.exit(main(sys.argv[1:]))", "--settings", str(path), "model", "get"],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=60,
    )
    assert code.returncode == 1, code.stderr
    assert "cannot be reached" in code.stderr and "Check the internet connection" in code.stderr


def test_remove_says_the_tray_would_download_it_again(tmp_path: Path, env: dict[str, str],
                                                      model_server: ModelServer) -> None:
    path = tmp_path / "on.json"
    path.write_text(json.dumps({"use_local_cloning": True, "xtts_license_accepted": True,
                                "xtts_download_url": model_server.url}))
    assert model(path, env, "get").returncode == 0
    removed = model(path, env, "remove")
    assert removed.returncode == 0 and "freed" in removed.stdout
    assert "downloads it again when it next starts" in removed.stdout and str(path) in removed.stdout
    path.write_text(json.dumps({"use_local_cloning": False, "xtts_license_accepted": True,
                                "xtts_download_url": model_server.url}))
    assert model(path, env, "get").returncode == 0
    assert "again" not in model(path, env, "remove").stdout
