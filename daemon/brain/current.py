"""The LLM client of the current settings: one accessor for the assistant and the health poller.

    client = CurrentClient(live)   # live(): the current Settings snapshot
    client().chat(...)             # a new snapshot (reload, bridge link) gets a new client at the next call
"""

from __future__ import annotations

import threading
from collections.abc import Callable

from daemon.brain.client import LLMClient
from daemon.live import SettingsSource
from daemon.settings import Settings


class CurrentClient:
    """Builds an LLMClient for the current snapshot, once per snapshot (settings are frozen: a change is a new one)."""

    def __init__(self, settings: SettingsSource, make: Callable[[Settings], LLMClient] = LLMClient) -> None:
        self._settings = settings
        self._make = make
        self._lock = threading.Lock()
        self._for: Settings | None = None
        self._client: LLMClient | None = None

    def __call__(self) -> LLMClient:
        settings = self._settings()
        with self._lock:
            if self._client is None or self._for is not settings:
                self._client, self._for = self._make(settings), settings
            return self._client
