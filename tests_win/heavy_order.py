"""Child for tests_win/test_heavy_stack.py: Whisper and XTTS in ONE Windows process, in the order asked.

    python -m tests_win.heavy_order whisper-first|xtts-first CLIP.wav VOICE.wav OUT.json

Loads both through the product's own code (daemon.listen.recognizer, daemon.speech.xtts.engine): the
recogniser transcribes CLIP, XTTS speaks a sentence in VOICE's clone, then a second sentence is interrupted
after its first chunk (barge-in). Writes what happened to OUT.json, including every libiomp5md.dll (Intel
OpenMP: torch and ctranslate2 each ship one) loaded in the process, for docs/windows.md.
"""

from __future__ import annotations

import ctypes
import json
import os
import sys
import time
from ctypes import wintypes
from pathlib import Path
from typing import Any

import numpy as np


def loaded_modules(fragment: str) -> list[str]:
    """Full paths of the modules loaded in this process whose file name contains `fragment` (psapi)."""
    psapi = ctypes.WinDLL("psapi")
    kernel32 = ctypes.WinDLL("kernel32")
    kernel32.GetCurrentProcess.restype = wintypes.HANDLE
    psapi.EnumProcessModules.argtypes = [wintypes.HANDLE, ctypes.POINTER(wintypes.HMODULE), wintypes.DWORD,
                                         ctypes.POINTER(wintypes.DWORD)]
    psapi.GetModuleFileNameExW.argtypes = [wintypes.HANDLE, wintypes.HMODULE, wintypes.LPWSTR, wintypes.DWORD]
    proc = kernel32.GetCurrentProcess()
    mods = (wintypes.HMODULE * 2048)()
    needed = wintypes.DWORD()
    psapi.EnumProcessModules(proc, mods, ctypes.sizeof(mods), ctypes.byref(needed))
    out = []
    for i in range(needed.value // ctypes.sizeof(wintypes.HMODULE)):
        buf = ctypes.create_unicode_buffer(1024)
        psapi.GetModuleFileNameExW(proc, mods[i], buf, 1024)
        if fragment.lower() in os.path.basename(buf.value).lower():
            out.append(buf.value)
    return out


def hear(clip: Path, report: dict[str, Any]) -> None:
    from daemon.listen.recognizer import Recognizer

    t0 = time.perf_counter()
    rec = Recognizer(os.environ["VOXTRAY_WIN_WHISPER_BASE"], language="en")
    rec.load()
    text = rec.transcribe_file(clip).text
    rec.close()
    report["heard"] = text
    report["whisper_s"] = round(time.perf_counter() - t0, 2)


def speak(voice: Path, report: dict[str, Any]) -> None:
    from daemon.settings import Settings
    from daemon.speech.xtts.engine import XttsEngine
    from daemon.voices import VoiceRef

    t0 = time.perf_counter()
    settings = Settings(xtts_model_path=os.environ["VOXTRAY_WIN_TINY_XTTS"], xtts_device="auto",
                        xtts_allow_cpu=True, voices_dir=str(voice.parent), cloning_reference_file=str(voice),
                        xtts_first_chunk_tokens=4, xtts_chunk_tokens=4)
    engine = XttsEngine(settings)
    engine.load()
    ref = VoiceRef(voice.stem, voice)
    engine.begin_utterance()
    audio = np.concatenate(list(engine.stream("Hello there, this is the cloned voice.", ref)))
    report["xtts_device"] = engine.device
    report["xtts_seconds"] = round(audio.size / engine.sample_rate, 3)
    report["xtts_peak"] = float(np.abs(audio).max())
    # Barge-in: interrupt after the first chunk, as the pipeline's cancel does from another thread.
    engine.begin_utterance()
    got = 0
    for chunk in engine.stream("Hello there, this is the cloned voice.", ref):
        got += chunk.size
        engine.interrupt()
    report["barge_in_seconds"] = round(got / engine.sample_rate, 3)
    report["barge_in_cancelled"] = bool(engine.last_stats[-1].cancelled)
    engine.unload()
    report["xtts_s"] = round(time.perf_counter() - t0, 2)
    # coqui's own reference loader (torchaudio -> torchcodec -> FFmpeg DLLs, absent here, as on users' PCs): the
    # voice above was decoded by VoxTray, so this failing proves the clone does not depend on it.
    from TTS.tts.models.xtts import load_audio

    try:
        load_audio(str(voice), 22050)
        report["coqui_load_audio"] = "loaded"
    except Exception as exc:
        report["coqui_load_audio"] = f"{type(exc).__name__}: {str(exc).splitlines()[0]}"


def main() -> int:
    order, clip, voice, out = sys.argv[1], Path(sys.argv[2]), Path(sys.argv[3]), Path(sys.argv[4])
    report: dict[str, Any] = {"order": order}
    steps = [lambda: hear(clip, report), lambda: speak(voice, report)]
    for step in steps if order == "whisper-first" else reversed(steps):
        step()
    report["openmp"] = loaded_modules("libiomp5md")
    out.write_text(json.dumps(report, indent=2), encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
