"""ModelDownload: get XTTS v2 in the background, resumable, verified, cancellable, with throttled progress.

    dl = ModelDownload(settings, on_progress=callback)   # callback(DownloadProgress) from the worker thread
    dl.start(); ...; dl.cancel(); final = dl.join()

Steps: licence accepted? -> already installed? -> take the lock -> ask the server the sizes (HEAD) -> enough
disk space? -> each file into `.partial/` (resuming parts; a dropped connection is retried with backoff) ->
verify every file (size, hash.md5 vs model.pth, JSON; a bad file is fetched once more) -> rename into place.
"""

from __future__ import annotations

import logging
import shutil
import threading
import time
from collections.abc import Callable
from pathlib import Path

from daemon.download import store
from daemon.download.errors import Cancelled, DownloadError, NotFoundError, RefusedError, TransientError
from daemon.download.fetch import Fetcher, Remote, read_meta
from daemon.download.manifest import (
    CHECKPOINT,
    FILES,
    HASH_FILE,
    JSON_FILES,
    LICENSE_NAME,
    PINNED_MD5,
    ModelFile,
    file_url,
    how_to_get,
    human_bytes,
    is_default_source,
    license_accepted,
    source_url,
)
from daemon.download.progress import WHAT, DownloadProgress, RateMeter, State, downloading_message
from daemon.download.verify import digest_file, json_problem, read_md5, validate_folder
from daemon.fsio import replace
from daemon.settings import Settings

log = logging.getLogger(__name__)

SPACE_MARGIN_BYTES = 100_000_000  # kept free beyond the download itself
RETRY_DELAYS_S: tuple[float, ...] = (1.0, 3.0, 10.0, 30.0)  # after consecutive failures that brought nothing
PROGRESS_INTERVAL_S = 0.25  # at most ~4 callbacks a second while downloading (state changes always)

OnProgress = Callable[[DownloadProgress], None]


def refusal_message() -> str:
    return (f"The cloned voice (XTTS v2) is under the {LICENSE_NAME}, which has not been accepted yet: accept it "
            f"({how_to_get()}).")


def _same_file(meta: Remote, remote: Remote) -> bool:
    """Whether what the server says now matches what an earlier run recorded for the file."""
    if meta.size is not None and remote.size is not None and meta.size != remote.size:
        return False
    return meta.etag is None or remote.etag is None or meta.etag == remote.etag


class ModelDownload:
    """One download of XTTS v2 into VoxTray's model folder, run on a background thread."""

    def __init__(self, settings: Settings, on_progress: OnProgress | None = None) -> None:
        self._settings = settings
        self._on_progress = on_progress
        self._cancel = threading.Event()
        self._fetcher = Fetcher(self._cancel)
        self._thread: threading.Thread | None = None
        self._finished = threading.Event()  # set when the final state is out (not Thread.join: a Ctrl+C inside
        # Thread.join can leave the thread looking finished while it still runs)
        self._lock = threading.Lock()
        self._progress = DownloadProgress("checking", 0, None, None, f"Getting ready to download {WHAT}…")
        self._last_emit: float | None = None
        self._sizes: dict[str, int | None] = {f.name: None for f in FILES}
        self._have: dict[str, int] = {f.name: 0 for f in FILES}
        self._received = 0  # bytes that came over the network in this run
        self._meter = RateMeter()
        self._absent: set[str] = set()  # optional files the source does not have
        self._digests: dict[tuple[str, str, int, int], str] = {}  # (name, algorithm, size, mtime_ns) -> digest
        self.error: DownloadError | None = None  # why it failed, when it did

    # --- the public face ---
    def start(self) -> None:
        if self._thread is not None:
            raise RuntimeError("a ModelDownload runs once; make a new one to download again")
        self._thread = threading.Thread(target=self._run, name="model-download", daemon=True)
        self._thread.start()

    def cancel(self) -> None:
        """Stop soon (within about a second); the partial files stay for a later resume."""
        self._cancel.set()
        self._fetcher.abort()

    def join(self, timeout: float | None = None) -> DownloadProgress:
        """Wait until the download ends (or `timeout` seconds); the latest progress."""
        if self._thread is not None:
            self._finished.wait(timeout)
        return self.progress

    @property
    def running(self) -> bool:
        return self._thread is not None and not self._finished.is_set()

    @property
    def progress(self) -> DownloadProgress:
        with self._lock:
            return self._progress

    # --- progress ---
    def _done_total(self) -> tuple[int, int | None]:
        done = sum(self._have.values())
        sizes = list(self._sizes.values())
        return done, (sum(s for s in sizes if s is not None) if all(s is not None for s in sizes) else None)

    def _set(self, state: State, message: str, *, folder: Path | None = None, eta_s: float | None = None,
             force: bool = False) -> None:
        done, total = self._done_total()
        if state in ("verifying", "done") and total is not None:
            done = total
        now = time.monotonic()
        with self._lock:
            changed = force or state != self._progress.state or self._last_emit is None
            self._progress = DownloadProgress(state, done, total, eta_s, message, folder)
            if not changed and now - (self._last_emit or 0.0) < PROGRESS_INTERVAL_S:
                return
            self._last_emit = now
            progress = self._progress
        if self._on_progress is not None:
            try:
                self._on_progress(progress)
            except Exception:  # a broken listener must not stop the download
                log.exception("download progress callback failed")

    def _downloading(self, *, reconnecting: bool = False) -> None:
        """The progress line; while reconnecting it says so (always sent) and has no ETA: the rate measured
        before the connection dropped says nothing about when it comes back."""
        done, total = self._done_total()
        if reconnecting:
            self._set("downloading", downloading_message(done, total, None) + " (connection lost, reconnecting…)",
                      force=True)
            return
        eta = self._meter.eta(total - done if total is not None else None)
        self._set("downloading", downloading_message(done, total, eta), eta_s=eta)

    def _on_bytes(self, name: str, have: int) -> None:
        gained = have - self._have[name]
        if gained > 0:
            self._received += gained
        self._have[name] = have
        self._meter.add(self._received)
        self._downloading()

    # --- the work ---
    def _run(self) -> None:
        try:
            self._run_steps()
        finally:
            self._finished.set()

    def _run_steps(self) -> None:
        try:
            folder = self._work()
        except Cancelled:
            pct = self.progress.percent
            where = f" at {pct} %" if pct is not None and self.progress.state == "downloading" else ""
            self._set("cancelled", f"Download of {WHAT} paused{where}; what arrived is kept, and getting it "
                      "again resumes from there.")
        except DownloadError as exc:
            self.error = exc
            log.warning("XTTS download failed: %s", exc)
            self._set("failed", str(exc))
        except OSError as exc:  # our disk: a folder that cannot be written, a full disk
            self.error = DownloadError(str(exc))
            log.warning("XTTS download failed: %s", exc)
            where = str(exc.filename or store.partial_folder())
            self._set("failed", f"Could not save {WHAT} in {where}: {exc.strerror or exc}. Check that this folder "
                      "can be written and the disk has room, then try again (what arrived is kept).")
        except Exception as exc:  # a bug: logged whole, one line for the user
            self.error = DownloadError(str(exc))
            log.exception("XTTS download stopped by an unexpected error")
            self._set("failed", f"The download of {WHAT} stopped because of an unexpected error "
                      f"({type(exc).__name__}: {exc}); details are in the log. Try again.")
        else:
            done, total = self._done_total()
            size = human_bytes(total if total is not None else done)
            self._set("done", f"The cloned voice is ready ({size} in {folder}).", folder=folder)

    def _work(self) -> Path:
        if not license_accepted(self._settings):
            raise RefusedError(refusal_message())
        self._set("checking", f"Checking the download of {WHAT}…")
        target = store.model_folder()
        if not validate_folder(target):
            self._have = {name: (target / name).stat().st_size if (target / name).is_file() else 0
                          for name in self._have}
            self._sizes = {name: have for name, have in self._have.items()}
            return target
        with store.locked():
            partial = store.partial_folder()
            partial.mkdir(parents=True, exist_ok=True)
            log.info("downloading XTTS v2 from %s into %s", source_url(self._settings), partial)
            self._plan(partial)
            done, total = self._done_total()
            self._check_space(partial, (total or 0) - done)
            for item in FILES:
                self._download(item, partial)
            self._verify(partial)
            return store.install(partial)

    def _plan(self, partial: Path) -> None:
        """How big each file is (HEAD; estimates when the server does not say) and what is on disk already; a
        file finished in an earlier run that has changed on the server since is dropped (fetched anew)."""
        for item in FILES:
            self._check_cancel()
            final, part = partial / item.name, partial / f"{item.name}.part"
            meta = read_meta(partial / f"{item.name}.meta")
            try:
                remote = self._fetcher.head(file_url(self._settings, item.name))
            except NotFoundError:
                if not item.optional:
                    raise
                self._absent.add(item.name)
                self._sizes[item.name] = 0
                continue
            except DownloadError as exc:  # the GET will tell (a CDN may refuse HEAD); it retries, says what is wrong
                log.info("could not ask the size of %s (%s)", item.name, exc)
                remote = None
            same = meta is not None and (remote is None or _same_file(meta, remote))
            if final.is_file() and not same:
                log.info("%s changed on the server since it was downloaded: fetching it again", item.name)
                final.unlink()
            size = remote.size if remote is not None else (meta.size if meta is not None else None)
            self._sizes[item.name] = size if size is not None else (
                item.approx_bytes if is_default_source(self._settings) else None)
            on_disk = final if final.is_file() else part
            self._have[item.name] = on_disk.stat().st_size if on_disk.is_file() and same else 0

    def _check_cancel(self) -> None:
        if self._cancel.is_set():
            raise Cancelled()

    @staticmethod
    def _check_space(folder: Path, needed: int) -> None:
        free = shutil.disk_usage(folder).free
        if needed + SPACE_MARGIN_BYTES > free:
            raise DownloadError(
                f"Not enough disk space for {WHAT}: it needs {human_bytes(needed)} more in {folder.parent}, and "
                f"only {human_bytes(free)} is free there. Free at least "
                f"{human_bytes(needed + SPACE_MARGIN_BYTES - free)} on that disk and try again."
            )

    def _download(self, item: ModelFile, partial: Path) -> None:
        final, part = partial / item.name, partial / f"{item.name}.part"
        if final.is_file() or item.name in self._absent:
            return
        url = file_url(self._settings, item.name)

        def before_body(size: int | None, have: int) -> None:
            if size is not None:
                self._sizes[item.name] = size
            self._have[item.name] = have
            if size is not None:
                self._check_space(partial, size - have)

        failures = 0
        self._downloading()
        while True:
            before = self._have[item.name]
            try:
                remote = self._fetcher.fetch(url, part, on_bytes=lambda n: self._on_bytes(item.name, n),
                                             before_body=before_body)
                break
            except NotFoundError:
                if not item.optional:
                    raise
                self._absent.add(item.name)
                self._sizes[item.name] = self._have[item.name] = 0
                return
            except TransientError as exc:
                if self._have[item.name] > before:
                    failures = 0  # it moved on: a flaky line, not a dead one
                if failures >= len(RETRY_DELAYS_S):
                    raise DownloadError(
                        f"Could not download {WHAT}: {exc}. Check the internet connection and try again; what "
                        "arrived is kept and the download resumes where it stopped."
                    ) from None
                delay = RETRY_DELAYS_S[failures]
                failures += 1
                log.warning("%s; trying again in %.0f s (attempt %d)", exc, delay, failures + 1)
                self._downloading(reconnecting=True)
                if self._cancel.wait(delay):
                    raise Cancelled() from None
        self._sizes[item.name] = remote.size if remote.size is not None else part.stat().st_size
        replace(part, final, store.INSTALL_DELAYS_S)

    # --- verification ---
    def _problem(self, partial: Path) -> tuple[str, str] | None:
        """The first file that is not what it should be, and why; None when all are good."""
        for item in FILES:
            if item.name in self._absent:
                continue
            meta = read_meta(partial / f"{item.name}.meta")
            size = (partial / item.name).stat().st_size if (partial / item.name).is_file() else None
            if size is None:
                return item.name, "it is missing"
            if meta is not None and meta.size is not None and size != meta.size:
                return item.name, f"it has {size} bytes instead of {meta.size}"
        expected = read_md5(partial / HASH_FILE)
        if expected is None:
            return HASH_FILE, "it does not hold an md5 checksum"
        if is_default_source(self._settings) and expected != PINNED_MD5:
            return HASH_FILE, f"it says {expected}, not the known XTTS v2 version {PINNED_MD5}"
        for name in JSON_FILES:
            if problem := json_problem(partial / name):
                return name, problem
        for item in FILES:  # the SHA-256 the source published for a file (Hugging Face does for large ones)
            meta = read_meta(partial / f"{item.name}.meta")
            if item.name in self._absent or meta is None or meta.sha256 is None:
                continue
            got = self._digest(partial / item.name, "sha256")
            if got != meta.sha256:
                return item.name, f"its SHA-256 is {got}, but the server published {meta.sha256}"
        checkpoint_meta = read_meta(partial / f"{CHECKPOINT}.meta")
        if checkpoint_meta is None or checkpoint_meta.sha256 is None:
            # No published SHA-256 (a mirror): the checkpoint must match the md5 in hash.md5.
            got = self._digest(partial / CHECKPOINT, "md5")
            if got != expected:
                return CHECKPOINT, f"its md5 is {got}, but {HASH_FILE} says {expected}"
        return None

    def _digest(self, path: Path, algorithm: str) -> str:
        """A file's digest, remembered while the file is unchanged (a retry re-checks only what changed)."""
        st = path.stat()
        key = (path.name, algorithm, st.st_size, st.st_mtime_ns)
        if key not in self._digests:
            self._digests[key] = digest_file(path, algorithm, self._cancel)
        return self._digests[key]

    def _verify(self, partial: Path) -> None:
        """Every file checked; a bad one is deleted and fetched once more; twice bad fails, nothing installed."""
        retried: set[str] = set()
        while True:
            self._set("verifying", f"Checking {WHAT}…")
            bad = self._problem(partial)
            if bad is None:
                return
            name, why = bad
            if name in retried:
                raise DownloadError(
                    f"{name} from {source_url(self._settings)} is damaged or not the XTTS v2 file ({why}), twice "
                    "in a row, so nothing was installed. Try again later; if it keeps failing, check "
                    "xtts_download_url in the settings."
                )
            log.warning("%s did not verify (%s): downloading it again", name, why)
            retried.add(name)
            (partial / name).unlink(missing_ok=True)
            (partial / f"{name}.meta").unlink(missing_ok=True)
            self._have[name] = 0
            self._download(next(f for f in FILES if f.name == name), partial)
