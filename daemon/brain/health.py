"""Background LLM health: polls the remote LLM and publishes status.update(llm_url=, llm_ok=, llm_note=).

    poller = HealthPoller(client, status, interval_s=settings.llm_health_interval_s)
    poller.start()        # first check at once, then every interval (0 = only when asked)
    poller.check_soon()   # e.g. when the question box opens: a fresh check while the user types
    poller.stop()
"""

from __future__ import annotations

import logging
import threading

from daemon.brain.client import LLMClient
from daemon.brain.transport import redact_url
from daemon.status import StatusBus

log = logging.getLogger(__name__)


class HealthPoller:
    """A daemon thread that checks `client.health()`; never raises, never blocks the caller."""

    def __init__(self, client: LLMClient, status: StatusBus, interval_s: float = 30.0) -> None:
        self.client = client
        self.status = status
        self.interval_s = interval_s
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._last_ok: bool | None = None

    def start(self) -> None:
        if self._thread is not None:
            return
        self._thread = threading.Thread(target=self._run, name="llm-health", daemon=True)
        self._thread.start()

    def stop(self, timeout: float = 2.0) -> None:
        self._stop.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(timeout)
            self._thread = None

    def check_soon(self) -> None:
        """Ask for a check now (returns at once)."""
        self._wake.set()

    def check_now(self) -> bool:
        """Run one check on the calling thread and publish it; returns llm_ok."""
        url = redact_url(self.client.url)
        if not self.client.configured:
            self.status.update(llm_url="", llm_ok=None, llm_note="remote_llm_url is not set")
            return False
        ok, note = self.client.health()
        if ok != self._last_ok:
            log.log(logging.INFO if ok else logging.WARNING, "LLM health: %s (%s)", "ok" if ok else "down", note)
        self._last_ok = ok
        self.status.update(llm_url=url, llm_ok=ok, llm_note=note)
        return ok

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                self.check_now()
            except Exception:  # the poller must survive anything
                log.exception("LLM health check failed unexpectedly")
            timeout = self.interval_s if self.interval_s > 0 else None
            self._wake.wait(timeout)
            self._wake.clear()
