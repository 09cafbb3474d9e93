"""Where VoxTray and the libraries it uses keep their files (one place to ask), and how it is started.

Two layouts, decided here only:

- **a project folder** (running from a clone or a downloaded copy, outside site-packages; or any folder named
  by VOXTRAY_HOME): settings.json, voices/ and the voices' cache (voices/.cache) live in it,
  and relative paths in settings are resolved against it;
- **installed** (`pip install .`): settings.json in the per-user config folder, voices in the per-user data folder
  (relative paths in settings resolve against it; its voices/ is seeded with the bundled sample on first use),
  caches in the per-user cache folder.

Logs, the single-instance lock and downloaded models are per-user in both layouts. Only the standard library is
imported at module level (install_service.py uses this before the venv has its packages).
"""

from __future__ import annotations

import os
import shutil
import sys
from pathlib import Path

from daemon import APP_ID

PACKAGE_DIR = Path(__file__).resolve().parent
BUNDLED_VOICES = ("sample.wav", "ATTRIBUTION.md")  # shipped in the wheel as daemon/bundled/ (see pyproject.toml)
SCRIPT_NAMES = {"voxtray", "voxtray-tray"}  # [project.scripts] / [project.gui-scripts]


def data_dir() -> Path:
    """Per-user data folder (VOXTRAY_DATA_DIR overrides, for tests)."""
    import platformdirs

    override = os.environ.get("VOXTRAY_DATA_DIR")
    return Path(override) if override else Path(platformdirs.user_data_dir(APP_ID, appauthor=False))


def config_dir() -> Path:
    """Per-user config folder (settings.json when installed)."""
    import platformdirs

    return Path(platformdirs.user_config_dir(APP_ID, appauthor=False))


def user_cache_dir() -> Path:
    """Per-user cache folder (caches that can be rebuilt, when installed)."""
    import platformdirs

    return Path(platformdirs.user_cache_dir(APP_ID, appauthor=False))


def models_dir() -> Path:
    """Where VoxTray downloads models to (one sub-folder per model); it may not exist yet."""
    return data_dir() / "models"


def coqui_model_dir(model_id: str) -> Path:
    """The folder coqui-tts downloads `model_id` into (it may not exist yet).

    The same rules as coqui's `trainer.io.get_user_data_dir("tts")` (TTS_HOME, else XDG_DATA_HOME, else the
    platform's local data folder), without importing it: that import loads torch, seconds for `model status`.
    tests/test_model_download.py checks both agree."""
    for var in ("TTS_HOME", "XDG_DATA_HOME"):
        value = os.environ.get(var)
        if value is not None:
            return Path(value).expanduser().resolve(strict=False) / "tts" / model_id.replace("/", "--")
    if sys.platform == "win32":
        base = Path(os.environ.get("LOCALAPPDATA") or Path.home() / "AppData" / "Local")
    elif sys.platform == "darwin":
        base = Path("~/Library/Application Support/").expanduser()
    else:
        base = Path.home() / ".local" / "share"
    return base / "tts" / model_id.replace("/", "--")


# --- the two layouts ---------------------------------------------------------------------------------------------
def project_root() -> Path | None:
    """The project folder VoxTray runs from (a clone or a downloaded copy: daemon/ beside voxtray.pyw, voices/,
    settings.json), or None when it is installed as a package (in a site-packages folder, or with pip's
    voxtray-*.dist-info beside it)."""
    root = PACKAGE_DIR.parent
    if root.name.lower() in {"site-packages", "dist-packages"} or any(root.glob(f"{APP_ID}-*.dist-info")):
        return None
    return root


def project_layout() -> bool:
    """True when settings, voices and the voices' cache live in one folder (a clone, or VOXTRAY_HOME)."""
    return bool(os.environ.get("VOXTRAY_HOME")) or project_root() is not None


def home() -> Path:
    """The folder relative paths in settings (voices/, cloning_reference_file, ...) are resolved against:
    VOXTRAY_HOME when set, else the project folder of a clone, else the per-user data folder."""
    override = os.environ.get("VOXTRAY_HOME")
    if override:
        return Path(override).expanduser()
    return project_root() or data_dir()


def settings_file() -> Path:
    """The settings.json used when none is named: in the project folder, or the per-user config folder."""
    return home() / "settings.json" if project_layout() else config_dir() / "settings.json"


def voices_cache_dir(voices: Path) -> Path:
    """Where the speaker latents of the clips in `voices` are cached: voices/.cache in the project layout, the
    per-user cache folder when installed."""
    return voices / ".cache" if project_layout() else user_cache_dir() / "latents"


def bundled_voices_dir() -> Path:
    """The voices shipped with VoxTray: voices/ of the clone, daemon/bundled/ of an installed package."""
    inside = PACKAGE_DIR / "bundled"
    return inside if inside.is_dir() else PACKAGE_DIR.parent / "voices"


def seed_voices(folder: Path) -> bool:
    """First use: make `folder` with the bundled sample voice in it, so cloning works out of the box. Does nothing
    when the folder exists (the user's own choice, even when empty). True when it was seeded."""
    if folder.exists():
        return False
    source = bundled_voices_dir()
    folder.mkdir(parents=True, exist_ok=True)
    for name in BUNDLED_VOICES:
        if (source / name).is_file():
            shutil.copyfile(source / name, folder / name)
    return True


def command() -> str:
    """The command the user runs VoxTray's CLI with, for messages: `voxtray` when started by the installed
    scripts or installed as a package, else `python -m daemon` (a clone)."""
    script = sys.argv[0].replace("\\", "/").rsplit("/", 1)[-1] if sys.argv else ""  # Windows paths on any OS
    started_as = Path(script).stem.lower().removesuffix("-script")
    return "voxtray" if started_as in SCRIPT_NAMES or project_root() is None else "python -m daemon"
