"""Find, download (licence accepted explicitly), load and free the XTTS v2 model: one per process.

`acquire(settings, progress)` returns the shared `LoadedModel` for (model folder, device), loading it on the
first call only (thread-safe; concurrent callers wait for the one load). `release(model)` drops a user; the
last release deletes the model and empties the CUDA cache so the VRAM really goes back.
"""

from __future__ import annotations

import gc
import hashlib
import logging
import os
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from daemon.errors import EngineError, EngineOutOfMemoryError, EngineUnavailableError
from daemon.settings import XTTS_MODEL_ID, Settings

log = logging.getLogger(__name__)

Progress = Callable[[str, "float | None"], None]
REQUIRED_FILES = ("config.json", "model.pth", "vocab.json")
LICENSE_URL = "https://coqui.ai/cpml"


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
_download_lock = threading.Lock()  # one download at a time, however many engines ask


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


def license_accepted(settings: Settings) -> bool:
    return settings.xtts_license_accepted or os.environ.get("COQUI_TOS_AGREED") == "1"


def _download(model_id: str, settings: Settings, progress: Progress | None) -> Path:
    """Download a coqui model id through coqui's ModelManager (progress bars on stderr)."""
    if not license_accepted(settings):
        raise EngineUnavailableError(
            f"XTTS v2 is licensed under the Coqui Public Model License ({LICENSE_URL}), non-commercial use only. "
            "To accept it and download the model (about 1.9 GB), set \"xtts_license_accepted\": true in "
            "settings.json (or COQUI_TOS_AGREED=1), or point xtts_model_path at a local model folder."
        )
    from TTS.utils.manage import ModelManager

    manager = ModelManager(progress_bar=True)
    try:
        item, full_name, _ = manager._set_model_item(model_id)
    except (KeyError, ValueError):
        raise EngineUnavailableError(
            f"xtts_model_path '{model_id}' is not a coqui model id nor an existing folder. "
            f"Use '{XTTS_MODEL_ID}' or the path of a folder with {', '.join(REQUIRED_FILES)}."
        ) from None
    if item.get("tos_required"):  # record the acceptance the user gave in settings, as coqui's prompt would
        tos_dir = Path(manager.output_prefix) / full_name
        tos_dir.mkdir(parents=True, exist_ok=True)
        (tos_dir / "tos_agreed.txt").write_text("Accepted in VoxTray settings (xtts_license_accepted).\n")
    if progress:
        progress(f"downloading {model_id} (first use, about 1.9 GB; progress on the console)", None)
    log.info("fetching XTTS model %s (downloads on first use)", model_id)
    try:
        model_path, _config, _item = manager.download_model(model_id)
    except Exception as exc:  # network / hub errors come in many types
        raise EngineUnavailableError(
            f"could not download {model_id}: {exc.__class__.__name__}: {str(exc)[:200]}. Connect to the internet "
            "once (the model is cached afterwards), or set xtts_model_path to a downloaded model folder."
        ) from None
    folder = Path(model_path)
    return folder if folder.is_dir() else folder.parent


def resolve_folder(settings: Settings, progress: Progress | None = None) -> Path:
    """The local model folder for settings.xtts_model_path (downloading a coqui model id on first use)."""
    raw = settings.xtts_model_path.strip()
    local = settings.resolve(raw)
    if local.is_dir():
        missing = [f for f in REQUIRED_FILES if not (local / f).is_file()]
        if missing:
            raise EngineUnavailableError(
                f"XTTS model folder {local} lacks {', '.join(missing)}: it needs {', '.join(REQUIRED_FILES)} "
                "(as downloaded from the XTTS v2 model page), or set xtts_model_path to the coqui model id."
            )
        return local
    if raw.startswith("tts_models/"):
        with _download_lock:
            return _download(raw, settings, progress)
    raise EngineUnavailableError(
        f"xtts_model_path '{raw}' is neither a folder that exists nor a coqui model id: set it to "
        f"'{XTTS_MODEL_ID}' (downloaded on first use) or to a folder with {', '.join(REQUIRED_FILES)}."
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
        raise EngineUnavailableError(
            f"XTTS cannot run: {exc}. Install the requirements (pip install -r requirements.txt; "
            "on Windows the CUDA torch first, see the README)."
        ) from None
    device = resolve_device(settings)
    folder = resolve_folder(settings, progress)
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
