"""Where the LLM bearer token lives: the OS keyring when one is usable, else settings.llm_api_key (with a warning).

    token = get_token(settings)              # llm_api_key, else the keyring entry, else VOXTRAY_LLM_API_KEY
    where = set_token(settings_path, token)  # "the OS keyring (...)" or "<path> (plain text: no OS keyring)"

The token is never logged. Keyring calls can fail in many ways (no D-Bus, a locked collection, a missing
backend): each failure falls back to the settings file and says so once.
"""

from __future__ import annotations

import logging
import os
from pathlib import Path
from typing import Any

from daemon import settings as settings_mod
from daemon.settings import Settings

log = logging.getLogger(__name__)

SERVICE = "voxtray"
ENTRY = "llm_api_key"
ENV_VAR = "VOXTRAY_LLM_API_KEY"


def _backend() -> Any | None:
    """The keyring backend when it can really store secrets (priority > 0, not the fail/null backends)."""
    try:
        import keyring
        from keyring.errors import KeyringError  # noqa: F401 - proves the package is complete
    except ImportError:
        return None
    try:
        backend = keyring.get_keyring()
        priority = float(getattr(backend, "priority", 0) or 0)
    except Exception as exc:  # a broken backend raises anything from its priority property
        log.info("no usable OS keyring (%s)", type(exc).__name__)
        return None
    module = type(backend).__module__
    if priority <= 0 or module.endswith((".fail", ".null")):
        return None
    return backend


def keyring_name() -> str:
    """A human name of the usable keyring backend, or '' when there is none."""
    backend = _backend()
    if backend is None:
        return ""
    return str(getattr(backend, "name", "") or type(backend).__name__)


def _keyring_get() -> str:
    backend = _backend()
    if backend is None:
        return ""
    try:
        value = backend.get_password(SERVICE, ENTRY)
    except Exception as exc:
        log.warning("could not read the LLM token from the OS keyring (%s)", type(exc).__name__)
        return ""
    return str(value or "")


def get_token(settings: Settings) -> str:
    """The LLM bearer token: settings.llm_api_key, else the OS keyring, else the VOXTRAY_LLM_API_KEY variable."""
    return settings.llm_api_key or _keyring_get() or os.environ.get(ENV_VAR, "")


def set_token(settings_path: Path, token: str) -> str:
    """Store the token; returns where it went (for the user). Raises SettingsError if the file cannot be saved.

    In the keyring, settings.llm_api_key is cleared (only when it held something) so a stale key in the file
    cannot shadow the new token. Without a keyring, the token goes into the settings file in plain text.
    """
    backend = _backend()
    if backend is not None:
        try:
            backend.set_password(SERVICE, ENTRY, token)
        except Exception as exc:
            log.warning("the OS keyring refused the LLM token (%s); using the settings file", type(exc).__name__)
        else:
            current = settings_mod.load(settings_path, check=False)
            if current.llm_api_key:
                settings_mod.update(settings_path, llm_api_key="")
            name = str(getattr(backend, "name", "") or type(backend).__name__)
            log.info("LLM token stored in the OS keyring (%s)", name)
            return f"the OS keyring ({name})"
    settings_mod.update(settings_path, llm_api_key=token)
    log.warning("no usable OS keyring: the LLM token is stored in plain text in %s (llm_api_key)", settings_path)
    return f"{settings_path} (llm_api_key, plain text: no OS keyring is available here)"


def clear_token(settings_path: Path | None = None) -> None:
    """Forget the token in the keyring (and in the settings file when a path is given)."""
    backend = _backend()
    if backend is not None:
        try:
            backend.delete_password(SERVICE, ENTRY)
        except Exception as exc:
            log.info("no LLM token to remove from the OS keyring (%s)", type(exc).__name__)
    if settings_path is not None:
        settings_mod.update(settings_path, llm_api_key="")
