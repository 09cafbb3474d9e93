"""Windows set-up problems, at their boundaries: the Visual C++ Redistributable, the torch build vs the NVIDIA
driver and card, long paths. Faked only what cannot exist here: the Windows DLL loader (ctypes.WinDLL,
sys.platform), the registry (winreg), CUDA (a torch stand-in) and NVML (pynvml's functions). The libraries that
fail are real packages on disk that raise what the Windows ones raise (messages as measured under Wine), so
the product's own imports, tracebacks and messages are what the tests see. The real thing runs in the Windows
lane: tests_win/test_redist.py."""

from __future__ import annotations

import ctypes
import re
import sys
import types
from collections.abc import Iterator
from pathlib import Path

import pynvml
import pytest

from daemon import doctor, winruntime
from daemon.errors import EngineUnavailableError, MissingRuntimeError
from daemon.gpu import torchbuild
from daemon.settings import Settings

ROOT = Path(__file__).resolve().parent.parent
URL = "https://aka.ms/vs/17/release/vc_redist.x64.exe"
REDIST = "Microsoft Visual C++ 2015-2022 Redistributable (x64)"

# Packages as they fail on a Windows without msvcp140.dll (measured: design.md, "The heavy Windows stack").
BROKEN = {
    "soxr/__init__.py": 'raise ImportError("DLL load failed while importing soxr_ext: The specified module could '
                        'not be found.", name="soxr_ext")\n',
    "torch/__init__.py": 'err = OSError(22, "The specified module could not be found. Error loading '
                         '\\"C:\\\\v\\\\Lib\\\\site-packages\\\\torch\\\\lib\\\\c10.dll\\" or one of its '
                         'dependencies.")\nerr.winerror = 126\nraise err\n',
    "ctranslate2/__init__.py": 'raise FileNotFoundError("Could not find module \'C:\\\\v\\\\Lib\\\\site-packages'
                               '\\\\ctranslate2\\\\ctranslate2.dll\' (or one of its dependencies). Try using the '
                               'full path with constructor syntax.")\n',
    "faster_whisper/__init__.py": "import ctranslate2\n",
    "TTS/__init__.py": "",
}


@pytest.fixture
def broken_libs(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """soxr, torch, ctranslate2 and faster_whisper as they fail without msvcp140.dll, first on sys.path."""
    site = tmp_path / "site"
    for rel, code in BROKEN.items():
        (site / rel).parent.mkdir(parents=True, exist_ok=True)
        (site / rel).write_text(code)
    for name in list(sys.modules):
        if name.split(".")[0] in {"soxr", "torch", "torchaudio", "ctranslate2", "faster_whisper", "TTS"}:
            monkeypatch.delitem(sys.modules, name)
    monkeypatch.syspath_prepend(str(site))
    return site


def _fake_windows(monkeypatch: pytest.MonkeyPatch, msvcp140: bool) -> list[str]:
    """sys.platform win32 and a DLL loader where msvcp140.dll loads or not; returns the names it was asked for."""
    asked: list[str] = []

    def win_dll(name: str) -> object:
        asked.append(name)
        if not msvcp140 and name.lower() == "msvcp140.dll":
            raise FileNotFoundError(f"Could not find module '{name}' (or one of its dependencies).")
        return object()

    monkeypatch.setattr(sys, "platform", "win32")
    monkeypatch.setattr(ctypes, "WinDLL", win_dll, raising=False)
    return asked


@pytest.fixture
def no_redist(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    return _fake_windows(monkeypatch, msvcp140=False)


@pytest.fixture
def with_redist(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    return _fake_windows(monkeypatch, msvcp140=True)


def _failure(module: str) -> BaseException:
    try:
        __import__(module)
    except (ImportError, OSError) as exc:
        return exc
    raise AssertionError(f"{module} imported")


# --------------------------------------------------------------------------- the one sentence
@pytest.mark.parametrize(("module", "what"), [
    ("soxr", "audio (soxr)"),
    ("torch", "the cloned voice (torch)"),
    ("faster_whisper", "speech recognition (ctranslate2)"),
])
def test_a_library_failing_for_lack_of_msvcp140_is_explained_with_the_download(
        broken_libs: Path, no_redist: list[str], module: str, what: str) -> None:
    why = winruntime.explain_import_error(_failure(module))
    assert why is not None
    assert why.startswith(f"{what} cannot load: the {REDIST} is not installed (msvcp140.dll is missing).")
    assert URL in why and "install torch" not in why
    assert no_redist == ["msvcp140.dll"], "decided by loading the DLL, not by finding a file"


def test_no_explanation_when_msvcp140_loads_off_windows_or_for_another_error(
        broken_libs: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    exc = _failure("torch")
    assert winruntime.explain_import_error(exc) is None, "Linux: never Windows advice"
    _fake_windows(monkeypatch, msvcp140=True)
    assert winruntime.explain_import_error(exc) is None, "the DLL loads: the cause lies elsewhere"
    _fake_windows(monkeypatch, msvcp140=False)
    assert winruntime.explain_import_error(ModuleNotFoundError("No module named 'torch'", name="torch")) is None


# --------------------------------------------------------------------------- doctor: the Redistributable
def test_doctor_fails_the_redistributable_by_name_and_download(no_redist: list[str]) -> None:
    c = doctor.check_vc_redist(Settings())
    assert c.state == doctor.FAIL and "msvcp140.dll does not load" in c.detail and REDIST in c.detail
    assert URL in c.fix


def test_doctor_passes_the_redistributable_when_msvcp140_loads(with_redist: list[str]) -> None:
    assert doctor.check_vc_redist(Settings()).state == doctor.OK


def test_the_windows_checks_run_only_on_windows(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(doctor, "CHECKS", [doctor.check_python, doctor.check_vc_redist])
    assert [c.name for c in doctor.run_checks(Settings())] == ["Python"]
    _fake_windows(monkeypatch, msvcp140=False)
    assert [(c.name, c.state) for c in doctor.run_checks(Settings())] == [("Python", "ok"), ("VC++ runtime", "FAIL")]


def test_doctor_explains_torch_that_cannot_load(broken_libs: Path, no_redist: list[str]) -> None:
    c = doctor.check_torch(Settings())
    assert c.state == doctor.FAIL and "c10.dll" in c.detail
    assert c.fix.startswith("the cloned voice (torch) cannot load") and URL in c.fix


def test_a_check_that_trips_over_ctranslate2_is_explained_not_crashed(
        broken_libs: Path, no_redist: list[str], monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(doctor, "CHECKS", [doctor.check_speech_model])
    (c,) = doctor.run_checks(Settings())
    assert c.state == doctor.FAIL and "check crashed" not in c.detail and "ctranslate2.dll" in c.detail
    assert c.fix.startswith("speech recognition (ctranslate2) cannot load") and URL in c.fix


# --------------------------------------------------------------------------- the daemon's own messages
def test_audio_says_soxr_needs_the_redistributable(broken_libs: Path, no_redist: list[str]) -> None:
    import numpy as np

    from daemon.audio import resample

    with pytest.raises(MissingRuntimeError, match=re.escape(f"audio (soxr) cannot load: the {REDIST}")) as err:
        resample(np.zeros(100, dtype=np.float32), 22050, 48000)
    assert URL in str(err.value)


def test_say_fails_with_the_sentence_not_a_traceback(
        broken_libs: Path, no_redist: list[str], tmp_path: Path, capsys: pytest.CaptureFixture[str],
        monkeypatch: pytest.MonkeyPatch) -> None:
    import signal
    import threading

    from daemon.__main__ import main

    monkeypatch.setattr(sys, "excepthook", sys.excepthook)  # main() sets these: give them back afterwards
    monkeypatch.setattr(threading, "excepthook", threading.excepthook)
    monkeypatch.setattr(signal, "signal", lambda *_a: None)

    settings = tmp_path / "settings.json"
    settings.write_text('{"use_local_cloning": false}')
    out = tmp_path / "x.wav"
    assert main(["--settings", str(settings), "say", "Hello.", "--engine", "system", "--out", str(out)]) == 1
    err = capsys.readouterr().err
    assert err.startswith(f"voxtray: audio (soxr) cannot load: the {REDIST} is not installed") and URL in err
    assert not out.exists()


def test_the_daemon_says_it_at_start(broken_libs: Path, no_redist: list[str], tmp_path: Path) -> None:
    from daemon.app import App

    app = App(Settings(), tmp_path / "settings.json", headless=True)
    try:
        with pytest.raises(MissingRuntimeError, match=re.escape(f"audio (soxr) cannot load: the {REDIST}")):
            app.start()  # before any part starts; main() / the tray's start-up thread tell it
        assert len(app.shutdown_steps) == 0
    finally:
        app.shutdown()


def test_xtts_unavailable_names_the_redistributable_not_install_torch(
        broken_libs: Path, no_redist: list[str]) -> None:
    from daemon.speech.xtts import model as xtts_model

    with pytest.raises(EngineUnavailableError) as err:
        xtts_model.acquire(Settings())
    assert str(err.value).startswith("XTTS cannot run: the cloned voice (torch) cannot load") and URL in str(err.value)
    assert "pip install" not in str(err.value)


def test_speech_recognition_names_the_redistributable(
        broken_libs: Path, no_redist: list[str], tmp_path: Path) -> None:
    from daemon.listen.recognizer import Recognizer, RecognizerError

    rec = Recognizer("base", base_dir=tmp_path)
    with pytest.raises(RecognizerError, match=re.escape(URL)):
        rec.load()
    assert rec.state == "failed" and rec.error.startswith("speech recognition (ctranslate2) cannot load")


def test_voice_detection_names_the_redistributable(broken_libs: Path, no_redist: list[str]) -> None:
    from daemon.listen.vad import load_model

    with pytest.raises(MissingRuntimeError, match=re.escape(URL)):
        load_model()


# --------------------------------------------------------------------------- torch build vs driver and card
def _torch(cuda: str | None, capability: tuple[int, int] = (8, 6), arch: list[str] | None = None) -> types.ModuleType:
    """A stand-in for torch: CUDA cannot exist here. Only what doctor reads."""
    t = types.ModuleType("torch")
    t.__version__ = f"2.11.0+{'cpu' if cuda is None else 'cu' + cuda.replace('.', '')}"  # type: ignore[attr-defined]
    t.version = types.SimpleNamespace(cuda=cuda)  # type: ignore[attr-defined]
    t.cuda = types.SimpleNamespace(  # type: ignore[attr-defined]
        is_available=lambda: cuda is not None, get_device_name=lambda _i=0: "NVIDIA GeForce GTX 1080",
        get_device_capability=lambda _i=0: capability, get_arch_list=lambda: list(arch or []))
    return t


CU128 = ["sm_75", "sm_80", "sm_86", "sm_90", "sm_100", "sm_120"]
CU126 = ["sm_50", "sm_60", "sm_61", "sm_70", "sm_75", "sm_80", "sm_86", "sm_90"]


@pytest.fixture
def driver(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[str]]:
    """NVML reports the driver version in `driver[0]` (none: NVML fails as it does here)."""
    version: list[str] = []

    def init() -> None:
        if not version:
            raise pynvml.NVMLError(pynvml.NVML_ERROR_LIBRARY_NOT_FOUND)

    monkeypatch.setattr(pynvml, "nvmlInit", init)
    monkeypatch.setattr(pynvml, "nvmlShutdown", lambda: None)
    monkeypatch.setattr(pynvml, "nvmlSystemGetDriverVersion", lambda: version[0])
    monkeypatch.setenv("PATH", "/nonexistent")  # no nvidia-smi either
    yield version


def _pip(index: str) -> str:
    return (f"{sys.executable} -m pip install --force-reinstall --no-deps torch==2.11.0 torchaudio==2.11.0 "
            f"--index-url https://download.pytorch.org/whl/{index}")


@pytest.mark.parametrize(("version", "index"), [("572.16", "cu128"), ("570.00", "cu128"), ("551.86", "cu126"),
                                                ("528.02", "cu126")])
def test_a_cpu_torch_beside_an_nvidia_driver_gets_the_exact_command(
        monkeypatch: pytest.MonkeyPatch, driver: list[str], version: str, index: str) -> None:
    driver.append(version)
    monkeypatch.setitem(sys.modules, "torch", _torch(None))
    c = doctor.check_torch(Settings())
    assert c.state == doctor.FAIL and "CPU build" in c.detail and version in c.detail
    assert c.fix == _pip(index), "Linux: the command only, no setup.bat"


def test_on_windows_the_fix_also_offers_setup_bat(monkeypatch: pytest.MonkeyPatch, driver: list[str]) -> None:
    driver.append("572.16")
    monkeypatch.setitem(sys.modules, "torch", _torch(None))
    monkeypatch.setattr(sys, "platform", "win32")
    c = doctor.check_torch(Settings())
    assert c.fix == "run setup.bat again (it replaces the CPU build), or: " + _pip("cu128")


def test_a_driver_too_old_for_cuda_12_says_update_it_first(monkeypatch: pytest.MonkeyPatch, driver: list[str]) -> None:
    driver.append("516.94")
    monkeypatch.setitem(sys.modules, "torch", _torch(None))
    c = doctor.check_torch(Settings())
    assert c.state == doctor.WARN
    assert c.fix == f"update the NVIDIA driver to 528 or newer (https://www.nvidia.com/drivers), then: {_pip('cu126')}"


def test_a_cpu_torch_without_a_driver_is_only_the_usual_warning(
        monkeypatch: pytest.MonkeyPatch, driver: list[str]) -> None:
    monkeypatch.setitem(sys.modules, "torch", _torch(None))
    c = doctor.check_torch(Settings())
    assert (c.state, c.detail) == (doctor.WARN, "2.11.0+cpu, no CUDA device")
    assert "Windows" not in c.fix and "setup.bat" not in c.fix


def test_the_driver_comes_from_nvidia_smi_when_nvml_cannot_say(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, driver: list[str]) -> None:
    smi = tmp_path / "nvidia-smi"
    smi.write_text('#!/bin/sh\n[ "$1" = --query-gpu=driver_version ] && echo "551.86" && exit 0\nexit 9\n')
    smi.chmod(0o755)
    monkeypatch.setenv("PATH", str(tmp_path))
    assert torchbuild.driver_version() == "551.86"


def test_a_pascal_card_on_the_cu128_build_is_told_no_kernel_image_and_the_cu126_build(
        monkeypatch: pytest.MonkeyPatch, driver: list[str]) -> None:
    driver.append("572.16")
    monkeypatch.setitem(sys.modules, "torch", _torch("12.8", (6, 1), CU128))
    c = doctor.check_torch(Settings())
    assert c.state == doctor.FAIL
    assert "GTX 1080 is sm_61" in c.detail and "no kernel image is available" in c.detail and "sm_75" in c.detail
    assert c.fix == f"install the cu126 build, which has sm_61: {_pip('cu126')}"


def test_a_blackwell_card_on_the_cu126_build_needs_cu128_and_a_newer_driver(
        monkeypatch: pytest.MonkeyPatch, driver: list[str]) -> None:
    driver.append("560.94")
    monkeypatch.setitem(sys.modules, "torch", _torch("12.6", (12, 0), CU126))
    c = doctor.check_torch(Settings())
    assert c.state == doctor.FAIL and "sm_120" in c.detail
    assert c.fix == ("update the NVIDIA driver to 570 or newer (https://www.nvidia.com/drivers), then install the "
                     f"cu128 build, which has sm_120: {_pip('cu128')}")


@pytest.mark.parametrize(("cap", "arch"), [((8, 6), CU128), ((6, 1), CU126), ((12, 0), [*CU126, "compute_90"])])
def test_a_card_the_build_has_kernels_or_ptx_for_passes(
        monkeypatch: pytest.MonkeyPatch, driver: list[str], cap: tuple[int, int], arch: list[str]) -> None:
    driver.append("572.16")
    monkeypatch.setitem(sys.modules, "torch", _torch("12.8", cap, arch))
    c = doctor.check_torch(Settings())
    assert c.state == doctor.OK and f"sm_{cap[0]}{cap[1]}" in c.detail


def test_the_builds_and_driver_thresholds_are_setup_bats() -> None:
    bat = (ROOT / "setup.bat").read_text()
    assert re.search(r'set "TORCH=([\d.]+)"', bat).group(1) == torchbuild.TORCH_VERSION  # type: ignore[union-attr]
    chosen = {index: int(v) for v, index in re.findall(r'GEQ (\d+)\s*\(?\s*set "INDEX=(cu\d+)"', bat)}
    assert chosen == {index: oldest for oldest, index in torchbuild.DRIVER_INDEXES}


# --------------------------------------------------------------------------- long paths
@pytest.fixture
def registry(monkeypatch: pytest.MonkeyPatch) -> dict[str, int]:
    """A winreg with HKLM\\...\\FileSystem holding `values` (winreg cannot exist here); Windows for the test."""
    values: dict[str, int] = {}
    reg = types.ModuleType("winreg")

    class Key:
        def __enter__(self) -> Key:
            return self

        def __exit__(self, *_a: object) -> None:
            return None

    def open_key(root: object, path: str) -> Key:
        assert (root, path) == ("HKLM", r"SYSTEM\CurrentControlSet\Control\FileSystem")
        return Key()

    def query(_key: Key, name: str) -> tuple[int, int]:
        if name not in values:
            raise FileNotFoundError(2, "The system cannot find the file specified")
        return values[name], 4

    reg.HKEY_LOCAL_MACHINE = "HKLM"  # type: ignore[attr-defined]
    reg.OpenKey = open_key  # type: ignore[attr-defined]
    reg.QueryValueEx = query  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "winreg", reg)
    monkeypatch.setattr(sys, "platform", "win32")
    return values


LONG = "C:\\Users\\someone\\OneDrive - Contoso Corporation\\Documents\\Projects\\Voice assistants (2025 copy)\\VoxTray-main\\.venv"


def test_long_paths_off_under_a_long_folder_warns_with_both_fixes(
        registry: dict[str, int], monkeypatch: pytest.MonkeyPatch) -> None:
    registry["LongPathsEnabled"] = 0
    monkeypatch.setattr(sys, "prefix", LONG)
    c = doctor.check_long_paths(Settings())
    assert c.state == doctor.WARN and f"{len(LONG)} characters" in c.detail and "260" in c.detail
    assert "C:\\VoxTray" in c.fix and "LongPathsEnabled -Value 1" in c.fix


@pytest.mark.parametrize(("values", "prefix", "state"), [
    ({"LongPathsEnabled": 1}, LONG, "ok"),
    ({"LongPathsEnabled": 0}, "C:\\VoxTray\\.venv", "ok"),
    ({}, LONG, "warn"),  # never set: off
])
def test_long_paths(registry: dict[str, int], monkeypatch: pytest.MonkeyPatch,
                    values: dict[str, int], prefix: str, state: str) -> None:
    registry.update(values)
    monkeypatch.setattr(sys, "prefix", prefix)
    assert doctor.check_long_paths(Settings()).state == state
