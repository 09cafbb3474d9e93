"""Background LLM health: polls the remote LLM and publishes status.update(llm_url=, llm_ok=, llm_note=).

    poller = HealthPoller(client, status, interval_s=settings.llm_health_interval_s)
    poller.start()        # first check at once, then every interval (0 = only when asked)
    poller.check_soon()   # e.g. when the question box opens: a fresh check while the user types
    poller.stop()
"""

from __future__ import annotations

import logging
from collections.abc import Callable

from daemon.brain.client import LLMClient
from daemon.brain.transport import redact_url
from daemon.status import StatusBus
from daemon.worker import Worker

log = logging.getLogger(__name__)


ClientSource = Callable[[], LLMClient]


class HealthPoller:
    """A worker that checks `client.health()`; never raises, never blocks the caller.

    `client` and `interval_s` are values or providers (the daemon passes providers: a reload applies at the
    next check); an interval of 0 checks only when asked.
    """

    def __init__(self, client: LLMClient | ClientSource, status: StatusBus,
                 interval_s: float | Callable[[], float] = 30.0) -> None:
        self._client: ClientSource = client if callable(client) else (lambda: client)
        self._interval: Callable[[], float] = interval_s if callable(interval_s) else (lambda: interval_s)
        self.status = status
        self._worker = Worker("llm-health", self._step)
        self._last_ok: bool | None = None

    @property
    def client(self) -> LLMClient:
        """The LLM client of the current settings."""
        return self._client()

    def start(self) -> None:
        """Check at once, then every interval (idempotent)."""
        self._worker.start()

    def stop(self, timeout: float = 2.0) -> None:
        self._worker.stop(timeout)

    def check_soon(self) -> None:
        """Ask for a check now (returns at once)."""
        self._worker.wake()

    def check_now(self) -> bool:
        """Run one check on the calling thread and publish it; returns llm_ok."""
        client = self.client
        url = redact_url(client.url)
        if not client.configured:
            self.status.update(llm_url="", llm_ok=None, llm_note="remote_llm_url is not set")
            return False
        ok, note = client.health()
        if ok != self._last_ok:
            log.log(logging.INFO if ok else logging.WARNING, "LLM health: %s (%s)", "ok" if ok else "down", note)
        self._last_ok = ok
        self.status.update(llm_url=url, llm_ok=ok, llm_note=note)
        return ok

    def _step(self) -> float | None:
        self.check_now()
        interval = self._interval()
        return interval if interval > 0 else None
