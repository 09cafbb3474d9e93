"""The seed's scripting API: `generate_audio(text, use_cloning=True, out_path=None) -> Path`."""

from __future__ import annotations

import logging
import os
import tempfile
from pathlib import Path

from daemon.errors import BadInputError

log = logging.getLogger(__name__)


def generate_audio(
    text: str,
    use_cloning: bool = True,
    out_path: str | os.PathLike[str] | None = None,
    *,
    settings_path: str | os.PathLike[str] | None = None,
    voice: str | None = None,
) -> Path:
    """Speak `text` into a WAV file and return its path.

    With `use_cloning` the cloned voice (XTTS, `cloning_reference_file` or `voice`) speaks, and an
    EngineUnavailableError says what to fix when it cannot; otherwise the fallback engines speak (edge-tts,
    then the system voice). Without `out_path` a new temporary .wav file is written (the caller deletes it).
    """
    from daemon import settings as settings_mod
    from daemon.speech.oneshot import speak_once

    if not text or not text.strip():
        raise BadInputError("generate_audio: nothing to say (text is empty)")
    settings = settings_mod.load(Path(settings_path) if settings_path else None, check=False)
    if use_cloning:
        settings = settings.model_copy(update={"engine": "xtts", "use_local_cloning": True})
    else:
        settings = settings.model_copy(update={"engine": "auto", "use_local_cloning": False})
    if out_path is None:
        fd, name = tempfile.mkstemp(prefix="voxtray-", suffix=".wav")
        os.close(fd)
        out = Path(name)
    else:
        out = Path(out_path)
        if out.suffix.lower() != ".wav":
            raise BadInputError(f"generate_audio: out_path must end in .wav, got {out}")
    result = speak_once(settings, text, voice=voice, out=out)
    log.info("generate_audio wrote %s (%.2f s, %s)", out, result.seconds, result.summary)
    return out
