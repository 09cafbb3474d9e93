"""The system voice's SAPI child under the real Windows CPython (Wine): started by its path from a process whose
children do not have VoxTray on sys.path, it reports "no voice" (Wine 8's SAPI has none) with one clean line,
and the engine turns unavailable instead of hanging or crashing. Real SAPI speech cannot be tested here."""

from __future__ import annotations

import time

import pytest

from daemon.errors import EngineUnavailableError
from daemon.settings import Settings
from daemon.speech.engines.system import SystemEngine


def test_no_sapi_voice_makes_the_engine_unavailable_quickly(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("VOXTRAY_WIN_PROJECT", raising=False)  # children get no help finding VoxTray
    engine = SystemEngine(Settings())
    try:
        assert engine.backend == "sapi"
        t0 = time.monotonic()
        assert engine.probe() is False
        assert time.monotonic() - t0 < 30
        assert not engine.ready()
        with pytest.raises(EngineUnavailableError, match="Windows voice"):
            list(engine.stream("Hello there."))
    finally:
        engine.close()
