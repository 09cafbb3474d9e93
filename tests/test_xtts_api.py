"""The seed's scripting API `generate_audio` end to end: the tiny random-weight XTTS (real coqui code on the CPU)
through the shared speech stack into a real WAV file; the fallback path speaks with the real system voice.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from daemon.audio import read_wav
from daemon.errors import EngineUnavailableError

pytestmark = [pytest.mark.slow, pytest.mark.usefixtures("xtts_cleanup")]


def _settings_file(tmp_path: Path, model: Path, voices: Path, **extra: object) -> Path:
    data = {
        "xtts_model_path": str(model),
        "xtts_allow_cpu": True,
        "voices_dir": str(voices),
        "cloning_reference_file": str(voices / "lj.wav"),
        "xtts_first_chunk_tokens": 4,
        "xtts_chunk_tokens": 8,
        "engine_order": ["xtts", "system"],
        **extra,
    }
    path = tmp_path / "settings.json"
    path.write_text(json.dumps(data))
    return path


def test_generate_audio_clones_into_a_wav_and_falls_back_without_cloning(
    tmp_path: Path, tiny_xtts_dir: Path, voices_dir: Path
) -> None:
    from daemon import generate_audio

    settings = _settings_file(tmp_path, tiny_xtts_dir, voices_dir)
    out = generate_audio("Hello there.", out_path=tmp_path / "clone.wav", settings_path=settings)
    samples, rate = read_wav(out)
    assert out == tmp_path / "clone.wav" and samples.size > rate * 0.2

    plain = generate_audio("Hello there.", use_cloning=False, settings_path=settings)
    try:
        samples, rate = read_wav(plain)
        assert plain.suffix == ".wav" and samples.size > rate * 0.2
    finally:
        plain.unlink(missing_ok=True)


def test_generate_audio_with_cloning_says_what_is_missing(tmp_path: Path, voices_dir: Path) -> None:
    from daemon import generate_audio

    settings = _settings_file(tmp_path, tmp_path / "no-model", voices_dir)
    with pytest.raises(EngineUnavailableError, match="xtts_model_path"):
        generate_audio("Hello.", out_path=tmp_path / "x.wav", settings_path=settings)
