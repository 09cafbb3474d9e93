"""The voice library: reference clips in `voices/` (list, find, check, import).

Import decodes any common format in-process (PyAV), mixes to mono 24000 Hz, trims silence, normalises the
level and writes `voices/<safe name>.wav` atomically (a hidden temp file renamed into place), so a failed
import never leaves a half-written voice behind. Latents live in `voices/.cache/` (the per-user cache folder when
installed, see daemon/paths.py).
"""

from __future__ import annotations

import builtins
import logging
import re
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from daemon import paths
from daemon.audio import resample, write_wav
from daemon.errors import EngineError, VoiceError
from daemon.fsio import atomic_write
from daemon.settings import Settings
from daemon.voices.check import FRAME_S, VoiceReport, analyse, check_file, frame_levels, speech_span
from daemon.voices.decoding import AUDIO_SUFFIXES, decode

log = logging.getLogger(__name__)

VOICE_RATE = 24000
TARGET_RMS_DB = -20.0
PEAK_LIMIT = 10 ** (-1.0 / 20.0)  # -1 dBFS
EDGE_PAD_S = 0.15
MAX_NAME = 40


@dataclass(frozen=True)
class VoiceRef:
    """A voice to speak with: a display name and, for cloning engines, the reference clip."""

    name: str
    path: Path | None = None


@dataclass(frozen=True)
class VoiceInfo:
    name: str
    path: Path
    note: str = ""

    def ref(self) -> VoiceRef:
        return VoiceRef(self.name, self.path)


WINDOWS_RESERVED = {"CON", "PRN", "AUX", "NUL", *(f"COM{i}" for i in range(1, 10)), *(f"LPT{i}" for i in range(1, 10))}


def safe_name(raw: str) -> str:
    """A file-name-safe voice name: letters of any script, digits, '-' and '_' (no path parts, no dots, nothing
    Windows forbids in a file name, not a reserved device name such as CON)."""
    base = unicodedata.normalize("NFC", re.split(r"[\\/]", raw.strip())[-1])
    base = re.sub(r"\.[A-Za-z0-9]{1,5}$", "", base)
    base = re.sub(r"[^\w-]+", "-", base).strip("-_.")[:MAX_NAME]
    if base.upper() in WINDOWS_RESERVED:
        base += "-voice"
    return base or "voice"


def prepare_samples(mono: np.ndarray, rate: int) -> np.ndarray:
    """Speech trimmed (keeping a little room), resampled to 24000 Hz and normalised to about -20 dBFS RMS."""
    span = speech_span(frame_levels(mono, rate))
    if span is None:
        raise VoiceError("the recording is silent; record 10-20 s of someone speaking.")
    frame = int(rate * FRAME_S)
    pad = int(rate * EDGE_PAD_S)
    mono = mono[max(0, span[0] * frame - pad) : min(mono.size, span[1] * frame + pad)]
    out = resample(mono.astype(np.float32), rate, VOICE_RATE)
    out = out - float(np.mean(out))  # remove DC offset
    rms = float(np.sqrt(np.mean(np.square(out, dtype=np.float64))))
    gain = 10 ** (TARGET_RMS_DB / 20.0) / rms if rms > 0 else 1.0
    peak = float(np.max(np.abs(out))) * gain
    if peak > PEAK_LIMIT:
        gain *= PEAK_LIMIT / peak
    return (out * gain).astype(np.float32)


class VoiceLibrary:
    """The reference clips in settings.voices_path."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.folder = settings.voices_path

    def list(self) -> list[VoiceInfo]:
        """Every audio file in the voices folder (hidden files and the cache excluded), by name."""
        if not self.folder.is_dir():
            return []
        files = [
            p
            for p in self.folder.iterdir()
            if p.is_file() and not p.name.startswith(".") and p.suffix.lower() in AUDIO_SUFFIXES
        ]
        return sorted((VoiceInfo(p.stem, p) for p in files), key=lambda v: v.name.lower())

    def names(self) -> builtins.list[str]:
        return [v.name for v in self.list()]

    def setting_value(self, ref: VoiceRef) -> str:
        """How settings.json names `ref`: relative to the project when inside it (portable), else absolute."""
        assert ref.path is not None
        try:
            return ref.path.resolve().relative_to(self.settings.base_dir()).as_posix()
        except ValueError:
            return str(ref.path)

    def find(self, name_or_path: str) -> VoiceRef:
        """A voice by name (case-insensitive) or by file path; VoiceError lists the known voices."""
        raw = str(name_or_path).strip()
        for v in self.list():
            if v.name.lower() == raw.lower() or v.path.name.lower() == raw.lower():
                return v.ref()
        p = Path(raw).expanduser()
        for candidate in (p, self.settings.resolve(raw)):
            if candidate.is_file():
                return VoiceRef(candidate.stem, candidate.resolve())
        known = ", ".join(self.names()) or "(none yet)"
        raise VoiceError(
            f"no voice '{raw}'. Known voices: {known}. "
            f"Add one with: {paths.command()} voices add FILE [--name NAME]"
        )

    def check(self, path: Path | str) -> VoiceReport:
        """Measure a recording and say whether it suits cloning (VoiceError if it is not audio)."""
        return check_file(Path(path))

    def add(
        self,
        path: Path | str,
        name: str | None = None,
        precompute: Callable[[VoiceRef], object] | None = None,
        force: bool = False,
    ) -> VoiceInfo:
        """Import a recording as voices/<name>.wav; refuses unusable ones (unless force) and existing names."""
        src = Path(path).expanduser()
        dec = decode(src)
        report = analyse(dec, src)
        if not report.ok and not force:
            raise VoiceError(f"{src.name} was not added: {report.problems()}.\n{report.summary()}")
        voice_name = safe_name(name if name else src.stem)
        target = self.folder / f"{voice_name}.wav"
        if target.resolve().parent != self.folder.resolve():  # belt and braces: never write outside voices/
            raise VoiceError(f"'{name}' is not a usable voice name; use letters, digits, '-' or '_'.")
        if any(v.name.lower() == voice_name.lower() for v in self.list()):
            raise VoiceError(
                f"a voice named '{voice_name}' already exists ({target}); choose another with --name NAME "
                "or delete the old file first."
            )
        samples = prepare_samples(dec.mono(), dec.rate)
        self.folder.mkdir(parents=True, exist_ok=True)
        atomic_write(target, lambda tmp: write_wav(tmp, samples, VOICE_RATE), mode=0o644)
        log.info("added voice %s from %s (%.1f s)", voice_name, src, samples.size / VOICE_RATE)
        note = ""
        if precompute is not None:
            try:
                precompute(VoiceRef(voice_name, target))
                note = "speaker latents precomputed"
            except (EngineError, VoiceError) as exc:
                note = f"latents not precomputed yet ({exc}); they are computed on first use"
                log.warning("voice %s: %s", voice_name, note)
        return VoiceInfo(voice_name, target, note)
