"""One worker lifecycle for every background part: start, wake, stop within a bound, survive a bad step.

    worker = Worker("llm-health", step)   # step() -> seconds until the next step (None: until woken)
    worker.start(); worker.wake(); worker.stop()

A step that raises is logged and the loop goes on (after `retry_s`); `end()` (from inside a step) finishes
the loop. `JobQueue` runs submitted callables one at a time on such a worker.
"""

from __future__ import annotations

import collections
import logging
import queue
import threading
from collections.abc import Callable, Iterator
from typing import TypeVar

log = logging.getLogger(__name__)

Step = Callable[[], "float | None"]
T = TypeVar("T")


class Worker:
    """A daemon thread that calls `step()` until stopped or ended; see the module docstring."""

    def __init__(self, name: str, step: Step, *, stop_timeout_s: float = 2.0, retry_s: float = 1.0) -> None:
        self.name = name
        self._step = step
        self._stop_timeout_s = stop_timeout_s
        self._retry_s = retry_s
        self._wake = threading.Event()
        self._stopping = threading.Event()
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()

    @property
    def running(self) -> bool:
        thread = self._thread
        return thread is not None and thread.is_alive()

    @property
    def stopping(self) -> bool:
        """True once stop() or end() was called: long steps check it to return early."""
        return self._stopping.is_set()

    def start(self) -> None:
        """Start the thread (idempotent while it runs)."""
        with self._lock:
            if self.running:
                return
            self._stopping.clear()
            self._thread = threading.Thread(target=self._run, name=self.name, daemon=True)
            self._thread.start()

    def wake(self) -> None:
        """Run the next step now."""
        self._wake.set()

    def end(self) -> None:
        """Finish the loop after the current step (callable from inside it); does not wait."""
        self._stopping.set()
        self._wake.set()

    def sleep(self, seconds: float) -> bool:
        """Wait up to `seconds`, returning early (False) when the worker is stopping."""
        return not self._stopping.wait(seconds)

    def stop(self, timeout: float | None = None) -> bool:
        """End the loop and wait up to `timeout` (default: the worker's bound); True when the thread ended."""
        self.end()
        with self._lock:
            thread, self._thread = self._thread, None
        if thread is None or thread is threading.current_thread():
            return True
        thread.join(self._stop_timeout_s if timeout is None else timeout)
        if thread.is_alive():
            log.warning("worker %s did not stop within %.1f s", self.name, self._stop_timeout_s)
            return False
        return True

    def _run(self) -> None:
        while not self._stopping.is_set():
            try:
                wait = self._step()
            except Exception:
                log.exception("worker %s: a step failed; it goes on", self.name)
                wait = self._retry_s
            if self._stopping.is_set():
                return
            self._wake.wait(wait)
            self._wake.clear()


def queued(items: queue.Queue[T], worker: Worker) -> Iterator[T]:
    """What is in `items` now, in order, until it is empty or `worker` is stopping: the body of a step that
    drains a queue whose producer calls `worker.wake()` after each put."""
    while not worker.stopping:
        try:
            yield items.get_nowait()
        except queue.Empty:
            return


class JobQueue:
    """Runs submitted jobs one at a time, in order, on a Worker; a failing job is logged, the next one runs."""

    def __init__(self, name: str, *, stop_timeout_s: float = 5.0) -> None:
        self._jobs: collections.deque[Callable[[], None]] = collections.deque()
        self._lock = threading.Lock()
        self.worker = Worker(name, self._next, stop_timeout_s=stop_timeout_s, retry_s=0.0)

    def start(self) -> None:
        self.worker.start()

    def submit(self, job: Callable[[], None]) -> None:
        with self._lock:
            self._jobs.append(job)
        self.worker.wake()

    def stop(self, timeout: float | None = None) -> bool:
        """Stop after the running job; jobs still queued are dropped."""
        return self.worker.stop(timeout)

    def _next(self) -> float | None:
        with self._lock:
            job = self._jobs.popleft() if self._jobs else None
        if job is not None:
            job()
        with self._lock:
            return 0.0 if self._jobs else None
