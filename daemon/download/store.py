"""Where the XTTS v2 model lives on disk: the installed folder, the `.partial` folder beside it, status, removal.

    <models_dir>/xtts_v2/           the installed model (only ever a verified, complete folder)
    <models_dir>/xtts_v2.partial/   a download in progress: <name>.part, <name>.meta, finished files
    <models_dir>/xtts_v2.lock       held while a download or a removal runs (across processes)

The finished `.partial` folder is renamed to `xtts_v2` in one step, so XTTS never sees half a download.
"""

from __future__ import annotations

import contextlib
import logging
import shutil
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from daemon import paths
from daemon.download.errors import DownloadError
from daemon.download.fetch import read_meta
from daemon.download.manifest import FILES, FOLDER_NAME, TOS_FILE, is_default_source, license_accepted, source_url
from daemon.download.verify import validate_folder
from daemon.fsio import RETRY_DELAYS_S, file_lock, replace
from daemon.settings import XTTS_MODEL_ID, Settings

log = logging.getLogger(__name__)

# Windows refuses to rename a file, or a folder holding it, while another program has it open (Defender scans a
# fresh 1.9 GB model.pth for a while): the download's renames wait up to about 35 s for that, not a settings
# file's 5 s.
INSTALL_DELAYS_S = (*RETRY_DELAYS_S, *(3.0,) * 10)
HUB_REPO = "tts-hub/XTTS-v2"  # where coqui-tts >= 0.25 downloads xtts_v2 (the Hugging Face cache)


@dataclass(frozen=True)
class ModelStatus:
    present: bool  # a usable model folder is there (installed_folder)
    folder: Path  # where it is, or where a download will put it
    partial_bytes: int  # bytes of an unfinished download, kept for a resume
    total_bytes: int | None  # the model's size: on disk when present, else the download's (estimated)
    license_accepted: bool
    source: str  # the base URL the files come from


def model_folder() -> Path:
    """Where VoxTray installs the downloaded model."""
    return paths.models_dir() / FOLDER_NAME


def partial_folder() -> Path:
    return paths.models_dir() / f"{FOLDER_NAME}.partial"


@contextlib.contextmanager
def locked(timeout: float = 0.5) -> Iterator[None]:
    """Hold the model's lock: one download (or removal) at a time, in any process."""
    try:
        with file_lock(model_folder(), timeout=timeout):
            yield
    except TimeoutError:
        raise DownloadError("the cloned voice is already being downloaded (by the tray or another `model get`): "
                           "wait for it to finish, or cancel it there first.") from None


def _hub_snapshot() -> Path | None:
    """An xtts_v2 that coqui-tts itself downloaded into the Hugging Face cache (no network)."""
    try:
        import huggingface_hub

        return Path(huggingface_hub.snapshot_download(HUB_REPO, local_files_only=True))
    except Exception:  # not cached, no huggingface_hub, a broken cache: not there
        return None


def _is_model_id(raw: str) -> bool:
    return raw.startswith("tts_models/")


def installed_folder(settings: Settings) -> Path | None:
    """The folder XTTS should load: xtts_model_path when it is a folder (the user's choice, used as it is);
    for the model id, VoxTray's own download, else a copy coqui-tts downloaded earlier; else None."""
    raw = settings.xtts_model_path.strip()
    local = settings.resolve(raw)
    if local.is_dir():
        return local
    if not _is_model_id(raw):
        return None
    candidates: list[Path | None] = [model_folder()] if raw == XTTS_MODEL_ID else []
    candidates.append(paths.coqui_model_dir(raw))
    for folder in candidates:
        if folder is not None and not validate_folder(folder):
            return folder
    if raw == XTTS_MODEL_ID and (hub := _hub_snapshot()) is not None and not validate_folder(hub):
        return hub
    return None


def _size(path: Path) -> int:
    if path.is_file():
        return path.stat().st_size
    if path.is_dir():
        return sum(p.stat().st_size for p in path.rglob("*") if p.is_file())  # a cache's links count as files
    return 0


def partial_bytes() -> int:
    """Bytes of an unfinished download (parts and files already complete)."""
    folder = partial_folder()
    if not folder.is_dir():
        return 0
    return sum(p.stat().st_size for p in folder.iterdir() if p.is_file() and p.suffix != ".meta")


def estimated_total(settings: Settings) -> int | None:
    """The download's size: what the server said for each file so far, the default source's sizes otherwise."""
    total = 0
    for item in FILES:
        meta = read_meta(partial_folder() / f"{item.name}.meta")
        if meta is not None and meta.size is not None:
            total += meta.size
        elif is_default_source(settings):
            total += item.approx_bytes
        else:
            return None
    return total


def model_status(settings: Settings) -> ModelStatus:
    folder = installed_folder(settings)
    present = folder is not None and not validate_folder(folder)
    if present and folder is not None:
        total: int | None = _size(folder)
    else:
        total = estimated_total(settings)
    return ModelStatus(
        present=present,
        folder=folder if present and folder is not None else model_folder(),
        partial_bytes=partial_bytes(),
        total_bytes=total,
        license_accepted=license_accepted(settings),
        source=source_url(settings),
    )


def _rmtree(path: Path) -> int:
    freed = _size(path)
    if path.is_dir() and not path.is_symlink():
        shutil.rmtree(path)
    elif path.exists() or path.is_symlink():
        path.unlink()
    return freed


def remove_model(settings: Settings) -> int:
    """Delete VoxTray's downloaded copy and any partial download; the bytes freed. A folder the user chose
    (xtts_model_path) and coqui's own caches are never touched. DownloadError while a download runs."""
    del settings  # the places are VoxTray's own, whatever the settings say
    with locked():
        freed = _rmtree(model_folder()) + _rmtree(partial_folder())
        for leftover in paths.models_dir().glob(f".{FOLDER_NAME}.old-*"):
            freed += _rmtree(leftover)
    if freed:
        log.info("removed the downloaded XTTS model (%d bytes freed)", freed)
    return freed


def install(done: Path) -> Path:
    """Move a complete, verified download folder into place in one rename; the installed folder. The `.meta`
    files go only once it is in place: a rename that fails (a file still held open on Windows) leaves the
    download whole, and the next try installs it without fetching anything again."""
    (done / TOS_FILE).write_text(
        "I have read, understood and agreed to the Terms and Conditions. (Accepted in VoxTray.)\n", encoding="utf-8"
    )
    target = model_folder()
    old = None
    if target.exists():  # a broken earlier copy: out of the way first, deleted after the swap
        old = target.with_name(f".{FOLDER_NAME}.old-{done.stat().st_ino}")
        replace(target, old, INSTALL_DELAYS_S)
    replace(done, target, INSTALL_DELAYS_S)
    for extra in target.glob("*.meta"):
        extra.unlink()
    if old is not None:
        _rmtree(old)
    log.info("XTTS model installed in %s", target)
    return target
