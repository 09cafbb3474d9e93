"""Getting the cloned voice's model in a running daemon: say when it is missing, accept + download in the
background with progress on the Status bus, or use a folder the user picked; when it is there, load XTTS.

No GUI here: the tray asks the questions (desktop/dialogs.py) and calls these verbs; the CLI has `model get`.
"""

from __future__ import annotations

import logging
import shutil
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

from daemon.download import (
    LICENSE_NAME,
    LICENSE_SUMMARY,
    LICENSE_URL,
    XTTS_APPROX_BYTES,
    DownloadProgress,
    ModelDownload,
    installed_folder,
    model_status,
    validate_folder,
)
from daemon.download.manifest import GET_MODEL, how_to_get
from daemon.errors import SettingsError
from daemon.live import LiveSettings
from daemon.settings import Settings
from daemon.status import SETUP_DOWNLOADING, SETUP_FAILED, SETUP_NEEDED, StatusBus

log = logging.getLogger(__name__)


def offer_facts(settings: Settings) -> dict[str, Any]:
    """What the first-run dialog says: size, where it is stored and the space free there, the licence."""
    folder = model_status(settings).folder
    probe = folder
    while not probe.exists() and probe.parent != probe:
        probe = probe.parent
    try:
        free = f"{shutil.disk_usage(probe).free / 1e9:.0f} GB free there"
    except OSError:
        free = "free space unknown"
    return {"size_text": f"about {XTTS_APPROX_BYTES / 1e9:.1f} GB", "folder": folder, "free_text": free,
            "license_name": LICENSE_NAME, "license_url": LICENSE_URL, "license_summary": LICENSE_SUMMARY}


class ModelSetup:
    """One per daemon. `check()` at start; `accept_and_download()`, `use_folder()`, `cancel()` from the tray."""

    def __init__(
        self,
        settings: LiveSettings,
        status: StatusBus,
        on_ready: Callable[[], None],
        tell: Callable[[str], None],
    ) -> None:
        self._settings = settings
        self._status = status
        self._on_ready = on_ready
        self._tell = tell
        self._lock = threading.Lock()
        self._download: ModelDownload | None = None
        self._closing = False

    def check(self) -> None:
        """At start: nothing to do, or download at once (licence already accepted), or say what is needed."""
        s = self._settings()
        if not s.use_local_cloning or installed_folder(s) is not None:
            return
        if s.xtts_license_accepted:
            self.start_download()
            return
        self._status.update(model_setup=SETUP_NEEDED, setup_note="The cloned voice needs a one-time download")
        log.info("the cloned voice needs the XTTS v2 model (a one-time download): %s", how_to_get())
        # the tray's notifier turns model_setup "needed" into the welcome (desktop/notify.py)

    def busy(self) -> bool:
        """True while the model is missing or downloading (XTTS cannot load yet)."""
        return bool(self._status.current.model_setup)

    def accept_and_download(self) -> None:
        """The user accepted the licence in the dialog: save that, then download."""
        self._settings.update(xtts_license_accepted=True)
        log.info("XTTS v2 licence accepted in the tray dialog")
        self.start_download()

    def use_folder(self, folder: Path) -> None:
        """Use an already-downloaded model folder (validated first; a bad one is one clear SettingsError)."""
        problems = validate_folder(folder)
        if problems:
            raise SettingsError(f"{folder} is not an XTTS v2 model folder: {'; '.join(problems)}.")
        self.cancel()
        self._settings.update(xtts_model_path=str(folder))
        self._status.update(model_setup="", setup_note="")
        self._tell(f"Using the XTTS model in {folder}; loading the cloned voice…")
        self._on_ready()

    def start_download(self) -> None:
        """Start (or resume) the download in the background; progress goes to the Status bus."""
        with self._lock:
            if self._download is not None and self._download.running:
                return
            self._status.update(model_setup=SETUP_DOWNLOADING, setup_note="Downloading the cloned voice…")
            self._download = ModelDownload(self._settings(), on_progress=self._progress)
            self._download.start()

    def cancel(self) -> None:
        """Stop the download (the part downloaded so far is kept for a resume)."""
        with self._lock:
            download = self._download
        if download is not None and download.running:
            download.cancel()
            download.join(timeout=5)

    def close(self) -> None:
        """The daemon is quitting: stop the download without telling the user it "paused"."""
        self._closing = True
        self.cancel()

    def _progress(self, p: DownloadProgress) -> None:
        if p.state == "done":
            self._status.update(model_setup="", setup_note="", setup_percent=None)
            self._tell("The cloned voice is downloaded; loading it…")
            self._on_ready()
        elif p.state == "failed":
            self._status.update(model_setup=SETUP_FAILED, setup_note=p.message)
            self._tell(p.message)
        elif p.state == "cancelled" and self._closing:
            log.info("download of the cloned voice paused at quit; it resumes at the next start or from the menu")
        elif p.state == "cancelled":
            self._status.update(model_setup=SETUP_NEEDED, setup_note="Download paused; it resumes where it stopped")
            self._tell(f"Download of the cloned voice paused. {GET_MODEL}… resumes it where it stopped.")
        else:
            self._status.update(model_setup=SETUP_DOWNLOADING, setup_note=p.message, setup_percent=p.percent,
                                setup_eta_s=p.eta_s)
