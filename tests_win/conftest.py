"""Windows lane: these tests run under the official Windows CPython 3.11 in Wine, never on Linux.

Run them with `bash scripts/wine/test.sh [pytest args]` (also the last step of scripts/test.sh). That script gives
each run a fresh copy of the Wine prefix (registry, C:\\users), a private Xvfb display with trayer as the tray
host (DISPLAY), and an ALSA null device; it puts this checkout on sys.path (VOXTRAY_WIN_PROJECT, inherited by
child processes). See scripts/wine/FINDINGS.md for what works under Wine and how to drive it.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


def pytest_configure(config: pytest.Config) -> None:
    if sys.platform != "win32":
        raise pytest.UsageError("tests_win/ runs under Windows CPython: bash scripts/wine/test.sh")


@pytest.fixture(autouse=True)
def _isolated_dirs(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> None:
    """Logs and per-user data go to temp folders, never the (Wine) user profile."""
    base = tmp_path_factory.mktemp("userdirs")
    monkeypatch.setenv("VOXTRAY_LOG_DIR", str(base / "logs"))
    monkeypatch.setenv("VOXTRAY_DATA_DIR", str(base / "data"))


def run_python(*args: str, timeout: float = 120, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    """Run the Windows python.exe (this interpreter) from the repo root; output captured as text.

    stdin is DEVNULL: a Wine process needs valid std handles (pipes or NUL), see FINDINGS.md. stdout and stderr go
    to temporary files, not pipes: under Wine a service the child starts on demand (rpcss, svchost) can inherit
    its pipe handles and keep them open, so waiting for the pipes' end could wait forever (FINDINGS.md g)."""
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        done = subprocess.run([sys.executable, *args], cwd=ROOT, stdin=subprocess.DEVNULL, stdout=out, stderr=err,
                              timeout=timeout, env=env if env is not None else dict(os.environ), check=False)
        text = []
        for f in (out, err):
            f.seek(0)
            text.append(f.read().decode("utf-8", errors="replace").replace("\r\n", "\n"))
    return subprocess.CompletedProcess(done.args, done.returncode, text[0], text[1])


@pytest.fixture
def capture() -> Iterator[Path]:
    """Route the default ALSA device of processes started from now on into a raw float32 file (FINDINGS.md c);
    read it with winutil.captured()."""
    run = Path(os.environ["VOXTRAY_WIN_RUN"])
    cap = run / f"capture-{uuid.uuid4().hex[:8]}.raw"
    unix = str(cap)[2:].replace("\\", "/")
    asound = Path(os.environ["VOXTRAY_WIN_ASOUND"])
    before = asound.read_text()
    asound.write_text(f'pcm.!default {{\n type file\n slave.pcm "voxtray_pulse"\n file "{unix}"\n format "raw"\n}}\n')
    try:
        yield cap
    finally:
        asound.write_text(before)
