"""The answer's language on the Windows interpreter: py3langid (pure Python + numpy, installed --no-deps on the
lane's numpy 1.26: scripts/wine/pins.py says why) detects each sentence, and the pipeline hands the language to
the voice — the edge-tts voice of that language, the SAPI child's --language."""

from __future__ import annotations

from pathlib import Path

import numpy

from daemon.settings import Settings
from daemon.speech.engines.edge import EdgeEngine
from daemon.speech.engines.sapi import SapiBackend
from daemon.speech.language import LanguageTrack, detect


def test_py3langid_detects_languages_on_the_lanes_numpy() -> None:
    assert numpy.__version__.startswith("1.26")
    for text, code in (("Bonjour, je peux vous aider avec cela.", "fr"),
                       ("Guten Tag, ich kann Ihnen dabei helfen.", "de"),
                       ("Hola, puedo ayudarte con eso sin problema.", "es"),
                       ("Sure, here is the short version of it.", "en")):
        assert detect(text)[0] == code, text
    track = LanguageTrack(hint="de")
    assert [track.of(s) for s in ("Ja.", "Bonjour, je peux vous aider avec cela.")] == ["de", "fr"]


def test_the_voices_are_told_the_language() -> None:
    edge = EdgeEngine(Settings(edge_tts_voice="en-US-GuyNeural"))
    try:
        assert edge.voice_name(None, "fr") == "fr-FR-HenriNeural" and edge.speaks("de")
    finally:
        edge.close()
    argv = SapiBackend().argv(Path("out.wav"), Settings(system_voice="David"), "de")
    assert "--language=de" in argv and "--voice=David" in argv
