"""VoxTray as a pip package on Windows, for real: the Windows pip (pinned in the lane, constraints-win.txt) builds
the wheel from a copy of the project with setuptools and installs it into a fresh `python -m venv`; the console
script `voxtray.exe` and the gui script `voxtray-tray.exe` (pip's launchers) then work from an unrelated folder.

Offline: `--no-index --no-build-isolation` (pip checks pyproject.toml's build requirements against the lane's
setuptools: `--check-build-dependencies`). The venv sees the lane's wheels through the embeddable CPython's ._pth
(FINDINGS.md d), as the Linux test's .pth does; `--no-deps` because the lane has no torch, coqui-tts,
transformers, faster-whisper (scripts/wine/pins.py NOT_UNDER_WINE): `pip check` must name exactly those as
missing, with Windows markers (keyboard, comtypes needed; pynput, PyGObject not). The venv, the per-user data and
the folder the commands run from all have a space and a non-ASCII letter in their path; the checkout is not on
the children's sys.path (winutil.child_env). settings.json goes to the real per-user folder of the run's
throwaway Wine profile (%LOCALAPPDATA%\\voxtray), removed afterwards.
"""

from __future__ import annotations

import ctypes
import importlib.util
import json
import os
import re
import shutil
import subprocess
from collections.abc import Iterator
from ctypes import wintypes
from dataclasses import dataclass
from pathlib import Path

import pytest
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

from daemon import __version__, paths
from tests_win import winutil
from tests_win.conftest import ROOT, run_python
from tests_win.daemon_proc import Daemon, choose, open_menu, write_settings
from tests_win.winutil import child_env, copy_project, read_pid, wait_for

SUBSYSTEM_GUI, SUBSYSTEM_CONSOLE = 2, 3  # IMAGE_OPTIONAL_HEADER.Subsystem


def pe_subsystem(exe: Path) -> int:
    """GUI (2) or console (3): what decides whether Windows gives a process a console window."""
    data = exe.read_bytes()[:4096]
    pe = int.from_bytes(data[0x3C:0x40], "little")
    assert data[:2] == b"MZ" and data[pe:pe + 4] == b"PE\0\0", exe
    return int.from_bytes(data[pe + 24 + 68:pe + 24 + 70], "little")


def image_path(pid: int) -> str:
    kernel32 = winutil.kernel32
    kernel32.QueryFullProcessImageNameW.argtypes = [wintypes.HANDLE, wintypes.DWORD, wintypes.LPWSTR,
                                                    ctypes.POINTER(wintypes.DWORD)]
    handle = kernel32.OpenProcess(0x1000, False, pid)  # PROCESS_QUERY_LIMITED_INFORMATION
    assert handle, ctypes.get_last_error()
    try:
        buf, size = ctypes.create_unicode_buffer(1024), wintypes.DWORD(1024)
        assert kernel32.QueryFullProcessImageNameW(handle, 0, buf, ctypes.byref(size)), ctypes.get_last_error()
        return buf.value
    finally:
        kernel32.CloseHandle(handle)


def not_under_wine() -> set[str]:
    spec = importlib.util.spec_from_file_location("wine_pins", ROOT / "scripts" / "wine" / "pins.py")
    assert spec and spec.loader
    pins = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(pins)
    return set(pins.NOT_UNDER_WINE)


@dataclass(frozen=True)
class Installed:
    venv: Path
    python: Path
    site: Path
    pip_output: str

    @property
    def scripts(self) -> Path:
        return self.venv / "Scripts"


def run(argv: list[str | Path], env: dict[str, str], cwd: Path, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    return subprocess.run([str(a) for a in argv], cwd=cwd, env=env, stdin=subprocess.DEVNULL, capture_output=True,
                          text=True, timeout=timeout, check=False)


PIP_ENV = {"PIP_DISABLE_PIP_VERSION_CHECK": "1", "PIP_NO_CACHE_DIR": "1", "PIP_NO_INPUT": "1", "PYTHONNOUSERSITE": "1"}


@pytest.fixture(scope="module")
def installed(tmp_path_factory: pytest.TempPathFactory) -> Installed:
    base = tmp_path_factory.mktemp("pip")
    source = copy_project(base / "src")
    for name in ("pyproject.toml", "README.md"):
        shutil.copy2(ROOT / name, source / name)
    venv = base / "Usér venv" / "vox tray"
    made = run_python("-m", "venv", "--without-pip", str(venv), env=child_env())
    assert made.returncode == 0, made.stdout + made.stderr
    python = venv / "Scripts" / "python.exe"
    env = child_env(**PIP_ENV)
    pip = run([python, "-m", "pip", "install", "--no-index", "--no-build-isolation", "--check-build-dependencies",
               "--no-deps", source], env, base, timeout=240)
    assert pip.returncode == 0, pip.stdout + pip.stderr
    site = run([python, "-c", "import sysconfig; print(sysconfig.get_path('purelib'))"], env, base)
    return Installed(venv, python, Path(site.stdout.strip()), pip.stdout)


@pytest.fixture
def user(tmp_path: Path) -> Iterator[dict[str, Path]]:
    """An unrelated folder to run from, the per-user data and log folders (tests' overrides) and the real per-user
    config folder of this run's Wine profile, which must not exist before and is removed after."""
    config = paths.config_dir()
    assert config == Path(os.environ["LOCALAPPDATA"]) / "voxtray"
    assert not config.exists(), f"{config} exists before the test"
    dirs = {"cwd": tmp_path / "Somewhere élse", "data": tmp_path / "Dàta dir" / "data", "logs": tmp_path / "logs",
            "config": config}
    dirs["cwd"].mkdir()
    try:
        yield dirs
    finally:
        shutil.rmtree(config, ignore_errors=True)


def user_env(user: dict[str, Path]) -> dict[str, str]:
    return child_env(**PIP_ENV, VOXTRAY_DATA_DIR=str(user["data"]), VOXTRAY_LOG_DIR=str(user["logs"]))


def test_pip_builds_and_installs_the_wheel_into_a_fresh_venv(installed: Installed) -> None:
    done = re.findall(r"^Successfully installed (.+)$", installed.pip_output, re.M)
    assert done == [f"voxtray-{__version__}"], installed.pip_output
    assert installed.site == installed.venv / "Lib" / "site-packages"
    record = next(installed.site.glob("voxtray-*.dist-info")) / "RECORD"
    files = {line.split(",", 1)[0] for line in record.read_text(encoding="utf-8").splitlines()}
    assert {"daemon/speech/sapi_child.py", "daemon/desktop/winhotkeys.py", "daemon/bundled/sample.wav",
            "daemon/bundled/ATTRIBUTION.md"} <= files
    assert not any(f.endswith(("settings.json", ".pyw")) or f.startswith("install_service") for f in files)
    assert pe_subsystem(installed.scripts / "voxtray.exe") == SUBSYSTEM_CONSOLE
    assert pe_subsystem(installed.scripts / "voxtray-tray.exe") == SUBSYSTEM_GUI

    # The dependencies, with Windows markers: every one the light lane has is satisfied, only the heavy stack misses
    # (hidden here, VOXTRAY_WIN_HEAVY=0, so that the check sees what a venv of only the light wheels declares).
    light = child_env(**PIP_ENV, VOXTRAY_WIN_HEAVY="0")
    check = run([installed.python, "-m", "pip", "check"], light, installed.venv)
    problems = check.stdout.strip().splitlines()
    missing = {str(canonicalize_name(m)) for m in re.findall(rf"^voxtray {__version__} requires (\S+), which is "
                                                             r"not installed\.$", check.stdout, re.M)}
    # py3langid's metadata asks numpy>=2, which Wine 8 cannot load; its code runs on the lane's 1.26 (waived in
    # scripts/wine/pins.py, OLD_NUMPY_OK; tests_win/test_language_win.py detects with it). Nothing else is waived.
    waived = [p for p in problems if re.match(r"^py3langid \S+ has requirement numpy>=2\.0\.0, but you have numpy "
                                              r"1\.26\.", p)]
    assert len(missing) == len(problems) - len(waived), check.stdout  # no other conflict, nothing else broken
    metadata_text = (next(installed.site.glob("voxtray-*.dist-info")) / "METADATA").read_text(encoding="utf-8")
    declared = [Requirement(v) for v in re.findall(r"^Requires-Dist: (.+)$", metadata_text, re.M)]
    win32 = {"sys_platform": "win32", "platform_system": "Windows", "os_name": "nt"}
    wanted = {str(canonicalize_name(r.name)) for r in declared if r.marker is None or r.marker.evaluate(win32)}
    assert {"keyboard", "comtypes"} <= wanted and not {"pynput", "pygobject"} & wanted
    names = run([installed.python, "-c", "import json; from importlib import metadata as m; "
                 "print(json.dumps([d.metadata['Name'] for d in m.distributions()]))"], light, installed.venv)
    lane = {str(canonicalize_name(n)) for n in json.loads(names.stdout)}
    assert missing == wanted - lane and missing <= not_under_wine(), check.stdout


def test_voxtray_exe_runs_from_any_folder_and_keeps_its_files_in_the_user_folders(installed: Installed,
                                                                                   user: dict[str, Path]) -> None:
    env, cwd = user_env(user), user["cwd"]
    where = run([installed.python, "-c", "import daemon; print(daemon.__file__)"], env, cwd)
    assert Path(where.stdout.strip()).parent == installed.site / "daemon", where.stdout + where.stderr
    voxtray = installed.scripts / "voxtray.exe"
    version = run([voxtray, "--version"], env, cwd, timeout=60)
    assert version.returncode == 0 and version.stdout.strip() == f"VoxTray {__version__}", version

    doctor = run([voxtray, "doctor", "--offline"], env, cwd)
    out, settings_file = doctor.stdout, user["config"] / "settings.json"
    assert doctor.returncode in (0, 1) and "Traceback" not in doctor.stderr, out + doctor.stderr
    assert out.startswith(f"VoxTray doctor (settings: {settings_file})"), out
    assert re.search(rf"\[  ok\] Python +\S+ \({re.escape(str(installed.python))}\)", out), out
    voices = user["data"] / "voices"
    assert re.search(rf"\[  ok\] voices +1 in {re.escape(str(voices))}: sample\.wav", out), out
    assert "python -m daemon" not in out, out
    assert json.loads(settings_file.read_text(encoding="utf-8"))["cloning_reference_file"] == "voices/sample.wav"
    assert settings_file.with_name("settings.schema.json").is_file()
    assert (voices / "sample.wav").read_bytes() == (ROOT / "voices" / "sample.wav").read_bytes()
    assert (voices / "ATTRIBUTION.md").is_file()
    assert not list(installed.venv.rglob("settings*.json")) and not list(cwd.iterdir())
    assert (user["logs"] / "voxtray.log").is_file()


def test_voxtray_tray_exe_starts_the_daemon_without_a_console_and_quits_from_the_menu(installed: Installed,
                                                                                      user: dict[str, Path],
                                                                                      tmp_path: Path) -> None:
    # Cloning off (no torch under Wine), the system voice only: no edge-tts probes to the internet.
    settings_file = write_settings(user["config"], cloning_reference_file="voices/sample.wav", engine_order=["system"])
    out, err = tmp_path / "stdout.txt", tmp_path / "stderr.txt"
    with open(out, "wb") as stdout, open(err, "wb") as stderr:  # what the daemon might print, if anything
        proc = subprocess.Popen([str(installed.scripts / "voxtray-tray.exe")], cwd=user["cwd"], env=user_env(user),
                                stdin=subprocess.DEVNULL, stdout=stdout, stderr=stderr)
    pid = None
    try:
        pid = wait_for(lambda: read_pid(user["data"]), 90, "the daemon's pid in its lock file")
        daemon = Daemon(proc, pid, user["logs"], user["data"])
        wait_for(lambda: "tray starting" in daemon.log(), 60, "'tray starting' in the log")
        assert daemon.tray().title == "VoxTray"
        assert Path(image_path(pid)).name.lower() == "pythonw.exe", image_path(pid)  # a GUI process: no console
        assert f"VoxTray {__version__} starting (settings {settings_file})" in wait_for(
            lambda: "hotkeys: " in daemon.log() and daemon.log(), 30, "the daemon's start-up to finish")
        assert "stdout: VoxTray is running in the system tray." in daemon.log()  # its print went to the log
        choose(open_menu(daemon), "Quit")
        wait_for(lambda: not winutil.pid_alive(pid), 30, "the daemon to exit after Quit")
        assert daemon.wait_exit(30) == 0, "the launcher exits with the daemon's code"
    finally:
        winutil.stop_tree(proc, pid)
    log = daemon.log()
    assert "VoxTray stopped" in log and "Traceback" not in log, log[-3000:]
    assert out.read_bytes() == b"" and err.read_bytes() == b"", "nothing printed: everything went to the log"
    assert (user["data"] / "voices" / "sample.wav").is_file() and not list(user["cwd"].iterdir())
