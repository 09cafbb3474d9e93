"""Lowers other apps while VoxTray speaks and puts them back exactly afterwards, on its own worker thread.

The Status bus says when speech starts and ends (activity SPEAKING: from an utterance's first sentence until
its last sample was played); the listener only notes it and wakes the worker, so speech never waits for the
sound system. Volumes come back HOLD_S after the end (the next answer within it keeps them down: no pumping),
only where the app still has the volume VoxTray set; a record on disk lets the next start restore them after a
crash (journal.py). Sound system unreachable: one log line per reason, and speech goes on undisturbed.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable

from daemon.live import SettingsField, SettingsSource
from daemon.settings import Settings
from daemon.speech.duck.base import DuckBackend, DuckUnavailable, same
from daemon.speech.duck.journal import Journal, Lowered
from daemon.status import Activity, Status, StatusBus
from daemon.worker import Worker

log = logging.getLogger(__name__)

HOLD_S = 1.0  # quiet this long after speech before the others come back


class Ducker:
    """Follows the Status bus's activity; `start()` restores what a crashed run left lowered, `close()` restores."""

    settings = SettingsField()

    def __init__(self, settings: Settings | SettingsSource, status: StatusBus, journal: Journal,
                 backend: Callable[[], DuckBackend], *, hold_s: float = HOLD_S) -> None:
        self.settings = settings
        self.status = status
        self.journal = journal
        self.hold_s = hold_s
        self._make_backend = backend
        self._backend: DuckBackend | None = None
        self._lock = threading.Lock()  # one duck/restore at a time (worker vs close)
        self._speaking = False
        self._quiet_since = 0.0
        self._lowered: list[Lowered] | None = None  # None: nothing ducked now
        self._recover = True
        self._warned: set[str] = set()
        self._unsubscribe: Callable[[], None] | None = None
        self._worker = Worker("ducking", self._step, retry_s=5.0)

    def start(self) -> None:
        self._unsubscribe = self.status.subscribe(self._changed)
        self._changed(Status(), self.status.current)
        self._worker.start()
        self._worker.wake()

    def close(self) -> None:
        """Stop following speech and put back what is lowered now."""
        if self._unsubscribe is not None:
            self._unsubscribe()
        self._worker.stop()
        with self._lock:
            self._restore()

    def _changed(self, old: Status, new: Status) -> None:
        speaking = new.activity is Activity.SPEAKING and not getattr(new, "speech_paused", False)  # paused: back up
        if speaking != self._speaking:
            self._speaking = speaking
            self._quiet_since = time.monotonic()
            self._worker.wake()

    def _step(self) -> float | None:
        with self._lock:
            if self._recover:
                self._recover = False
                self._restore_previous_run()
            if self._speaking and self.settings.duck_others:
                if self._lowered is None:
                    self._duck()
                return None
            if self._lowered is not None:
                wait = self._quiet_since + self.hold_s - time.monotonic()
                if wait > 0 and self.settings.duck_others:
                    return wait
                self._restore()
        return None

    def _get_backend(self) -> DuckBackend | None:
        if self._backend is None:
            try:
                self._backend = self._make_backend()
            except DuckUnavailable as exc:
                self._warn(str(exc))
        return self._backend

    def _warn(self, reason: str) -> None:
        if reason not in self._warned:
            self._warned.add(reason)
            log.warning("other apps are not lowered while speaking: %s", reason)

    def _duck(self) -> None:
        backend = self._get_backend()
        if backend is None:
            return
        level = self.settings.duck_level
        try:
            streams = backend.streams()
        except DuckUnavailable as exc:
            self._warn(str(exc))
            return
        lowered = [Lowered(s.key, s.name, s.volumes, backend.scaled(s.volumes, level)) for s in streams]
        lowered = [e for e in lowered if not same(e.original, e.lowered, backend.tolerance)]
        try:
            self.journal.write(backend.name, lowered)  # before anything is lowered: a crash can put it back
        except OSError as exc:
            self._warn(f"the record of lowered apps cannot be written ({exc})")
            return
        self._lowered = lowered
        for e in lowered:
            try:
                backend.set_volumes(e.key, e.lowered)
            except DuckUnavailable as exc:
                log.info("could not lower %s: %s", e.name, exc)
        if lowered:
            log.info("lowered %d other app stream(s) to %d %%", len(lowered), round(level * 100))

    def _restore(self) -> None:
        lowered, self._lowered = self._lowered, None
        if lowered is not None and self._backend is not None:
            self._put_back(self._backend, lowered)

    def _restore_previous_run(self) -> None:
        backend = self._get_backend()
        if backend is not None and self.journal.path.exists():
            entries = self.journal.read(backend.name)
            if entries:
                log.info("restoring %d app volume(s) a previous run left lowered", len(entries))
            self._put_back(backend, entries)

    def _put_back(self, backend: DuckBackend, lowered: list[Lowered]) -> None:
        """Each app still at the volume VoxTray set gets its own volume back; the record goes once done."""
        if lowered:
            try:
                now = {s.key: s.volumes for s in backend.streams()}
            except DuckUnavailable as exc:
                self._warn(str(exc))
                return  # the record stays: the next start tries again
            for e in lowered:
                current = now.get(e.key)
                if current is None:
                    log.debug("%s has gone; nothing to restore", e.name)
                elif not same(current, e.lowered, backend.tolerance):
                    log.info("%s's volume was changed while lowered: left as it is", e.name)
                else:
                    try:
                        backend.set_volumes(e.key, e.original)
                    except DuckUnavailable as exc:
                        log.info("could not restore %s: %s", e.name, exc)
        self.journal.clear()
