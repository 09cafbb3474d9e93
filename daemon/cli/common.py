"""Helpers shared by the CLI verbs: loading settings from --settings, printing errors."""

from __future__ import annotations

import argparse
import re
import sys
from pathlib import Path

from daemon import settings as settings_mod
from daemon.settings import Settings


def settings_path(args: argparse.Namespace) -> Path:
    """The settings file named by --settings, else the default one (the project's, or the per-user one)."""
    return Path(args.settings) if getattr(args, "settings", None) else settings_mod.default_path()


def load_settings(args: argparse.Namespace, *, check: bool = True) -> Settings:
    """Load settings for a verb (raises SettingsError, which main() turns into exit code 2)."""
    return settings_mod.load(settings_path(args), check=check)


# Terminal escapes (CSI "ESC [ ... m", OSC "ESC ] ... BEL", other ESC x), C0/C1 control characters except tab and
# newline, and the bidi overrides that can make text display as something else.
_ESCAPES = re.compile(r"\x1b(?:\[[0-?]*[ -/]*[@-~]?|\][^\x07\x1b]*(?:\x07|\x1b\\)?|.)?|\x9b[0-?]*[ -/]*[@-~]?")
_CONTROLS = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]")


def terminal_safe(text: str) -> str:
    """Text from outside (the LLM's answer, a server's error) made harmless to print on a terminal."""
    return _CONTROLS.sub("", _ESCAPES.sub("", text))


def fail(message: str) -> None:
    """Print one user-facing error line to stderr."""
    print(f"voxtray: {terminal_safe(message)}", file=sys.stderr)
