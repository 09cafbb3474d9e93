"""`doctor`: one screen that says what works and what to fix."""

from __future__ import annotations

import importlib.util
import os
import platform
import socket
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlparse

from daemon import paths
from daemon.errors import MissingRuntimeError
from daemon.gpu import torchbuild
from daemon.settings import XTTS_MODEL_ID, Settings
from daemon.winruntime import (
    MAX_PATH,
    REDIST_FIX,
    REDIST_NAME,
    explain_import_error,
    long_paths_enabled,
    msvcp140_loadable,
)

OK, WARN, FAIL, SKIP = "ok", "warn", "FAIL", "skip"
AUDIO_EXTS = {".wav", ".mp3", ".flac", ".ogg", ".m4a"}
# The deepest file below the environment folder (Lib\site-packages\transformers\models\..., measured): with
# the folder's own path it must stay under MAX_PATH unless long paths are on.
DEEPEST_PACKAGE_FILE = 150


@dataclass
class Check:
    name: str
    state: str
    detail: str
    fix: str = ""


def check_python(_s: Settings) -> Check:
    v = sys.version_info
    state = OK if v >= (3, 10) else FAIL
    return Check("Python", state, f"{platform.python_version()} ({sys.executable})", "use Python 3.10-3.12")


def check_vc_redist(_s: Settings) -> Check:
    """Windows: msvcp140.dll must load, or soxr (audio), torch and ctranslate2 cannot."""
    if msvcp140_loadable():
        return Check("VC++ runtime", OK, f"msvcp140.dll loads ({REDIST_NAME})")
    return Check("VC++ runtime", FAIL, f"msvcp140.dll does not load: the {REDIST_NAME} is not installed, so audio "
                 "(soxr), the cloned voice (torch) and speech recognition (ctranslate2) cannot load", REDIST_FIX)


def check_long_paths(_s: Settings) -> Check:
    """Windows: deep package files under a long install folder need LongPathsEnabled."""
    enabled = long_paths_enabled()
    if enabled is None:
        return Check("long paths", SKIP, "LongPathsEnabled cannot be read")
    if enabled:
        return Check("long paths", OK, "LongPathsEnabled is on")
    longest = len(sys.prefix) + 1 + DEEPEST_PACKAGE_FILE
    if longest < MAX_PATH:
        return Check("long paths", OK, f"LongPathsEnabled is off; not needed for {sys.prefix}")
    return Check("long paths", WARN, f"LongPathsEnabled is off and {sys.prefix} is {len(sys.prefix)} characters "
                 f"long: package files there reach about {longest}, past Windows' {MAX_PATH}, and fail to install "
                 "or load", "move VoxTray to a short folder (e.g. C:\\VoxTray) and run setup.bat there, or turn "
                 "long paths on (PowerShell as administrator: New-ItemProperty -Path "
                 "'HKLM:\\SYSTEM\\CurrentControlSet\\Control\\FileSystem' -Name LongPathsEnabled -Value 1 "
                 "-PropertyType DWORD -Force), then run setup.bat again")


def check_torch(_s: Settings) -> Check:
    try:
        import torch
    except Exception as exc:
        why = explain_import_error(exc)
        if why is not None:
            return Check("torch", FAIL, f"cannot load: {exc}", why)
        return Check("torch", FAIL, f"not importable: {exc}", "install torch (see README, step 1)")
    if torch.version.cuda is None:
        driver = torchbuild.driver_version()
        if driver is not None:
            return _cpu_build_on_nvidia(torch.__version__, driver)
    if torch.cuda.is_available():
        name = torch.cuda.get_device_name(0)
        cap = torch.cuda.get_device_capability(0)
        arch = list(torch.cuda.get_arch_list())
        if not torchbuild.runs_on(cap, arch):
            return _no_kernels(torch.__version__, name, cap, arch)
        return Check("torch", OK, f"{torch.__version__}, CUDA {torch.version.cuda}: {name} (sm_{cap[0]}{cap[1]})")
    if not _s.use_local_cloning:
        return Check("torch", OK, f"{torch.__version__}, no CUDA device (cloning is off: not needed)")
    return Check(
        "torch",
        WARN,
        f"{torch.__version__}, no CUDA device",
        "the cloned voice needs an NVIDIA GPU (or xtts_allow_cpu: slow); edge-tts or the system voice speak meanwhile",
    )


def _pip(index: str) -> str:
    """The exact command, with this environment's python, that installs torch from this CUDA index."""
    exe = Path(sys.executable)
    if exe.name.lower() == "pythonw.exe":
        exe = exe.with_name("python.exe")
    py = f'"{exe}"' if " " in str(exe) else str(exe)
    return f"{py} -m {torchbuild.install_command(index)}"


def _cpu_build_on_nvidia(version: str, driver: str) -> Check:
    detail = f"{version} is the CPU build, but this computer has an NVIDIA driver ({driver}): XTTS cannot use the GPU"
    index = torchbuild.index_for_driver(driver)
    if index is None:
        oldest = torchbuild.DRIVER_INDEXES[-1]
        return Check("torch", WARN, detail, f"update the NVIDIA driver to {oldest[0]} or newer "
                     f"({torchbuild.DRIVERS_URL}), then: {_pip(oldest[1])}")
    again = "run setup.bat again (it replaces the CPU build), or: " if sys.platform == "win32" else ""
    return Check("torch", FAIL, detail, again + _pip(index))


def _no_kernels(version: str, name: str, cap: tuple[int, int], arch: list[str]) -> Check:
    sm = f"sm_{cap[0]}{cap[1]}"
    detail = (f"{name} is {sm}, but this torch build ({version}) has kernels only for "
              f"{', '.join(a for a in arch if a.startswith('sm_'))}: XTTS would fail with \"CUDA error: no kernel "
              "image is available for execution on the device\"")
    index = torchbuild.index_for_capability(*cap)
    if index is None:
        return Check("torch", FAIL, detail, f"install the CUDA build of torch {torchbuild.TORCH_VERSION} made for "
                     f"{sm} (PyTorch's cu126 or cu128 index)")
    fix = f"install the {index} build, which has {sm}: {_pip(index)}"
    oldest = torchbuild.oldest_driver(index)
    driver = torchbuild.driver_version()
    if driver is not None and torchbuild.driver_major(driver) < oldest:
        fix = f"update the NVIDIA driver to {oldest} or newer ({torchbuild.DRIVERS_URL}), then {fix}"
    return Check("torch", FAIL, detail, fix)


def check_gpu(_s: Settings) -> Check:
    try:
        import pynvml

        pynvml.nvmlInit()
    except Exception as exc:
        return Check("GPU (NVML)", WARN, f"no NVIDIA GPU/driver ({type(exc).__name__})", "edge-tts or the system voice will speak")
    try:
        parts = []
        for i in range(pynvml.nvmlDeviceGetCount()):
            h = pynvml.nvmlDeviceGetHandleByIndex(i)
            mem = pynvml.nvmlDeviceGetMemoryInfo(h)
            name = pynvml.nvmlDeviceGetName(h)
            name = name.decode() if isinstance(name, bytes) else name
            parts.append(f"{name}: {int(mem.free) // 2**20} MB free of {int(mem.total) // 2**20} MB")
        return Check("GPU (NVML)", OK, "; ".join(parts) or "no GPUs")
    finally:
        pynvml.nvmlShutdown()


def check_audio(s: Settings) -> Check:
    from daemon.errors import AudioDeviceError
    from daemon.speech.devices import resolve_device

    try:
        _, info = resolve_device(s.output_device)
    except AudioDeviceError as exc:
        return Check("audio output", FAIL, "no usable output device", str(exc))
    return Check("audio output", OK, f"{info.get('name')} ({int(info.get('default_samplerate') or 0)} Hz)")


def check_microphone(s: Settings) -> Check:
    from daemon.errors import AudioDeviceError
    from daemon.listen.mic import input_devices, resolve_input_device

    try:
        index, info = resolve_input_device(s.input_device)
    except AudioDeviceError as exc:
        return Check("microphone", WARN, "no usable input device: asking by voice is off (typing works)", str(exc))
    others = [f"{i}: {d.get('name')}" for i, d in input_devices() if i != index][:4]
    more = f"; others: {', '.join(others)}" if others else ""
    return Check("microphone", OK, f"{info.get('name')} ({int(info.get('default_samplerate') or 0)} Hz){more}")


def check_speech_model(s: Settings) -> Check:
    from daemon.errors import SettingsError
    from daemon.listen.recognizer import model_source

    if importlib.util.find_spec("faster_whisper") is None:
        return Check("speech model", FAIL, "faster-whisper is not installed", "pip install -r requirements.txt")
    try:
        kind, folder = model_source(s.stt_model, s.base_dir())
    except SettingsError as exc:
        return Check("speech model", FAIL, str(exc), "set stt_model to a size (base, small, ...) or a model folder")
    where = f"{s.stt_device}, {s.stt_compute_type}, language {s.stt_language}"
    if folder is not None:
        return Check("speech model", OK, f"local folder {folder} ({where})")
    try:
        import huggingface_hub

        from daemon.listen.recognizer import DOWNLOAD_PATTERNS, _repo_for

        path = huggingface_hub.snapshot_download(_repo_for(kind), allow_patterns=DOWNLOAD_PATTERNS,
                                                 local_files_only=True)
        return Check("speech model", OK, f"{kind} (downloaded: {path}; {where})")
    except Exception:
        return Check("speech model", WARN, f"{kind} not downloaded yet ({where})",
                     "it downloads (with progress) at the first talk press; or set stt_model to a local folder")


def _reachable(host: str, port: int, timeout: float = 2.0) -> str | None:
    try:
        with socket.create_connection((host, port), timeout=timeout):
            return None
    except OSError as exc:
        return exc.strerror or type(exc).__name__


def check_edge(_s: Settings) -> Check:
    err = _reachable("speech.platform.bing.com", 443)
    if err is None:
        return Check("edge-tts", OK, "speech.platform.bing.com reachable")
    return Check("edge-tts", WARN, f"unreachable ({err})", "needs internet; the system voice speaks offline")


def check_llm(s: Settings) -> Check:
    set_up = f"right-click the tray icon > Set up the LLM…, or run `{paths.command()} connect LINK`"
    if not s.remote_llm_url:
        return Check("remote LLM", WARN, "none set up: questions need one (Ollama, an OpenAI-compatible server or "
                     "the Colab bridge)", set_up)
    u = urlparse(s.remote_llm_url)
    if u.scheme not in ("http", "https") or not u.hostname:
        return Check("remote LLM", FAIL, f"bad URL {s.remote_llm_url!r}", set_up)
    err = _reachable(u.hostname, u.port or (443 if u.scheme == "https" else 80))
    if err:
        return Check("remote LLM", FAIL, f"{u.scheme}://{u.netloc} unreachable ({err})",
                     "start the server (on Colab: run the notebook's cells again; its new link goes into "
                     "Set up the LLM…)")
    return Check("remote LLM", OK, f"{u.scheme}://{u.netloc} reachable")


def check_model(s: Settings) -> Check:
    from daemon.download import human_bytes, model_folder, model_status, validate_folder
    from daemon.download.manifest import how_to_get

    if not s.use_local_cloning:
        return Check("XTTS model", SKIP, "cloning is off (use_local_cloning): not needed")
    get = how_to_get()
    raw = s.xtts_model_path.strip()
    status = model_status(s)
    size = human_bytes(status.total_bytes) if status.total_bytes else "about 1.9 GB"
    if status.present:
        whose = "downloaded by VoxTray" if status.folder == model_folder() else "xtts_model_path"
        return Check("XTTS model", OK, f"{status.folder} ({whose}, {size})")
    path = s.resolve(raw)
    if path.is_dir():
        return Check("XTTS model", FAIL, f"{path}: {'; '.join(validate_folder(path))}",
                     "point xtts_model_path at a full XTTS folder (config.json, model.pth, vocab.json), or set it "
                     f"to {XTTS_MODEL_ID!r} and {get}")
    if not raw.startswith("tts_models/"):
        return Check("XTTS model", FAIL, f"{raw!r} is neither a folder nor a coqui model id",
                     f"set xtts_model_path to {XTTS_MODEL_ID!r} or to a model folder")
    if not status.license_accepted:
        return Check("XTTS model", WARN, "not downloaded; its licence (Coqui Public Model License, "
                     "non-commercial) is not accepted yet", f"read https://coqui.ai/cpml, then {get} (it asks)")
    if status.partial_bytes:
        pct = f"{status.partial_bytes * 100 // status.total_bytes} %, " if status.total_bytes else ""
        return Check("XTTS model", WARN, f"partly downloaded ({pct}{human_bytes(status.partial_bytes)} of {size})",
                     f"resume it: {get}")
    return Check("XTTS model", WARN, f"not downloaded yet ({size}, into {status.folder})", get)


def check_voices(s: Settings) -> Check:
    folder = s.voices_path
    voices = sorted(p.name for p in folder.glob("*") if p.suffix.lower() in AUDIO_EXTS) if folder.is_dir() else []
    if not voices:
        return Check("voices", FAIL, f"no reference clips in {folder}", f"add one: {paths.command()} voices add FILE")
    state = OK if s.reference_path.is_file() else FAIL
    fix = "" if state == OK else f"cloning_reference_file {s.cloning_reference_file!r} does not exist"
    return Check("voices", state, f"{len(voices)} in {folder}: {', '.join(voices[:6])}", fix)


def check_hotkeys(s: Settings) -> Check:
    from daemon.desktop.hotkeys import altgr_conflict

    combos = [s.hotkey_ask, s.hotkey_stop, *(c for c in (s.hotkey_talk, s.hotkey_read, s.hotkey_pause) if c.strip())]
    conflicts = [c for c in map(altgr_conflict, combos) if c]
    if conflicts:
        return Check("hotkeys", WARN, conflicts[0], "choose a combo without Ctrl+Alt+<character> (AltGr layouts)")
    if sys.platform == "win32":
        talk = f", {s.hotkey_talk} talks ({s.talk_mode})" if s.hotkey_talk.strip() else ""
        talk += f", {s.hotkey_read} reads aloud" if s.hotkey_read.strip() else ""
        return Check("hotkeys", OK, f"RegisterHotKey: {s.hotkey_ask} asks, {s.hotkey_stop} stops{talk}")
    if not os.environ.get("DISPLAY"):
        return Check("hotkeys", WARN, "no X11 display (DISPLAY unset)", "global hotkeys need an X11 session; use the CLI")
    ok = importlib.util.find_spec("pynput") is not None
    return Check("hotkeys", OK if ok else FAIL, f"pynput on X11 {os.environ['DISPLAY']}", "pip install pynput")


CHECKS: list[Callable[[Settings], Check]] = [
    check_python, check_vc_redist, check_long_paths, check_torch, check_gpu, check_audio, check_microphone, check_edge, check_llm, check_model,
    check_speech_model, check_voices, check_hotkeys,
]


# Checks that reach beyond this computer, and their names: `doctor --offline` skips them.
NETWORK_CHECKS: dict[Callable[[Settings], Check], str] = {check_edge: "edge-tts", check_llm: "remote LLM"}
# Checks of Windows itself: left out elsewhere.
WINDOWS_CHECKS = {check_vc_redist, check_long_paths}


Progress = Callable[[int, int, str], None]  # (checks done, checks in all, the name of the one starting now)


def run_checks(settings: Settings, offline: bool = False, progress: Progress | None = None) -> list[Check]:
    results: list[Check] = []
    todo = [fn for fn in CHECKS if fn not in WINDOWS_CHECKS or sys.platform == "win32"]
    for done, fn in enumerate(todo):
        if progress is not None:
            progress(done, len(todo), fn.__name__.removeprefix("check_").replace("_", " "))
        if offline and fn in NETWORK_CHECKS:
            results.append(Check(NETWORK_CHECKS[fn], SKIP, "not checked (--offline: nothing leaves this computer)"))
            continue
        try:
            results.append(fn(settings))
        except MissingRuntimeError as exc:  # already explained (winruntime.require): the DLL's own error as detail
            name = fn.__name__.removeprefix("check_").replace("_", " ")
            results.append(Check(name, FAIL, f"cannot load: {exc.__cause__ or exc}", str(exc)))
        except Exception as exc:  # a check must never crash the doctor
            name, why = fn.__name__.removeprefix("check_").replace("_", " "), explain_import_error(exc)
            if why is not None:  # e.g. the audio check importing soxr without msvcp140.dll
                results.append(Check(name, FAIL, f"cannot load: {exc}", why))
            else:
                results.append(Check(name, FAIL, f"check crashed: {exc}"))
    return results


def render(results: list[Check], settings_file: Path) -> str:
    lines = [f"VoxTray doctor (settings: {settings_file})", ""]
    for c in results:
        lines.append(f"  [{c.state:>4}] {c.name:<14} {c.detail}")
        if c.fix and c.state != OK:
            lines.append(f"         {'':<14} -> {c.fix}")
    fails = sum(c.state == FAIL for c in results)
    warns = sum(c.state == WARN for c in results)
    lines += ["", f"{fails} problem(s), {warns} warning(s)."]
    return "\n".join(lines)
