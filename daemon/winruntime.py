"""What Windows itself must provide: the Visual C++ Redistributable (msvcp140.dll) and long-path support.

Without the Redistributable, soxr, torch (c10.dll), ctranslate2 and onnxruntime fail to load with WinError 126
("DLL load failed"); CPython ships only vcruntime140*.dll. `explain_import_error` turns that failure into one
sentence naming the download, so every place that reports it says the same thing.
"""

from __future__ import annotations

import ctypes
import importlib
import sys
import traceback
from types import ModuleType

from daemon.errors import MissingRuntimeError

REDIST_NAME = "Microsoft Visual C++ 2015-2022 Redistributable (x64)"
REDIST_URL = "https://aka.ms/vs/17/release/vc_redist.x64.exe"
REDIST_FIX = f"install the {REDIST_NAME}: download {REDIST_URL}, run it, then start VoxTray again"

# Packages whose native code needs msvcp140.dll, and what VoxTray uses them for (the last one in a traceback wins).
_USES = {
    "soxr": "audio (soxr)",
    "torch": "the cloned voice (torch)",
    "torchaudio": "the cloned voice (torchaudio)",
    "TTS": "the cloned voice (torch)",
    "faster_whisper": "speech recognition (ctranslate2)",
    "ctranslate2": "speech recognition (ctranslate2)",
    "onnxruntime": "voice detection (onnxruntime)",
}
WINERROR_MOD_NOT_FOUND = 126
_LONG_PATHS_KEY = r"SYSTEM\CurrentControlSet\Control\FileSystem"
MAX_PATH = 260


def msvcp140_loadable() -> bool:
    """True when msvcp140.dll loads (always True off Windows). Only loading counts: under Wine
    ctypes.util.find_library finds a file even when the DLL is disabled."""
    if sys.platform != "win32":
        return True
    try:
        ctypes.WinDLL("msvcp140.dll")
    except OSError:
        return False
    return True


def _is_dll_failure(exc: BaseException) -> bool:
    """A native library (or one of its dependencies) was not found: WinError 126 in its several disguises."""
    seen: set[int] = set()
    cur: BaseException | None = exc
    while cur is not None and id(cur) not in seen:
        seen.add(id(cur))
        text = str(cur)
        if (getattr(cur, "winerror", None) == WINERROR_MOD_NOT_FOUND or "DLL load failed" in text
                or "or one of its dependencies" in text):
            return True
        cur = cur.__cause__ or cur.__context__
    return False


def _what(exc: BaseException) -> str:
    """What VoxTray uses the failing package for, from the traceback's frames (else a generic phrase)."""
    what = "a library VoxTray needs"
    for frame in traceback.extract_tb(exc.__traceback__):
        parts = frame.filename.replace("\\", "/").split("/")
        for part in parts[-3:-1]:
            what = _USES.get(part, what)
    name = getattr(exc, "name", None) or ""
    return _USES.get(name.split(".")[0], what)


def explain_import_error(exc: BaseException) -> str | None:
    """The one sentence for a library that failed to load because the Redistributable is missing; None for any
    other failure (another platform, another error, or msvcp140.dll loads, so the cause lies elsewhere)."""
    if sys.platform != "win32" or not _is_dll_failure(exc) or msvcp140_loadable():
        return None
    return (f"{_what(exc)} cannot load: the {REDIST_NAME} is not installed (msvcp140.dll is missing). "
            f"Download {REDIST_URL}, run it, then start VoxTray again.")


def require(module: str) -> ModuleType:
    """Import a module with native code; a failure for lack of the Redistributable raises MissingRuntimeError with
    `explain_import_error`'s sentence (any other failure propagates as it is)."""
    try:
        return importlib.import_module(module)
    except (ImportError, OSError) as exc:
        why = explain_import_error(exc)
        if why is None:
            raise
        raise MissingRuntimeError(why) from exc


def long_paths_enabled() -> bool | None:
    """Windows' LongPathsEnabled (HKLM); None off Windows or when it cannot be read."""
    if sys.platform != "win32":
        return None
    import winreg

    try:
        with winreg.OpenKey(winreg.HKEY_LOCAL_MACHINE, _LONG_PATHS_KEY) as key:
            value, _ = winreg.QueryValueEx(key, "LongPathsEnabled")
    except FileNotFoundError:
        return False
    except OSError:
        return None
    return bool(value)
