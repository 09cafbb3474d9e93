"""A Windows without the Visual C++ 2015-2022 Redistributable, for real: child processes of the Windows CPython
in which msvcp140.dll cannot load, so soxr's extension fails exactly as on such a PC ("DLL load failed while
importing soxr_ext"). doctor must name the Redistributable, and `say` and the daemon must say so in VoxTray's
own words, not with a traceback.

How msvcp140.dll is taken away: Wine does NOT honour WINEDLLOVERRIDES set in a child's Windows environment
(measured: with "...;msvcp140=d" in subprocess's env the child still loads it; Wine reads that variable from
the Unix environment it starts with). It does honour HKCU\\Software\\Wine\\DllOverrides, read as each process
loads a DLL: the `no_redist` fixture sets msvcp140 to "" (disabled) in this run's own copy of the prefix while
the child runs, and checks that it took effect. The lane's heavy stack (torch, faster-whisper/ctranslate2) is on
the path too, so doctor's torch line must give the same explanation for torch's c10.dll.
"""

from __future__ import annotations

import json
import subprocess
import winreg
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests_win.conftest import run_python

OVERRIDES = r"Software\Wine\DllOverrides"
URL = "https://aka.ms/vs/17/release/vc_redist.x64.exe"
SENTENCE = ("voxtray: audio (soxr) cannot load: the Microsoft Visual C++ 2015-2022 Redistributable (x64) is not "
            f"installed (msvcp140.dll is missing). Download {URL}, run it, then start VoxTray again.")


@pytest.fixture
def no_redist() -> Iterator[None]:
    with winreg.CreateKey(winreg.HKEY_CURRENT_USER, OVERRIDES) as key:
        winreg.SetValueEx(key, "msvcp140", 0, winreg.REG_SZ, "")
    try:
        probe = run_python("-c", "import ctypes; ctypes.WinDLL('msvcp140.dll')")
        assert probe.returncode != 0, "msvcp140.dll still loads: these tests would prove nothing"
        assert "Could not find module 'msvcp140.dll'" in probe.stderr, probe.stderr
        yield
    finally:
        with winreg.OpenKey(winreg.HKEY_CURRENT_USER, OVERRIDES, 0, winreg.KEY_SET_VALUE) as key:
            winreg.DeleteValue(key, "msvcp140")


@pytest.fixture
def settings_file(tmp_path: Path) -> Path:
    path = tmp_path / "settings.json"
    path.write_text(json.dumps({"use_local_cloning": False}))
    return path


def test_soxr_really_fails_to_load_here(no_redist: None) -> None:
    proc = run_python("-c", "import soxr")
    assert "DLL load failed while importing soxr_ext" in proc.stderr, proc.stderr


def test_doctor_names_the_redistributable_and_fails(no_redist: None, settings_file: Path) -> None:
    proc = run_python("-m", "daemon", "--settings", str(settings_file), "doctor", "--offline", timeout=240)
    out = proc.stdout
    assert proc.returncode == 1, out + proc.stderr
    assert "Traceback" not in proc.stderr and "check crashed" not in out, out + proc.stderr
    line = next(x for x in out.splitlines() if "VC++ runtime" in x)
    assert line.lstrip().startswith("[FAIL] VC++ runtime") and "msvcp140.dll does not load" in line, out
    assert f"download {URL}" in out, out
    lines = out.splitlines()
    at = next(i for i, x in enumerate(lines) if x.lstrip().startswith("[FAIL] torch"))
    assert "c10.dll" in lines[at] and lines[at + 1].lstrip().startswith("-> the cloned voice (torch) cannot load: "
                                                                        "the Microsoft Visual C++"), out
    assert "install torch" not in out, out


def test_say_tells_the_sentence_and_writes_nothing(no_redist: None, settings_file: Path, tmp_path: Path) -> None:
    wav = tmp_path / "x.wav"
    proc = run_python("-m", "daemon", "--settings", str(settings_file), "say", "Hello.", "--out", str(wav))
    assert proc.returncode == 1, proc.stdout + proc.stderr
    assert proc.stderr.strip() == SENTENCE
    assert not wav.exists()


def test_the_daemon_stops_at_start_with_the_sentence(no_redist: None, settings_file: Path) -> None:
    try:
        proc = run_python("-m", "daemon", "--settings", str(settings_file), "run", "--headless", timeout=120)
    except subprocess.TimeoutExpired:  # run_python's child was killed by subprocess.run itself
        pytest.fail("the daemon kept running without audio")
    assert proc.returncode == 1, proc.stdout + proc.stderr
    assert proc.stderr.strip() == SENTENCE, proc.stderr
