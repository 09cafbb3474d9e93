"""The clone checks itself by ear (#20, speech_check): babble after a sentence is cut at the last real word, a
sentence that came out as something else is read by the next voice (once, in order), a good one plays untouched.

Real parts: Whisper base (word timestamps) as the ear, espeak-ng's speech, the Router and Pipeline. The engine
that babbles is a stand-in: it plays espeak-ng's sentence followed by espeak-ng gibberish (random syllables),
because the tiny random XTTS cannot say a real sentence first; the system voice is a ToneEngine.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

from daemon.audio import resample
from daemon.listen import RATE
from daemon.listen.recognizer import Recognizer, decode_file
from daemon.settings import Settings
from daemon.speech.check import SpeechCheck, Word, judge, suspicious
from daemon.speech.engines.base import Engine
from daemon.speech.pipeline import Pipeline, SpeechResult
from daemon.speech.router import Router
from daemon.status import StatusBus, Tier
from daemon.voices import VoiceRef
from tests.fixtures.tones import MemorySink, ToneEngine
from tests.fixtures.whisper import espeak_wav, word_error_rate

FIRST = "Here is the answer you asked for."
SECOND = "The weather will be fine tomorrow morning."
THIRD = "Enjoy the sunshine while it lasts."
GIBBERISH = "blorp vantik shmeegle gorbly traxen plinto vurbo"


class Babbler(Engine):
    """Says each text with espeak-ng; after `babble_after`'s text it goes on with gibberish, and for `misspeak`'s
    text it says something else entirely."""

    name, label, status_tier, gpu_bound, checked = "xtts", "cloned voice (XTTS)", Tier.XTTS, False, True
    sample_rate = 22050

    def __init__(self, folder: Path, babble_after: str = "", misspeak: str = "") -> None:
        self.folder, self.babble_after, self.misspeak = folder, babble_after, misspeak
        self.spoken: list[str] = []

    def ready(self) -> bool:
        return True

    def _say(self, text: str) -> np.ndarray:
        path = espeak_wav(text, self.folder / f"{abs(hash(text))}.wav")
        return resample(decode_file(path), RATE, self.sample_rate)

    def stream(self, text: str, voice: VoiceRef | None = None, language: str = "") -> Iterator[np.ndarray]:
        self.spoken.append(text)
        said = self._say("Completely different words come out here now." if text == self.misspeak else text)
        yield said
        if text == self.babble_after:
            yield self._say(GIBBERISH)


def words_of(rec: Recognizer) -> list[int]:
    calls: list[int] = []

    def words(audio: np.ndarray, language: str) -> list[tuple[str, float, float]]:
        calls.append(audio.size)
        return rec.words(audio, language or None)

    words.calls = calls  # type: ignore[attr-defined]
    return words  # type: ignore[return-value]


def speak(engine: Engine, rec: Recognizer, mode: str) -> tuple[SpeechResult, MemorySink, Router]:
    """The three sentences through a Pipeline and Router whose check hears with `rec`."""
    settings = Settings(engine_order=["xtts", "system"], use_local_cloning=False, speech_check=mode,
                        sentence_gap_s=0.0)
    status = StatusBus()
    router = Router({"xtts": engine, "system": ToneEngine("system", 3)}, settings, status, probe=False)
    router.check = SpeechCheck(lambda: settings, words=words_of(rec))
    sink = MemorySink()
    pipe = Pipeline(router, sink, settings, status)
    try:
        return pipe.speak_text(" ".join((FIRST, SECOND, THIRD))), sink, router
    finally:
        pipe.close()


def test_the_rule_cuts_babble_rejects_another_sentence_and_keeps_a_good_one() -> None:
    audio = np.ones(48000, np.float32)
    good = [Word(w, i * 0.3, i * 0.3 + 0.25) for i, w in enumerate("the weather will be fine".split())]
    assert judge("The weather will be fine.", good, audio, 16000).audio is audio
    babble = good + [Word(w, 2 + i * 0.2, 2.15 + i * 0.2) for i, w in enumerate("blorp vantik gorbly".split())]
    review = judge("The weather will be fine.", babble, audio, 16000)
    assert review.audio is not None and review.audio.size == int((1.2 + 1.45 - 1.2 + 0.15) * 16000)
    assert judge("The weather will be fine.", [Word("hello", 0, 0.5), Word("there", 0.5, 1)], audio, 16000).rejected
    misheard = [Word(w, 0, 0.1) for w in "the whether will be fine".split()]  # one word misheard: still good
    assert not judge("The weather will be fine.", misheard, audio, 16000).rejected
    assert not suspicious("The weather will be fine tomorrow.", 2.5)
    assert suspicious("OK.", 3.0) and suspicious("The weather will be fine tomorrow.", 6.0)


@pytest.mark.slow
def test_babble_after_a_sentence_is_cut_at_its_last_real_word(recognizer: Recognizer, tmp_path: Path) -> None:
    engine = Babbler(tmp_path, babble_after=SECOND)
    result, sink, _router = speak(engine, recognizer, "last-resort")
    assert result.engines == ["xtts", "xtts", "xtts"] and engine.spoken == [FIRST, SECOND, THIRD]
    rate, played = sink.sources[1]
    clean = engine._say(SECOND)
    babbled = clean.size + engine._say(GIBBERISH).size
    assert played.size < clean.size + 0.4 * rate, f"{played.size / rate:.2f} s played, the sentence is " \
        f"{clean.size / rate:.2f} s, with the babble {babbled / rate:.2f} s"
    spoken_end = int(np.flatnonzero(np.abs(clean) > 0.01)[-1])  # espeak-ng's file ends in ~0.35 s of silence
    assert played.size > spoken_end - 0.1 * rate, f"the sentence itself was cut: {played.size / rate:.2f} s " \
        f"played, its last sound at {spoken_end / rate:.2f} s"
    heard = recognizer.transcribe(resample(played, rate, RATE)).text
    assert word_error_rate(SECOND, heard) < 0.2, heard


@pytest.mark.slow
def test_a_sentence_said_wrong_is_read_once_by_the_next_voice_and_the_clone_keeps_the_rest(
        recognizer: Recognizer, tmp_path: Path) -> None:
    result, sink, router = speak(Babbler(tmp_path, misspeak=SECOND), recognizer, "on")
    assert result.engines == ["xtts", "system", "xtts"], result.sentences
    assert len(sink.sources) == 3 and not router.is_down("xtts")


@pytest.mark.slow
def test_last_resort_leaves_normal_sentences_alone_and_off_never_listens(recognizer: Recognizer,
                                                                          tmp_path: Path) -> None:
    for mode in ("last-resort", "off"):
        _result, sink, router = speak(Babbler(tmp_path), recognizer, mode)
        assert router.check is not None
        assert router.check._words.calls == [], mode  # type: ignore[attr-defined]
        assert len(sink.sources) == 3
