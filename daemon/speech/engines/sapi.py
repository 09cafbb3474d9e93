"""The system voice on Windows: SAPI5 through daemon/speech/sapi_child.py, one child per piece of text.

The child is run by its path, not `-m`: it needs nothing of VoxTray, and `-m daemon...` would need the project
on the child's sys.path, which a Python started from another folder (or an embedded one) does not give.
"""

from __future__ import annotations

import sys
from pathlib import Path

from daemon.settings import Settings
from daemon.speech.engines.child import listing

SAPI_NO_VOICE = 3  # sapi_child's exit code for "no SAPI or no voice here"
SAPI_CHILD = str(Path(__file__).resolve().parents[1] / "sapi_child.py")
SAPI_HINT = "check that a Windows voice is installed (Settings > Time & language > Speech)"
_ROOT = Path(__file__).resolve().parents[3]  # where `python -m daemon...` finds the package


class SapiBackend:
    """SAPI5 voices, driven by this Python running sapi_child.py."""

    name = "sapi"
    label = "SAPI"
    hint = SAPI_HINT
    cwd: Path | None = _ROOT
    no_voice_rc: int | None = SAPI_NO_VOICE

    def missing(self) -> str | None:
        """Why it cannot run at all (known only once the child tried: see no_voice_rc), so None."""
        return None

    def argv(self, out: Path, settings: Settings, language: str = "") -> list[str]:
        """The command that speaks stdin into `out` (with an installed voice of `language` where there is one)."""
        argv = [sys.executable, SAPI_CHILD, f"--out={out}", f"--wpm={settings.system_wpm()}"]
        argv += [f"--language={language}"] if language else []
        return argv + ([f"--voice={settings.system_voice}"] if settings.system_voice else [])

    def voices(self) -> list[str]:
        """Names of the installed voices."""
        lines = listing([sys.executable, SAPI_CHILD, "--list"], SAPI_NO_VOICE, self.cwd).splitlines()
        return [line.strip() for line in lines if line.strip()]
