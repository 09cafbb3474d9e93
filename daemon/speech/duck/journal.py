"""What ducking lowered, on disk while it is lowered: a daemon that dies ducked restores it at its next start.

Written (atomically) BEFORE any volume is lowered and deleted once they were restored; each entry is the app's
identity, its volume before and the volume VoxTray set (an app not at that volume any more was changed by the
user and is left alone).
"""

from __future__ import annotations

import json
import logging
from dataclasses import asdict, dataclass
from pathlib import Path

from daemon.fsio import atomic_write_text
from daemon.speech.duck.base import Volumes

log = logging.getLogger(__name__)

FILE_NAME = "ducked.json"


@dataclass(frozen=True)
class Lowered:
    """One app stream VoxTray lowered."""

    key: str
    name: str
    original: Volumes
    lowered: Volumes


class Journal:
    """The file of what is lowered now (in the per-user data folder)."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def write(self, backend: str, entries: list[Lowered]) -> None:
        """Record `entries` before they are lowered (OSError when it cannot be written: then lower nothing)."""
        data = {"backend": backend, "lowered": [asdict(e) for e in entries]}
        atomic_write_text(self.path, json.dumps(data, indent=1) + "\n")

    def read(self, backend: str) -> list[Lowered]:
        """What a previous run left lowered on `backend` ([] when nothing; a broken file is logged and ignored)."""
        try:
            data = json.loads(self.path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            return []
        except (OSError, ValueError) as exc:
            log.warning("ignoring the ducking record %s: %s", self.path, exc)
            return []
        try:
            if data.get("backend") != backend:
                return []
            return [Lowered(str(e["key"]), str(e["name"]), tuple(float(v) for v in e["original"]),
                            tuple(float(v) for v in e["lowered"])) for e in data["lowered"]]
        except (AttributeError, KeyError, TypeError, ValueError) as exc:
            log.warning("ignoring the ducking record %s: %s", self.path, exc)
            return []

    def clear(self) -> None:
        try:
            self.path.unlink(missing_ok=True)
        except OSError as exc:
            log.warning("could not delete %s: %s", self.path, exc)
