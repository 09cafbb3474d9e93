"""Read aloud: the read hotkey and the tray's "Read aloud" take the selection (else the clipboard, and a
notification says so) and hand it to the assistant, which reads it through the answers' pipeline (cleanup,
streaming sentence by sentence, fail-over; the stop hotkey and a new question end it).

    reading = ReadAloud(live, assistant, tell=commands.message)
    reading.press()      # any thread, returns at once: the grab runs on the "read-aloud" worker
    reading.close()

The grab waits for the hotkey's keys to be let go and for the clipboard (Windows), or for the selection's
owner (X11), each bounded, so it never runs in a hotkey callback or on the tray's thread.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from typing import Protocol

from daemon.desktop.selection import Grab, SelectionError, selected_text
from daemon.live import SettingsField, SettingsSource
from daemon.settings import Settings
from daemon.worker import Worker

log = logging.getLogger(__name__)

NOTHING = "Nothing to read aloud: select some text (or copy it) first."
FROM_CLIPBOARD = "Nothing selected: reading the clipboard."


class Reader(Protocol):
    """What reading drives (daemon.assistant.Assistant)."""

    def read(self, text: str, *, max_chars: int, t_hotkey: float | None = None) -> None: ...
    def stop(self) -> None: ...


class ReadAloud:
    """Reads the selection aloud on demand; one grab at a time on its own worker (asleep until pressed)."""

    settings = SettingsField()

    def __init__(self, settings: Settings | SettingsSource, reader: Reader, *, tell: Callable[[str], None],
                 grab: Callable[[], Grab] = selected_text) -> None:
        self.settings = settings
        self.reader = reader
        self.tell = tell
        self.grab = grab
        self._pressed: float | None = None
        self._lock = threading.Lock()
        self._worker = Worker("read-aloud", self._step, retry_s=0.0)
        self._worker.start()

    def press(self, t: float | None = None) -> None:
        """Read the selection now (stops what is being said first); returns at once."""
        with self._lock:
            self._pressed = time.monotonic() if t is None else t
        self.reader.stop()
        self._worker.wake()

    def close(self) -> None:
        self._worker.stop()

    def _step(self) -> float | None:
        with self._lock:
            pressed, self._pressed = self._pressed, None
        if pressed is None:
            return None
        try:
            grab = self.grab()
        except SelectionError as exc:
            self.tell(f"Cannot read the selection: {exc}")
            return None
        if grab.empty:
            self.tell(NOTHING)
            return None
        if grab.source == "clipboard":
            self.tell(FROM_CLIPBOARD)
        log.info("reading the %s aloud (%d characters)", grab.source, len(grab.text))
        self.reader.read(grab.text, max_chars=self.settings.read_max_chars, t_hotkey=pressed)
        return None
