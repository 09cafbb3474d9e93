"""faster-whisper's modules, imported by one thread at a time.

At the first talk press the recogniser's loader thread imports `faster_whisper` while the listening thread
imports `faster_whisper.vad` for its voice detector. Two threads importing one package with internal imports can
meet Python's import-deadlock avoidance and get a partially initialised module ("cannot import name
'SpeechTimestampsMap' from partially initialized module 'faster_whisper.vad'"): the first press failed. Every
import of faster-whisper in VoxTray goes through `load`, which holds one lock.
"""

from __future__ import annotations

import threading
from types import ModuleType

from daemon.winruntime import require

_lock = threading.Lock()


def load(module: str = "faster_whisper") -> ModuleType:
    """`module` (faster_whisper or one of its submodules), the package first; MissingRuntimeError as `require`."""
    with _lock:
        require("faster_whisper")
        return require(module)
