"""setup.bat under Wine's real cmd.exe with the lane's Windows CPython 3.11.

--dry-run tests: the script parses, finds Python and picks the PyTorch build from the NVIDIA driver version.
Real runs (`--no-run`) create .venv with `python -m venv` and install from a LOCAL wheel index: stand-in torch /
torchaudio wheels (+cpu, +cu128: a torch/__init__.py with __version__ and torch.version.cuda) served as a PEP 503
tree over file://, through setup.bat's VOXTRAY_TORCH_INDEX and pip's PIP_INDEX_URL; proxies point at a closed
loopback port, so nothing leaves the machine. Fakes: nvidia-smi (a .bat printing a driver version: no NVIDIA
driver exists under Wine), 32-bit / Microsoft Store Pythons (py.bat/python.bat stubs running
tests_win/setup_bat_fakepy.py). Children get VOXTRAY_WIN_HEAVY=0: the lane's own torch stays off their path.
"""

from __future__ import annotations

import base64
import contextlib
import hashlib
import os
import shutil
import subprocess
import sys
import threading
import time
import winreg
import zipfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests_win.conftest import ROOT

SYSTEM32 = os.environ.get("SYSTEMROOT", r"C:\windows") + r"\system32"
PYTHON_DIR = str(Path(sys.executable).parent)
TORCH = "2.11.0"
VC_URL = "https://aka.ms/vs/17/release/vc_redist.x64.exe"
PAUSE_PROMPT = "Press any key to close this window."


def make_project(tmp_path: Path, name: str = "Mon projet é", requirements: str | None = None) -> Path:
    """A project folder holding setup.bat and requirements.txt (the repo's, or the given text)."""
    project = tmp_path / name
    project.mkdir(parents=True)
    shutil.copy2(ROOT / "setup.bat", project / "setup.bat")
    if requirements is None:
        shutil.copy2(ROOT / "requirements.txt", project / "requirements.txt")
    else:
        (project / "requirements.txt").write_text(requirements, encoding="ascii")
    return project


def make_tools(tmp_path: Path, driver: str | None = None) -> Path:
    """A PATH folder; with `driver`, a fake nvidia-smi.bat printing it."""
    tools = tmp_path / "tools"
    tools.mkdir(exist_ok=True)
    if driver is not None:
        set_driver(tools, driver)
    return tools


def set_driver(tools: Path, driver: str) -> None:
    (tools / "nvidia-smi.bat").write_text(f"@echo off\r\necho {driver}\r\n", encoding="ascii")


def bat_env(path: list[str], **extra: str) -> dict[str, str]:
    """The lane's environment without the variables setup.bat reacts to, with PATH = `path` + system32."""
    env = {k: v for k, v in os.environ.items()
           if k.upper() not in {"CI", "VOXTRAY_NO_PAUSE", "CMDCMDLINE", "VOXTRAY_TORCH_INDEX", "PATH"}
           and not k.upper().startswith("PIP_")}
    return {**env, "PATH": os.pathsep.join([*path, SYSTEM32]), "VOXTRAY_WIN_HEAVY": "0", **extra}


def run_setup_bat(project: Path, *args: str, env: dict[str, str], timeout: float = 300) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["cmd", "/c", str(project / "setup.bat"), *args], cwd=str(project.parent), env=env,
                          stdin=subprocess.DEVNULL, capture_output=True, text=True, timeout=timeout, check=False)


def run_setup(tmp_path: Path, driver: str | None, *args: str) -> subprocess.CompletedProcess[str]:
    tools = make_tools(tmp_path, driver)
    return run_setup_bat(make_project(tmp_path), "--dry-run", *args, env=bat_env([str(tools), PYTHON_DIR]))


# ---- a local PEP 503 index of stand-in wheels ----

def write_wheel(folder: Path, name: str, version: str, files: dict[str, str]) -> None:
    """A pure-Python wheel `name`-`version` holding `files`, listed in folder/index.html (PEP 503)."""
    dist = f"{name.replace('-', '_')}-{version}.dist-info"
    contents = {**files,
                f"{dist}/METADATA": f"Metadata-Version: 2.1\nName: {name}\nVersion: {version}\n",
                f"{dist}/WHEEL": "Wheel-Version: 1.0\nGenerator: voxtray-tests\nRoot-Is-Purelib: true\nTag: py3-none-any\n"}
    record = []
    for path, text in contents.items():
        digest = base64.urlsafe_b64encode(hashlib.sha256(text.encode()).digest()).rstrip(b"=").decode()
        record.append(f"{path},sha256={digest},{len(text.encode())}")
    contents[f"{dist}/RECORD"] = "\n".join([*record, f"{dist}/RECORD,,"]) + "\n"
    filename = f"{name.replace('-', '_')}-{version}-py3-none-any.whl"
    folder.mkdir(parents=True, exist_ok=True)
    with zipfile.ZipFile(folder / filename, "w") as whl:
        for path, text in contents.items():
            whl.writestr(path, text)
    href = filename.replace("+", "%2B")
    (folder / "index.html").write_text(f'<!DOCTYPE html><html><body><a href="{href}">{filename}</a></body></html>\n',
                                       encoding="ascii")


def offline_index(tmp_path: Path) -> dict[str, str]:
    """Stand-in torch/torchaudio for the cpu and cu128 indexes and a requirement for PIP_INDEX_URL; the env
    variables that point setup.bat and pip at them, with every proxy on a closed loopback port."""
    root = tmp_path / "index"
    for build, cuda in (("cpu", None), ("cu128", "12.8")):
        write_wheel(root / "whl" / build / "torch", "torch", f"{TORCH}+{build}", {
            "torch/__init__.py": f"__version__ = '{TORCH}+{build}'\nfrom torch import version\n",
            "torch/version.py": f"__version__ = '{TORCH}+{build}'\ncuda = {cuda!r}\n"})
        write_wheel(root / "whl" / build / "torchaudio", "torchaudio", f"{TORCH}+{build}",
                    {"torchaudio/__init__.py": f"__version__ = '{TORCH}+{build}'\n"})
    write_wheel(root / "pypi" / "voxtray-standin-dep", "voxtray-standin-dep", "1.0",
                {"voxtray_standin_dep.py": "OK = True\n"})
    closed = "http://127.0.0.1:9"
    return {"VOXTRAY_TORCH_INDEX": (root / "whl").as_uri(), "PIP_INDEX_URL": (root / "pypi").as_uri(),
            "PIP_DISABLE_PIP_VERSION_CHECK": "1", "PIP_NO_CACHE_DIR": "1", "PIP_RETRIES": "0",
            "HTTP_PROXY": closed, "HTTPS_PROXY": closed, "NO_PROXY": ""}


def venv_python(project: Path, code: str) -> str:
    out = subprocess.run([str(project / ".venv" / "Scripts" / "python.exe"), "-c", code], env=bat_env([]),
                         stdin=subprocess.DEVNULL, capture_output=True, text=True, timeout=60, check=False)
    assert out.returncode == 0, out.stdout + out.stderr
    return out.stdout.strip()


def installed_torch(project: Path) -> str:
    return venv_python(project, "import torch; print(torch.__version__, torch.version.cuda)")


# ---- --dry-run ----

@pytest.mark.parametrize(("driver", "index"), [
    (None, "cpu"), ("572.16", "cu128"), ("546.33", "cu126"), ("472.12", "cpu"),
    ("NVIDIA-SMI has failed because it couldn't communicate with the NVIDIA driver", "cpu")])
def test_dry_run_picks_the_pytorch_build_from_the_driver(tmp_path: Path, driver: str | None, index: str) -> None:
    out = run_setup(tmp_path, driver)
    assert out.returncode == 0 and not out.stderr, out.stdout + out.stderr
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
    if driver is None or not driver[0].isdigit():
        assert "no NVIDIA GPU found" in out.stdout
    elif index == "cpu":
        assert "too old for CUDA 12" in out.stdout
    assert "warning" not in out.stdout  # a short path: no long-path warning
    project = tmp_path / "Mon projet é"
    assert not (project / ".venv").exists() and not (project / "setup.log").exists(), "--dry-run changes nothing"


def test_no_python_says_where_to_get_it(tmp_path: Path) -> None:
    out = run_setup_bat(make_project(tmp_path, "p"), "--dry-run", env=bat_env([]))
    assert out.returncode == 1 and not out.stderr, out.stdout + out.stderr
    assert "Python 3.11 was not found" in out.stdout and "python.org" in out.stdout
    assert "py install 3.11" in out.stdout


# ---- 1. the Visual C++ Redistributable ----

@contextlib.contextmanager
def msvcp140_disabled() -> Iterator[None]:
    """Processes started meanwhile cannot load msvcp140.dll, as on a Windows without the VC++ Redistributable.

    Wine 8 ignores WINEDLLOVERRIDES in a Windows child's environment (`msvcp140=d` appended there: ctypes still
    loads the DLL; Wine reads that variable from the Unix environment the first Wine process started with), but
    it reads HKCU\\Software\\Wine\\DllOverrides at each process start: "" there disables the DLL."""
    key = winreg.CreateKeyEx(winreg.HKEY_CURRENT_USER, r"Software\Wine\DllOverrides", 0, winreg.KEY_ALL_ACCESS)
    with key:
        winreg.SetValueEx(key, "msvcp140", 0, winreg.REG_SZ, "")
        try:
            yield
        finally:
            winreg.DeleteValue(key, "msvcp140")


def test_missing_vc_redist_names_the_installer_and_creates_nothing(tmp_path: Path) -> None:
    project = make_project(tmp_path, requirements="voxtray-standin-dep==1.0\n")
    env = bat_env([str(make_tools(tmp_path)), PYTHON_DIR], **offline_index(tmp_path))
    load = [sys.executable, "-c", "import ctypes; ctypes.WinDLL('msvcp140.dll')"]
    with msvcp140_disabled():
        assert subprocess.run(load, stdin=subprocess.DEVNULL, capture_output=True, check=False).returncode != 0
        out = run_setup_bat(project, "--no-run", env=env)
    assert subprocess.run(load, stdin=subprocess.DEVNULL, capture_output=True, check=False).returncode == 0
    assert out.returncode == 1, out.stdout + out.stderr
    assert "Visual C++ 2015-2022 Redistributable" in out.stdout and f"vc_redist.x64.exe from {VC_URL}" in out.stdout
    assert not (project / ".venv").exists(), "nothing half-installed"


# ---- 2 and 5. a real run in a folder with "!", a space and an accent; a driver upgrade replaces the CPU torch ----

def test_real_run_in_a_bang_folder_then_a_driver_upgrade_replaces_the_cpu_torch(tmp_path: Path) -> None:
    """A real run in `Mon projet! é` installs the CPU stand-in; after a driver upgrade (nvidia-smi 572.x appears),
    the next run replaces it with cu128 (pip alone keeps 2.11.0+cpu: it satisfies torch==2.11.0)."""
    project = make_project(tmp_path, "Mon projet! é", requirements="voxtray-standin-dep==1.0\n")
    tools = make_tools(tmp_path)
    env = bat_env([str(tools), PYTHON_DIR], **offline_index(tmp_path))

    first = run_setup_bat(project, "--no-run", env=env)
    assert first.returncode == 0, first.stdout + first.stderr
    assert "no NVIDIA GPU found" in first.stdout
    assert installed_torch(project) == f"{TORCH}+cpu None"
    assert venv_python(project, "import torchaudio, voxtray_standin_dep; print(torchaudio.__version__)") == f"{TORCH}+cpu"
    log = (project / "setup.log").read_text(encoding="utf-8", errors="replace")
    assert "[5/5] Done." in log and "voxtray-standin-dep" in log  # setup.bat's lines and pip's log

    set_driver(tools, "572.16")
    second = run_setup_bat(project, "--no-run", env=env)
    assert second.returncode == 0, second.stdout + second.stderr
    assert "replaced PyTorch's CPU build with its cu128 build" in second.stdout, second.stdout
    assert installed_torch(project) == f"{TORCH}+cu128 12.8"
    assert venv_python(project, "import torchaudio; print(torchaudio.__version__)") == f"{TORCH}+cu128"


# ---- 6. a .venv made by another Python version ----

def test_a_venv_from_another_python_version_is_recreated(tmp_path: Path) -> None:
    project = make_project(tmp_path, requirements="voxtray-standin-dep==1.0\n")
    venv = project / ".venv"
    (venv / "Scripts").mkdir(parents=True)
    (venv / "Scripts" / "python.exe").write_bytes(b"")
    (venv / "pyvenv.cfg").write_text("home = C:\\Python310\nversion = 3.10.11\n", encoding="ascii")
    (venv / "old.txt").write_text("from the 3.10 venv", encoding="ascii")
    env = bat_env([str(make_tools(tmp_path)), PYTHON_DIR], **offline_index(tmp_path))
    out = run_setup_bat(project, "--no-run", env=env)
    assert out.returncode == 0, out.stdout + out.stderr
    assert ".venv was made by Python 3.10.11, VoxTray needs 3.11: deleting it and creating it again" in out.stdout
    assert not (venv / "old.txt").exists()
    assert "version = 3.11." in (venv / "pyvenv.cfg").read_text(encoding="utf-8")
    assert installed_torch(project) == f"{TORCH}+cpu None"


# ---- 3. a double-clicked window stays open on failure; a terminal or CI never waits ----

class Cmd:
    """cmd.exe running setup.bat with stdin a pipe we hold open (a key only when we send it); stdout collected."""

    def __init__(self, command: str | list[str], env: dict[str, str], cwd: Path) -> None:
        self.proc = subprocess.Popen(command, cwd=str(cwd), env=env, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                     stderr=subprocess.STDOUT)
        self.out = bytearray()
        self.reader = threading.Thread(target=self._read, daemon=True)
        self.reader.start()

    def _read(self) -> None:
        assert self.proc.stdout is not None
        while chunk := self.proc.stdout.read1(4096):
            self.out += chunk

    @property
    def text(self) -> str:
        return self.out.decode("cp1252", errors="replace")

    def wait_for(self, needle: str, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while needle not in self.text:
            if self.proc.poll() is not None:
                self.reader.join(timeout=10)  # the last output may still be in the pipe
                assert needle in self.text, f"ended without {needle!r}:\n{self.text}"
            assert time.monotonic() < deadline, f"no {needle!r} after {timeout}s:\n{self.text}"
            time.sleep(0.1)

    def close(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
        self.proc.wait(timeout=30)
        self.reader.join(timeout=10)


def explorer_cmdline(project: Path) -> str:
    """What Explorer runs for a double-clicked .bat (and what %cmdcmdline% then holds)."""
    return f'{SYSTEM32}\\cmd.exe /c ""{project / "setup.bat"}" "'


def test_double_clicked_failure_waits_for_a_key_and_names_the_log(tmp_path: Path) -> None:
    """No Python: the window stays open until a key arrives. Wine's cmd has no dynamic %cmdcmdline%, so the
    variable is set to Explorer's command line (a set CMDCMDLINE also takes precedence on Windows)."""
    project = make_project(tmp_path, "Mon projet! é")
    cmd = Cmd(explorer_cmdline(project), bat_env([], CMDCMDLINE=explorer_cmdline(project)), tmp_path)
    try:
        cmd.wait_for(PAUSE_PROMPT, timeout=60)
        time.sleep(2)
        assert cmd.proc.poll() is None, "the window must wait for a key"
        assert cmd.proc.stdin is not None
        cmd.proc.stdin.write(b"x\r\n")
        cmd.proc.stdin.flush()
        assert cmd.proc.wait(timeout=30) == 1
    finally:
        cmd.close()
    assert "Python 3.11 was not found" in cmd.text
    log = project / "setup.log"
    assert f"kept in {log}" in cmd.out.decode("cp1252"), cmd.text
    assert "Python 3.11 was not found" in log.read_text(encoding="cp1252")


@pytest.mark.parametrize("how", ["terminal", "subprocess", "CI", "VOXTRAY_NO_PAUSE"])
def test_a_failure_in_a_terminal_or_ci_never_waits(tmp_path: Path, how: str) -> None:
    project = make_project(tmp_path, "p")
    bat = str(project / "setup.bat")
    command: str | list[str] = explorer_cmdline(project)
    extra = {"CMDCMDLINE": explorer_cmdline(project)}
    if how == "terminal":  # typed in an open cmd window: %cmdcmdline% is that window's command line
        extra = {"CMDCMDLINE": f'"{SYSTEM32}\\cmd.exe" '}
    elif how == "subprocess":  # a script or CI step: cmd /c "...\setup.bat"
        command = ["cmd", "/c", bat]
        extra = {"CMDCMDLINE": subprocess.list2cmdline(command)}
    else:
        extra[how] = "1"
    cmd = Cmd(command, bat_env([], **extra), tmp_path)
    try:
        assert cmd.proc.wait(timeout=60) == 1, cmd.text
    finally:
        cmd.close()
    assert "Python 3.11 was not found" in cmd.text
    assert PAUSE_PROMPT not in cmd.text


# ---- 4. 32-bit and Microsoft Store Pythons are refused ----

@pytest.mark.parametrize(("stub", "kind", "says"), [
    ("py", "32bit", "this Python 3.11 is 32-bit"), ("python", "store", "comes from the Microsoft Store")])
def test_a_32bit_or_store_python_is_refused(tmp_path: Path, stub: str, kind: str, says: str) -> None:
    tools = make_tools(tmp_path)
    fake = ROOT / "tests_win" / "setup_bat_fakepy.py"
    (tools / f"{stub}.bat").write_text(f'@"{sys.executable}" "{fake}" {kind} %*\r\n', encoding="ascii")
    env = bat_env([str(tools)])
    probe = 'import sys, struct; print(sys.maxsize > 2**32, struct.calcsize("P"), sys.base_prefix)'
    answer = subprocess.run(["cmd", "/c", str(tools / f"{stub}.bat"), "-3.11", "-c", probe], env=env,
                            stdin=subprocess.DEVNULL, capture_output=True, text=True, timeout=60, check=False)
    assert answer.stdout.startswith("False 4" if kind == "32bit" else "True 8 C:\\Program Files\\WindowsApps\\"), answer

    project = make_project(tmp_path)
    out = run_setup_bat(project, "--no-run", env=env)
    assert out.returncode == 1, out.stdout + out.stderr
    assert says in out.stdout and "https://www.python.org/downloads/windows/" in out.stdout, out.stdout
    assert "py install 3.11" in out.stdout
    assert not (project / ".venv").exists()


# ---- 7. a folder path too long for torch's files ----

@contextlib.contextmanager
def long_paths_enabled(value: int | None) -> Iterator[None]:
    """HKLM\\...\\FileSystem LongPathsEnabled set to `value` (None: absent) meanwhile; restored after."""
    path = r"SYSTEM\CurrentControlSet\Control\FileSystem"
    with winreg.CreateKeyEx(winreg.HKEY_LOCAL_MACHINE, path, 0, winreg.KEY_ALL_ACCESS) as key:
        try:
            before: int | None = winreg.QueryValueEx(key, "LongPathsEnabled")[0]
        except FileNotFoundError:
            before = None
        try:
            _set_dword(key, value)
            yield
        finally:
            _set_dword(key, before)


def _set_dword(key: winreg.HKEYType, value: int | None) -> None:
    if value is not None:
        winreg.SetValueEx(key, "LongPathsEnabled", 0, winreg.REG_DWORD, value)
        return
    with contextlib.suppress(FileNotFoundError):
        winreg.DeleteValue(key, "LongPathsEnabled")


@pytest.mark.parametrize("enabled", [None, 0, 1])
def test_a_long_folder_path_warns_unless_long_paths_are_enabled(tmp_path: Path, enabled: int | None) -> None:
    deep = tmp_path / ("VoxTray downloads " * 4).strip() / ("a folder with a long name " * 2).strip()
    project = make_project(deep, "Mon projet é")
    assert len(str(project)) > 115, project
    with long_paths_enabled(enabled):
        out = run_setup_bat(project, "--dry-run", env=bat_env([PYTHON_DIR]))
    assert out.returncode == 0, out.stdout + out.stderr
    if enabled == 1:
        assert "warning" not in out.stdout
        return
    assert "longer than 115 characters and Windows long paths are off: installing torch will fail" in out.stdout
    assert r"reg add HKLM\SYSTEM\CurrentControlSet\Control\FileSystem /v LongPathsEnabled /t REG_DWORD /d 1 /f" in out.stdout
    assert "Enable Win32 long paths" in out.stdout
