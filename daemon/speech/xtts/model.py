"""Find (daemon.download gets it), load and free the XTTS v2 model: one per process.

`acquire(settings, progress)` returns the shared `LoadedModel` for (model folder, device), loading it on the
first call only (thread-safe; concurrent callers wait for the one load). `release(model)` drops a user; the
last release deletes the model and empties the CUDA cache so the VRAM really goes back.
"""

from __future__ import annotations

import gc
import hashlib
import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from daemon import paths
from daemon.download import installed_folder, validate_folder
from daemon.download.manifest import REQUIRED_FILES, how_to_get
from daemon.errors import EngineError, EngineOutOfMemoryError, EngineUnavailableError
from daemon.settings import XTTS_MODEL_ID, Settings
from daemon.winruntime import explain_import_error

log = logging.getLogger(__name__)

Progress = Callable[[str, "float | None"], None]


@dataclass
class LoadedModel:
    """A loaded XTTS model and what the engine needs to know about it."""

    model: Any  # TTS.tts.models.xtts.Xtts
    folder: Path
    device: str
    identity: str  # changes when the model files change (keys the latent cache)
    load_s: float
    vram_used_mb: float | None
    lock: threading.RLock = field(default_factory=threading.RLock)  # one synthesis at a time
    users: int = 0
    warmed: bool = False  # the warm-up synthesis ran on this model


_registry: dict[tuple[str, str], LoadedModel] = {}
_registry_lock = threading.Lock()
_key_locks: dict[tuple[str, str], threading.Lock] = {}


def resolve_device(settings: Settings) -> str:
    """'cuda' or 'cpu' from settings.xtts_device / xtts_allow_cpu; EngineUnavailableError when not allowed."""
    import torch

    has_cuda = bool(torch.cuda.is_available())
    if settings.xtts_device == "cuda":
        if not has_cuda:
            raise EngineUnavailableError(
                "xtts_device is 'cuda' but PyTorch sees no CUDA GPU: install the CUDA build of torch "
                "(see the README), or set xtts_device to 'auto' with xtts_allow_cpu true."
            )
        return "cuda"
    if settings.xtts_device == "cpu":
        return "cpu"
    if has_cuda:
        return "cuda"
    if settings.xtts_allow_cpu:
        return "cpu"
    raise EngineUnavailableError(
        "XTTS needs a CUDA GPU and none is usable here (no CUDA GPU; set xtts_allow_cpu to true in settings.json "
        "to run it slowly on the CPU). Meanwhile the next voice in engine_order speaks."
    )


def resolve_folder(settings: Settings) -> Path:
    """The local model folder for settings.xtts_model_path: the user's folder, else the copy VoxTray downloaded
    (`python -m daemon model get`, or the tray). Nothing is downloaded here."""
    raw = settings.xtts_model_path.strip()
    folder = installed_folder(settings)
    if folder is not None:
        problems = validate_folder(folder)
        if problems:
            raise EngineUnavailableError(
                f"XTTS model folder {folder} is not usable ({'; '.join(problems)}): it needs "
                f"{', '.join(REQUIRED_FILES)} (as downloaded from the XTTS v2 model page), or set xtts_model_path "
                f"to '{XTTS_MODEL_ID}' to use the copy VoxTray downloads."
            )
        return folder
    if raw.startswith("tts_models/"):
        raise EngineUnavailableError(
            f"The cloned voice (XTTS v2, about 1.9 GB) is not downloaded yet: {how_to_get()}. Or set "
            "xtts_model_path to a folder "
            f"holding {', '.join(REQUIRED_FILES)}."
        )
    raise EngineUnavailableError(
        f"xtts_model_path '{raw}' is neither a folder that exists nor a coqui model id: set it to "
        f"'{XTTS_MODEL_ID}' (then get it with `{paths.command()} model get`) or to a folder with "
        f"{', '.join(REQUIRED_FILES)}."
    )


def model_identity(folder: Path) -> str:
    """A short id that changes when the model files change (config content, checkpoint size and time)."""
    h = hashlib.sha256((folder / "config.json").read_bytes())
    st = (folder / "model.pth").stat()
    h.update(f"{st.st_size}:{st.st_mtime_ns}".encode())
    return h.hexdigest()[:16]


def _load(folder: Path, device: str, progress: Progress | None) -> LoadedModel:
    import torch
    from TTS.tts.configs.xtts_config import XttsConfig
    from TTS.tts.models.xtts import Xtts

    if progress:
        progress(f"loading XTTS from {folder} on {device}", None)
    t0 = time.perf_counter()
    before = torch.cuda.memory_allocated() if device == "cuda" else 0
    try:
        config = XttsConfig()
        config.load_json(str(folder / "config.json"))
        model = Xtts(config)
        model.load_checkpoint(config, checkpoint_dir=str(folder), eval=True, use_deepspeed=False)
        model.to(device)
        model.eval()
    except torch.cuda.OutOfMemoryError:
        gc.collect()
        torch.cuda.empty_cache()
        raise EngineOutOfMemoryError(
            "not enough free GPU memory to load XTTS (about 2.5 GB needed): close other GPU programs "
            "(or let VoxTray unload Ollama) and try again."
        ) from None
    except (OSError, RuntimeError, KeyError, ValueError) as exc:
        raise EngineError(
            f"could not load XTTS from {folder}: {exc.__class__.__name__}: {str(exc)[:300]}. "
            "The files may be damaged or from another model: download the model again."
        ) from None
    vram = (torch.cuda.memory_allocated() - before) / 2**20 if device == "cuda" else None
    load_s = time.perf_counter() - t0
    log.info("XTTS loaded from %s on %s in %.1f s (VRAM %s MB)", folder, device, load_s, vram)
    return LoadedModel(model, folder, device, model_identity(folder), load_s, vram)


def acquire(settings: Settings, progress: Progress | None = None) -> LoadedModel:
    """The shared model for these settings, loading it once per process (thread-safe)."""
    try:
        import torch  # noqa: F401
        import TTS  # noqa: F401
    except (ImportError, OSError, RuntimeError) as exc:  # torchaudio/torchcodec: OSError (built for another
        # torch) or RuntimeError (torchcodec on Windows when FFmpeg's DLLs are missing)
        why = explain_import_error(exc)  # torch without msvcp140.dll: name the Redistributable
        raise EngineUnavailableError(
            f"XTTS cannot run: {why}" if why else f"XTTS cannot run: {exc}. Install the requirements (pip install "
            "-r requirements.txt; on Windows the CUDA torch first, see the README)."
        ) from None
    device = resolve_device(settings)
    folder = resolve_folder(settings)
    key = (str(folder.resolve()), device)
    with _registry_lock:
        key_lock = _key_locks.setdefault(key, threading.Lock())
    with key_lock:  # only one thread loads; the others wait here and then share it
        with _registry_lock:
            loaded = _registry.get(key)
        if loaded is None:
            loaded = _load(folder, device, progress)
            with _registry_lock:
                _registry[key] = loaded
        with _registry_lock:
            loaded.users += 1
        return loaded


def _free(loaded: LoadedModel) -> None:
    import torch

    with loaded.lock:
        loaded.model = None
    gc.collect()
    if loaded.device == "cuda" and torch.cuda.is_available():
        torch.cuda.empty_cache()
    log.info("XTTS unloaded (%s on %s)", loaded.folder, loaded.device)


def release(loaded: LoadedModel) -> None:
    """Drop one user; the last one frees the model (and its VRAM)."""
    key = (str(loaded.folder.resolve()), loaded.device)
    with _registry_lock:
        loaded.users = max(0, loaded.users - 1)
        if loaded.users or _registry.get(key) is not loaded:
            return
        del _registry[key]
    _free(loaded)


def unload_all() -> None:
    """Free every loaded model (process shutdown, tests)."""
    with _registry_lock:
        items = list(_registry.values())
        _registry.clear()
    for loaded in items:
        loaded.users = 0
        _free(loaded)


def loaded_models() -> list[LoadedModel]:
    with _registry_lock:
        return list(_registry.values())
