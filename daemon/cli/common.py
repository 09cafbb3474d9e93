"""Helpers shared by the CLI verbs: loading settings from --settings, printing errors."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from daemon import settings as settings_mod
from daemon.settings import Settings


def settings_path(args: argparse.Namespace) -> Path:
    """The settings file named by --settings, else the project's settings.json."""
    return Path(args.settings) if getattr(args, "settings", None) else settings_mod.DEFAULT_SETTINGS_PATH


def load_settings(args: argparse.Namespace, *, check: bool = True) -> Settings:
    """Load settings for a verb (raises SettingsError, which main() turns into exit code 2)."""
    return settings_mod.load(settings_path(args), check=check)


def fail(message: str) -> None:
    """Print one user-facing error line to stderr."""
    print(f"voxtray: {message}", file=sys.stderr)
