"""One rule for settings: every long-lived part reads the current frozen snapshot through a provider.

    live = LiveSettings(path, settings.load(path))
    part = KeepWarmPolicy(live, ...)      # the part calls live() whenever it needs a value
    live.reload()                         # every part sees the new snapshot at its next read

A `Settings` is never changed in place, and no part keeps one: a reload swaps the snapshot behind `live()`.
`SettingsField` lets a class take either a provider (the daemon) or one fixed snapshot (the CLI, tests).
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any, overload

from daemon import settings as settings_mod
from daemon.settings import Settings
from daemon.status import Listeners

log = logging.getLogger(__name__)

SettingsSource = Callable[[], Settings]
Changed = Callable[[Settings, Settings], None]  # (old, new)


def as_source(value: Settings | SettingsSource) -> SettingsSource:
    """A provider for `value`: itself when it is one, else one that always returns that fixed snapshot."""
    if isinstance(value, Settings):
        return lambda: value
    return value


class LiveSettings:
    """The daemon's current settings: `live()` reads them; `reload()` / `update()` swap in a new snapshot."""

    def __init__(self, path: Path, current: Settings) -> None:
        self.path = path
        self._current = current
        self._lock = threading.Lock()
        self._listeners: Listeners[Changed] = Listeners()

    def __call__(self) -> Settings:
        return self._current

    def subscribe(self, listener: Changed) -> Callable[[], None]:
        """Call listener(old, new) after each swap (parts that must act at once, e.g. re-bind hotkeys)."""
        return self._listeners.add(listener)

    def reload(self) -> Settings:
        """Re-read settings.json; a bad file raises SettingsError and the running snapshot stays."""
        return self.use(settings_mod.load(self.path))

    def update(self, **changes: Any) -> Settings:
        """Save `changes` atomically and use the result."""
        return self.use(settings_mod.update(self.path, **changes))

    def use(self, new: Settings) -> Settings:
        """Make `new` the current snapshot and tell the listeners (errors are logged, never raised)."""
        with self._lock:
            old, self._current = self._current, new
        for listener in self._listeners.snapshot():
            try:
                listener(old, new)
            except Exception:
                log.exception("acting on new settings failed (%r)", listener)
        return new


class SettingsField:
    """A class attribute holding a provider: assign a `Settings` or a `SettingsSource`; reading gives the
    current snapshot."""

    def __set_name__(self, owner: type, name: str) -> None:
        self._slot = f"_{name}_source"

    @overload
    def __get__(self, obj: None, objtype: type | None = None) -> SettingsField: ...

    @overload
    def __get__(self, obj: object, objtype: type | None = None) -> Settings: ...

    def __get__(self, obj: object | None, objtype: type | None = None) -> Settings | SettingsField:
        if obj is None:
            return self
        source: SettingsSource = getattr(obj, self._slot)
        return source()

    def __set__(self, obj: object, value: Settings | SettingsSource) -> None:
        setattr(obj, self._slot, as_source(value))
