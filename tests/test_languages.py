"""Answers in other languages are read in those languages, by every voice (#20, "the answer's language").

Real parts: the detector (py3langid), a loopback LLM, the Assistant, Pipeline and Router, the tiny XTTS (its
tokenizer, the narrowest boundary that receives the language, is watched), the real edge-tts client against the
loopback edge-tts stand-in (the SSML's voice is read), espeak-ng, and Whisper base hearing espeak-ng's speech.
The SAPI voices are the fake comtypes of tests/test_system_voice.py (no SAPI voice exists here).
"""

from __future__ import annotations

import json
import re
import time
from pathlib import Path

import pytest

from daemon.assistant import Assistant
from daemon.audio import resample
from daemon.brain.client import LLMClient
from daemon.brain.conversation import Conversation
from daemon.listen import RATE
from daemon.listen.recognizer import Recognizer
from daemon.settings import Settings
from daemon.speech.engines.edge_voices import voice_for
from daemon.speech.language import LanguageTrack, detect, question_language
from daemon.speech.stack import build
from daemon.speech.xtts import model as xtts_model
from daemon.status import StatusBus
from tests.fixtures.tones import MemorySink
from tests.test_system_voice import VOICES, sapi_child

FR = "Bonjour, je peux vous aider avec cela."
DE = "Guten Tag, ich kann Ihnen dabei helfen."
ES = "Hola, puedo ayudarte con eso sin problema."
SV = "Hej, jag kan hjälpa dig med det här."
EN = "And that is the whole answer for today."


def tokens_of(*sentences: str) -> list[str]:
    return [w + " " for s in sentences for w in s.split()]


def ssml_voice(ssml: str) -> str:
    """The voice the real edge-tts client asked for: "...Voice (fr-FR, DeniseNeural)" -> "fr-FR-DeniseNeural"."""
    m = re.search(r"<voice name='[^']*\((\w+-\w+), (\w+)\)'", ssml)
    assert m is not None, ssml
    return f"{m.group(1)}-{m.group(2)}"


def test_sentences_are_detected_quickly_and_short_ones_keep_the_answers_language() -> None:
    for text, code in ((FR, "fr"), (DE, "de"), (ES, "es"), (SV, "sv"), (EN, "en"), ("こんにちは、元気です。", "ja"),
                       ("你好，我可以帮你。", "zh"), ("안녕하세요, 도와드릴게요.", "ko"), ("Привет, я могу помочь с этим.", "ru")):
        assert detect(text)[0] == code, text
    t0 = time.perf_counter()
    for _ in range(20):
        detect(FR + " " + DE)
    assert (time.perf_counter() - t0) / 20 < 0.005, "over 5 ms a sentence"
    track = LanguageTrack(hint="fr")
    assert [track.of(s) for s in ("Oui.", DE, "OK.", EN)] == ["fr", "de", "de", "en"]
    assert LanguageTrack(fixed="de").of(FR) == "de", "a fixed xtts_language reads everything in it"
    first = LanguageTrack(hint="en")  # a typed English question, a Portuguese answer starting at its first clause
    assert first.of("Olá a todos,") == "pt", "an answer's first words: a likely detection beats the guess"
    assert first.of("Hallo allemaal,") == "pt", "an unsure detection (Italian at 37 %) does not flip it"
    assert question_language("Quelle heure est-il à Tokyo maintenant ?") == "fr"
    assert question_language("Hi") is None


def test_edge_voices_follow_the_language_and_the_gender_and_a_pin_wins() -> None:
    assert voice_for("fr", "en-US-AriaNeural", {}) == "fr-FR-DeniseNeural"
    assert voice_for("fr", "en-US-GuyNeural", {}) == "fr-FR-HenriNeural"
    assert voice_for("en", "en-GB-SoniaNeural", {}) == "en-GB-SoniaNeural", "the user's own voice for its language"
    assert voice_for("fr", "en-US-AriaNeural", {"fr": "fr-CA-SylvieNeural"}) == "fr-CA-SylvieNeural"
    assert voice_for("xx", "en-US-AriaNeural", {}) is None


@pytest.mark.slow
@pytest.mark.usefixtures("xtts_cleanup")
def test_a_mixed_answer_reaches_xtts_edge_and_each_in_its_language(llm_server, edge_server, xtts_settings) -> None:
    """fr, de, es go to XTTS with fr/de/es; Swedish, which XTTS does not speak, goes to edge-tts with a Swedish
    voice for that sentence only; the English sentence after it is XTTS's again."""
    srv = llm_server(api="ollama", tokens=tokens_of(FR, DE, ES, SV, EN))
    settings = xtts_settings.model_copy(update={"remote_llm_url": srv.url, "llm_api": "ollama",
                                                "engine_order": ["xtts", "edge", "system"]})
    status = StatusBus()
    stack = build(settings, status, MemorySink(), probe=False)
    xtts = stack.engines["xtts"]
    xtts.load()  # type: ignore[attr-defined]
    tokenizer = xtts_model.loaded_models()[0].model.tokenizer
    seen: list[str] = []
    encode = tokenizer.encode
    tokenizer.encode = lambda txt, lang: (seen.append(lang), encode(txt, lang))[1]
    assistant = Assistant(LLMClient(settings), Conversation(), stack.pipeline, status)
    try:
        assistant.ask("Say hello in a few languages.")
        assert assistant.wait_idle(120)
    finally:
        tokenizer.encode = encode
        assistant.close()
        stack.close()
    t = assistant.last_timings
    assert t is not None and t.error == "", t
    assert [lang for lang in seen if lang != "en"] == ["fr", "de", "es"], seen
    assert [ssml_voice(x) for x in edge_server.ssml] == ["sv-SE-SofieNeural"]
    assert edge_server.texts == [SV]


@pytest.mark.parametrize("voice,expected", [("en-US-AriaNeural", ["fr-FR-DeniseNeural", "de-DE-KatjaNeural",
                                                                  "es-ES-ElviraNeural", "en-US-AriaNeural"]),
                                            ("en-US-GuyNeural", ["fr-FR-HenriNeural", "de-DE-ConradNeural",
                                                                 "es-ES-AlvaroNeural", "en-US-GuyNeural"])])
def test_edge_tts_reads_each_sentence_with_a_voice_of_its_language(edge_server, voice: str,
                                                                   expected: list[str]) -> None:
    settings = Settings(engine="edge", use_local_cloning=False, edge_tts_voice=voice)
    stack = build(settings, StatusBus(), MemorySink(), probe=False)
    try:
        result = stack.pipeline.speak_text(" ".join((FR, DE, ES, EN)))
    finally:
        stack.close()
    assert [s.language for s in result.sentences] == ["fr", "de", "es", "en"]
    assert [ssml_voice(x) for x in edge_server.ssml] == expected


SPOKEN = {  # long enough for Whisper base to tell espeak-ng's French from its Romanian (short ones were not)
    "fr": "Bonjour à tous, je vais vous expliquer comment faire cuire un œuf.",
    "de": "Guten Tag, ich kann Ihnen heute gerne dabei helfen, das Problem zu lösen.",
    "es": "Hola, puedo ayudarte con eso sin problema, solo dime qué necesitas.",
}


@pytest.mark.slow
@pytest.mark.parametrize("code", sorted(SPOKEN))
def test_the_system_voice_speaks_the_language_whisper_hears_it(multilingual: Recognizer, code: str) -> None:
    """espeak-ng reads the sentence with its voice of that language; Whisper (detecting) hears that language.
    The same text in the English voice is heard as another language: the test can fail."""
    settings = Settings(engine="system", use_local_cloning=False)
    stack = build(settings, StatusBus(), MemorySink(), probe=False)
    engine = stack.engines["system"]
    try:
        audio = engine.synthesize(SPOKEN[code], language=code)
        english = engine.synthesize(SPOKEN[code])
    finally:
        stack.close()
    heard = multilingual.transcribe(resample(audio, engine.sample_rate, RATE))
    assert heard.language == code, (heard.language, heard.text)
    assert multilingual.transcribe(resample(english, engine.sample_rate, RATE)).language != code


FAKE_LANGUAGES = {"English": "409", "German": "C07;407"}


def test_sapi_picks_an_installed_voice_of_the_language(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from tests.test_system_voice import FAKE_CLIENT

    pkg = tmp_path / "fake" / "comtypes"
    pkg.mkdir(parents=True)
    (pkg / "__init__.py").write_text("", encoding="utf-8")
    client = FAKE_CLIENT.replace(
        "    def GetDescription(self):",
        "    def GetAttribute(self, name):\n"
        f"        table = {FAKE_LANGUAGES!r}\n"
        "        return next(v for k, v in table.items() if k in self.description)\n\n"
        "    def GetDescription(self):")
    (pkg / "client.py").write_text(client, encoding="utf-8")
    log = tmp_path / "sapi.log"
    monkeypatch.setenv("PYTHONPATH", str(pkg.parent))
    monkeypatch.setenv("FAKE_SAPI_LOG", str(log))
    monkeypatch.setenv("FAKE_SAPI_VOICES", json.dumps(VOICES))
    done = sapi_child(f"--out={tmp_path / 'de.wav'}", "--voice=David", "--language=de", stdin=DE.encode())
    assert done.returncode == 0 and done.stderr == b"", done.stderr
    calls = [tuple(json.loads(line)) for line in log.read_text(encoding="utf-8").splitlines()]
    assert ("set", "SpVoice", "Voice", VOICES[1]) in calls, "the German voice reads German, not David"
    log.write_text("", encoding="utf-8")
    done = sapi_child(f"--out={tmp_path / 'en.wav'}", "--voice=David", "--language=en")
    calls = [tuple(json.loads(line)) for line in log.read_text(encoding="utf-8").splitlines()]
    assert ("set", "SpVoice", "Voice", VOICES[0]) in calls, "David reads English"
    done = sapi_child(f"--out={tmp_path / 'ja.wav'}", "--language=ja")
    assert done.returncode == 0 and b"no SAPI voice reads 'ja'" in done.stderr


def test_a_fixed_xtts_language_is_every_voices_language(edge_server) -> None:
    settings = Settings(engine="edge", use_local_cloning=False, xtts_language="de")
    stack = build(settings, StatusBus(), MemorySink(), probe=False)
    try:
        result = stack.pipeline.speak_text(FR)
    finally:
        stack.close()
    assert [s.language for s in result.sentences] == ["de"]
    assert [ssml_voice(x) for x in edge_server.ssml] == ["de-DE-KatjaNeural"]
