"""The last answers, kept: what "Show the last answer" shows, after a restart too.

    answers = AnswerLog(lambda: settings().answers_kept)       # answers.json in the per-user data folder
    answers.record("Why is the sky blue?", "Because ...")      # any thread; returns at once (saved on its own thread)
    answers.last()                                             # the newest Answer (or reading), or None

The file keeps the last `answers_kept` questions with their answers and times (the question and the answer only:
never a token, address or setting), is written atomically (daemon/fsio.py) off the caller's thread, and is read
back on first use. A file that cannot be read is logged once, kept aside as answers.json.broken, and the log starts
afresh. Texts read aloud (the selection, the clipboard) are kept in memory only: they can be anything the user
selected or copied, so they never reach the disk.
"""

from __future__ import annotations

import json
import logging
import threading
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path

from daemon import paths
from daemon.fsio import atomic_write_text, replace

log = logging.getLogger(__name__)

FILE_NAME = "answers.json"
VERSION = 1
MAX_CHARS = 200_000  # of one text kept (an answer is bounded by llm_max_answer_chars before this)


@dataclass(frozen=True)
class Answer:
    """One question and its answer as the LLM wrote it (or a text read aloud, `reading`)."""

    question: str
    text: str
    time: float  # seconds since the epoch
    reading: bool = False
    cancelled: bool = False  # stopped before its end
    truncated: bool = False  # longer than speak_max_chars / read_max_chars: the rest was not read

    @classmethod
    def from_json(cls, data: object) -> Answer:
        if not isinstance(data, dict):
            raise ValueError("an entry is not an object")
        question, text, when = data["question"], data["text"], data["time"]
        if not isinstance(question, str) or not isinstance(text, str) or not isinstance(when, (int, float)):
            raise ValueError("an entry has a wrong type")
        return cls(question, text, float(when), cancelled=bool(data.get("cancelled")),
                   truncated=bool(data.get("truncated")))


def default_path() -> Path:
    return paths.data_dir() / FILE_NAME


class AnswerLog:
    """The last answers in memory and in `path`; every method is thread-safe and quick."""

    def __init__(self, keep: Callable[[], int], path: Path | None = None) -> None:
        self._keep = keep
        self.path = path or default_path()
        self._lock = threading.Lock()
        self._entries: list[Answer] | None = None  # read from the file on first use
        self._reading: Answer | None = None
        self._writer: threading.Thread | None = None
        self._dirty = False

    def record(self, question: str, text: str, *, reading: bool = False, cancelled: bool = False,
               truncated: bool = False) -> None:
        """Keep an answer (saved soon, on a thread of its own) or a reading (in memory only)."""
        if not text.strip():
            return
        entry = Answer(question[:MAX_CHARS], text[:MAX_CHARS], time.time(), reading, cancelled,
                       truncated or len(text) > MAX_CHARS)
        with self._lock:
            if reading:
                self._reading = entry
                return
            entries = [*self._loaded(), entry]
            self._entries = entries[-max(1, self._kept()):]  # the last one stays shown even when none are kept
            self._dirty = True
            if self._writer is None:
                self._writer = threading.Thread(target=self._write, name="answer-log", daemon=True)
                self._writer.start()

    def last(self) -> Answer | None:
        """The newest answer or reading, or None before the first."""
        with self._lock:
            entries = self._loaded()
            newest = entries[-1] if entries else None
            reading = self._reading
        if reading is not None and (newest is None or reading.time >= newest.time):
            return reading
        return newest

    def answers(self) -> list[Answer]:
        """The answers kept, oldest first (readings are not among them)."""
        with self._lock:
            return list(self._loaded())

    def wait_saved(self, timeout: float = 10.0) -> bool:
        """Wait until what was recorded is on disk (tests, shutdown); True when it is."""
        deadline = time.monotonic() + timeout
        while True:
            with self._lock:
                writer = self._writer
            if writer is None:
                return True
            writer.join(max(0.0, deadline - time.monotonic()))
            if writer.is_alive():
                return False

    # ---- file -------------------------------------------------------------------------------------------------
    def _kept(self) -> int:
        try:
            return max(0, int(self._keep()))
        except Exception:
            log.exception("could not read answers_kept")
            return 0

    def _loaded(self) -> list[Answer]:
        """The entries, read from the file the first time (under the lock)."""
        if self._entries is None:
            self._entries = self._read()
        return self._entries

    def _read(self) -> list[Answer]:
        try:
            raw = self.path.read_text(encoding="utf-8")
        except FileNotFoundError:
            return []
        except OSError as exc:
            log.warning("could not read the last answers (%s): %s; starting afresh", self.path, exc)
            return []
        try:
            data = json.loads(raw)
            if not isinstance(data, dict) or not isinstance(data.get("answers"), list):
                raise ValueError("not an answers file")
            entries = [Answer.from_json(item) for item in data["answers"]]
        except (ValueError, KeyError, TypeError) as exc:
            aside = self.path.with_name(self.path.name + ".broken")
            try:
                replace(self.path, aside)
            except OSError:
                aside = self.path
            log.warning("the last answers' file %s cannot be read (%s); it is kept as %s and VoxTray starts a new "
                        "one", self.path, exc, aside)
            return []
        kept = self._kept()
        return entries[-kept:] if kept else []

    def _document(self) -> str:
        kept = self._kept()
        entries = (self._entries or [])[-kept:] if kept else []
        items = [{k: v for k, v in asdict(e).items() if k != "reading"} for e in entries]
        return json.dumps({"version": VERSION, "answers": items}, ensure_ascii=False, indent=1) + "\n"

    def _write(self) -> None:
        """The writer thread: saves until nothing new was recorded meanwhile, then ends."""
        while True:
            with self._lock:
                if not self._dirty:
                    self._writer = None
                    return
                self._dirty = False
                text = self._document()
            try:
                atomic_write_text(self.path, text)
            except Exception as exc:  # a full disk, a read-only folder: the answers stay in memory
                log.warning("could not save the last answers to %s: %s", self.path, exc)
