"""XTTS speaker conditioning latents: computed once per voice, cached in memory and on disk.

The disk cache lives in `voices/.cache/` (in the per-user cache folder when installed: paths.voices_cache_dir),
one file per (reference content hash, model identity), holding only tensors and strings so it loads with
`torch.load(weights_only=True)`. A changed reference file has a new hash, so its old latents are never used.
References are decoded here (PyAV + soxr), never with torchaudio.load.
"""

from __future__ import annotations

import hashlib
import logging
import re
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from daemon import paths
from daemon.errors import EngineError, EngineOutOfMemoryError, VoiceError
from daemon.fsio import atomic_write
from daemon.voices.decoding import load_mono

log = logging.getLogger(__name__)

GPT_RATE = 22050
SPEAKER_RATE = 16000
MIN_REF_S = 1.0


@dataclass(frozen=True)
class Latents:
    gpt_cond_latent: Any  # torch.Tensor [1, T, dim], fp32, on the CPU
    speaker_embedding: Any  # torch.Tensor [1, 512, 1], fp32, on the CPU
    source: str  # "computed" | "disk" | "memory"
    seconds: float  # time it took to get them


def file_hash(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()[:20]


def compute(model: Any, path: Path) -> tuple[Any, Any]:
    """Conditioning latents of one reference file through the model's own encoders."""
    import torch

    cfg = model.config
    max_ref_s = float(getattr(cfg, "max_ref_len", 30) or 30)
    audio = load_mono(path, GPT_RATE, max_seconds=max_ref_s)
    if audio.size < GPT_RATE * MIN_REF_S:
        raise VoiceError(f"{path}: the reference is shorter than {MIN_REF_S:.0f} s; use 10-20 s of clear speech.")
    peak = float(np.max(np.abs(audio))) or 1.0
    if getattr(cfg, "sound_norm_refs", False):
        audio = audio / peak * 0.75
    device = model.device
    wav = torch.from_numpy(np.ascontiguousarray(audio, dtype=np.float32))[None, :]
    wav16 = torch.from_numpy(load_mono_from_array(audio, GPT_RATE, SPEAKER_RATE))[None, :]
    try:
        with torch.inference_mode():
            gpt = model.get_gpt_cond_latents(
                wav.to(device), GPT_RATE, length=int(cfg.gpt_cond_len), chunk_length=int(cfg.gpt_cond_chunk_len)
            )
            spk = model.get_speaker_embedding(wav16.to(device), SPEAKER_RATE)
    except torch.cuda.OutOfMemoryError:
        torch.cuda.empty_cache()
        raise EngineOutOfMemoryError("GPU memory ran out reading the voice sample; free VRAM and retry.") from None
    except RuntimeError as exc:
        raise EngineError(f"XTTS could not read the voice sample {path}: {exc}") from None
    return gpt.detach().float().cpu().clone(), spk.detach().float().cpu().clone()


def load_mono_from_array(audio: np.ndarray, src: int, dst: int) -> np.ndarray:
    from daemon.audio import resample

    return np.ascontiguousarray(resample(audio, src, dst), dtype=np.float32)


def _safe_stem(path: Path) -> str:
    return re.sub(r"[^A-Za-z0-9_-]+", "_", path.stem)[:40] or "voice"


class LatentCache:
    """Latents per (reference file content, model identity): memory first, then `cache_dir`, then compute."""

    def __init__(self, cache_dir: Path) -> None:
        self.cache_dir = Path(cache_dir)
        self._memory: dict[tuple[str, str], tuple[Any, Any]] = {}
        self._lock = threading.Lock()

    def cache_file(self, path: Path, digest: str, identity: str) -> Path:
        return self.cache_dir / f"{_safe_stem(path)}-{digest}-{identity}.pt"

    def get(self, model: Any, identity: str, path: Path) -> Latents:
        """Latents for `path` (VoiceError when missing/unreadable)."""
        import torch

        t0 = time.perf_counter()
        path = Path(path)
        if not path.is_file():
            raise VoiceError(
                f"voice sample {path} does not exist: pick a voice from voices/ or add one "
                f"with '{paths.command()} voices add FILE'."
            )
        digest = file_hash(path)
        key = (digest, identity)
        with self._lock:
            hit = self._memory.get(key)
        if hit is not None:
            return Latents(hit[0], hit[1], "memory", time.perf_counter() - t0)
        target = self.cache_file(path, digest, identity)
        if target.is_file():
            try:
                data = torch.load(target, map_location="cpu", weights_only=True)
                pair = (data["gpt_cond_latent"], data["speaker_embedding"])
                with self._lock:
                    self._memory[key] = pair
                return Latents(pair[0], pair[1], "disk", time.perf_counter() - t0)
            except Exception as exc:  # a damaged cache file is recomputed, never fatal
                log.warning("ignoring unreadable latent cache %s: %s", target, exc)
        gpt, spk = compute(model, path)
        with self._lock:
            self._memory[key] = (gpt, spk)
        self._write(target, {"gpt_cond_latent": gpt, "speaker_embedding": spk, "reference": path.name})
        self._prune(path, target, identity)
        seconds = time.perf_counter() - t0
        log.info("computed XTTS latents for %s in %.2f s", path.name, seconds)
        return Latents(gpt, spk, "computed", seconds)

    def _write(self, target: Path, data: dict[str, Any]) -> None:
        import torch

        try:
            self.cache_dir.mkdir(parents=True, exist_ok=True)
            atomic_write(target, lambda tmp: torch.save(data, tmp))
        except OSError as exc:  # a read-only voices folder only costs the cache
            log.warning("cannot write latent cache %s: %s", target, exc)

    def _prune(self, path: Path, keep: Path, identity: str) -> None:
        """Remove stale cache files of the same reference and model (an edited file leaves old latents)."""
        for old in self.cache_dir.glob(f"{_safe_stem(path)}-*-{identity}.pt"):
            if old != keep and re.fullmatch(rf"{re.escape(_safe_stem(path))}-[0-9a-f]{{20}}-{identity}\.pt", old.name):
                try:
                    old.unlink()
                except OSError:
                    pass
