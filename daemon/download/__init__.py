"""VoxTray's own downloader for the XTTS v2 model: resumable, verified, cancellable, with progress.

    from daemon.download import ModelDownload, model_status
    dl = ModelDownload(settings, on_progress=print); dl.start(); dl.join()

Layers: `manifest` (what the files are, the licence), `fetch` (one file over HTTP with resume), `verify`
(checksums, a usable folder), `store` (where it lives: install, status, remove), `progress` (what the user
sees), `job` (ModelDownload ties them together on a background thread). Imports only the base modules.
"""

from __future__ import annotations

from daemon.download.errors import DownloadError, RefusedError
from daemon.download.job import ModelDownload, refusal_message
from daemon.download.manifest import (
    LICENSE_NAME,
    LICENSE_SUMMARY,
    LICENSE_URL,
    XTTS_APPROX_BYTES,
    human_bytes,
    license_accepted,
)
from daemon.download.progress import DownloadProgress
from daemon.download.store import ModelStatus, installed_folder, model_folder, model_status, remove_model
from daemon.download.verify import validate_folder

__all__ = [
    "LICENSE_NAME", "LICENSE_SUMMARY", "LICENSE_URL", "XTTS_APPROX_BYTES", "DownloadError", "DownloadProgress",
    "ModelDownload", "ModelStatus", "RefusedError", "human_bytes", "installed_folder", "license_accepted",
    "model_folder", "model_status", "refusal_message", "remove_model", "validate_folder",
]
