"""Builds the speech engines named by settings, importing each engine module only when it is needed."""

from __future__ import annotations

import importlib
import logging
from collections.abc import Callable

from daemon.errors import VoxTrayError
from daemon.live import SettingsSource, as_source
from daemon.settings import Settings
from daemon.speech.engines.base import Engine
from daemon.status import StatusBus

log = logging.getLogger(__name__)


def _xtts(settings: Settings, status: StatusBus) -> Engine:
    module = importlib.import_module("daemon.speech.xtts.engine")
    engine: Engine = module.XttsEngine(settings, status)
    return engine


def _edge(settings: Settings, status: StatusBus) -> Engine:
    module = importlib.import_module("daemon.speech.engines.edge")
    engine: Engine = module.EdgeEngine(settings)
    return engine


def _system(settings: Settings, status: StatusBus) -> Engine:
    module = importlib.import_module("daemon.speech.engines.system")
    engine: Engine = module.SystemEngine(settings)
    return engine


BUILDERS: dict[str, Callable[[Settings, StatusBus], Engine]] = {"xtts": _xtts, "edge": _edge, "system": _system}


def wanted(settings: Settings) -> list[str]:
    """Engine names the settings can route to, best first; the system voice is always among them."""
    names: list[str] = list(settings.engine_order) if settings.engine == "auto" else [settings.engine]
    if "system" not in names:
        names.append("system")
    if not settings.use_local_cloning and "xtts" in names and settings.engine != "xtts":
        names.remove("xtts")
    return names


def build_engines(settings: Settings | SettingsSource, status: StatusBus) -> dict[str, Engine]:
    """name -> Engine for every engine that can be constructed here (each reads `settings` from then on);
    failures are logged, never raised."""
    source = as_source(settings)
    engines: dict[str, Engine] = {}
    for name in wanted(source()):
        try:
            engines[name] = engine = BUILDERS[name](source(), status)
            engine.settings = source
        except (ImportError, VoxTrayError, OSError, RuntimeError) as exc:
            log.warning("speech engine %s is unavailable: %s", name, exc)
    if not engines:
        log.error("no speech engine could be built; VoxTray will be silent")
    return engines
