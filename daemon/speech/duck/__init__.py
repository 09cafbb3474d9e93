"""Ducking: other apps are lowered while VoxTray speaks (ducker.py) through one backend per sound system:
PulseAudio/PipeWire sink inputs (pulse.py) or Windows audio sessions (winaudio.py)."""

from __future__ import annotations

import sys
from collections.abc import Callable

from daemon.live import SettingsSource
from daemon.paths import data_dir
from daemon.speech.duck.base import DuckBackend
from daemon.speech.duck.ducker import Ducker
from daemon.speech.duck.journal import FILE_NAME, Journal
from daemon.status import StatusBus


def make_backend() -> DuckBackend:
    """This platform's app volumes (raises DuckUnavailable where there are none)."""
    if sys.platform == "win32":
        from daemon.speech.duck.winaudio import WinBackend

        return WinBackend()
    from daemon.speech.duck.pulse import PulseBackend

    return PulseBackend()


def start(live: SettingsSource, status: StatusBus) -> Callable[[], None]:
    """Start ducking for the daemon (a previous run's leftovers are restored first); returns its stop."""
    ducker = Ducker(live, status, Journal(data_dir() / FILE_NAME), make_backend)
    ducker.start()
    return ducker.close
