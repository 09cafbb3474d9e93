"""setup.bat under Wine's real cmd.exe, in --dry-run mode (nothing is downloaded: this machine reaches no
PyTorch index). It proves the script parses and runs under cmd, finds Python, and picks the PyTorch build from
the NVIDIA driver version. nvidia-smi is FAKED (a .bat on PATH printing a driver version): no NVIDIA driver
exists under Wine."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests_win.conftest import ROOT


def run_setup(tmp_path: Path, driver: str | None, *args: str) -> subprocess.CompletedProcess[str]:
    project = tmp_path / "Mon projet é"
    project.mkdir()
    shutil.copy2(ROOT / "setup.bat", project / "setup.bat")
    shutil.copy2(ROOT / "requirements.txt", project / "requirements.txt")
    tools = tmp_path / "tools"
    tools.mkdir()
    if driver is not None:
        (tools / "nvidia-smi.bat").write_text(f"@echo off\r\necho {driver}\r\n", encoding="ascii")
    path = os.pathsep.join([str(tools), str(Path(sys.executable).parent), os.environ.get("PATH", "")])
    return subprocess.run(["cmd", "/c", str(project / "setup.bat"), "--dry-run", *args], cwd=str(tmp_path),
                          env={**os.environ, "PATH": path}, stdin=subprocess.DEVNULL, capture_output=True,
                          text=True, timeout=120, check=False)


@pytest.mark.parametrize(("driver", "index"), [(None, "cpu"), ("572.16", "cu128"), ("546.33", "cu126"),
                                               ("472.12", "cpu")])
def test_dry_run_picks_the_pytorch_build_from_the_driver(tmp_path: Path, driver: str | None, index: str) -> None:
    out = run_setup(tmp_path, driver)
    assert out.returncode == 0, out.stdout + out.stderr
    lines = out.stdout.splitlines()
    assert [line for line in lines if line.startswith("[")] == [
        "[1/5] Looking for Python 3.11", "[2/5] Virtual environment .venv", "[3/5] Choosing the PyTorch build",
        "[4/5] Installing packages (first time: several minutes)",
        "[5/5] Starting VoxTray (look for its icon in the tray; python install_service.py install starts it at login)",
    ], out.stdout
    assert "using: python" in out.stdout
    assert "would run: python -m venv .venv" in out.stdout
    torch_line = next(line for line in lines if "torch==2.11.0" in line)
    assert torch_line.strip().endswith(f"--index-url https://download.pytorch.org/whl/{index}"), torch_line
    assert "would run: start" in out.stdout and "voxtray.pyw" in out.stdout
    if driver is None:
        assert "no NVIDIA GPU found" in out.stdout
    elif index == "cpu":
        assert "too old for CUDA 12" in out.stdout
    assert not (tmp_path / "Mon projet é" / ".venv").exists(), "--dry-run changes nothing"


def test_no_python_says_where_to_get_it(tmp_path: Path) -> None:
    project = tmp_path / "p"
    project.mkdir()
    shutil.copy2(ROOT / "setup.bat", project / "setup.bat")
    out = subprocess.run(["cmd", "/c", str(project / "setup.bat"), "--dry-run"], cwd=str(tmp_path),
                         env={**os.environ, "PATH": os.environ.get("SYSTEMROOT", r"C:\windows") + r"\system32"},
                         stdin=subprocess.DEVNULL, capture_output=True, text=True, timeout=120, check=False)
    assert out.returncode == 1
    assert "Python 3.11 was not found" in out.stdout and "python.org" in out.stdout
