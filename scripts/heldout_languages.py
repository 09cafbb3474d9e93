"""Held-out language check (#20): answers in languages the tests never use, through the real stack.

    .venv/bin/python scripts/heldout_languages.py

A loopback LLM answers in Italian, Polish, Portuguese, Dutch and Turkish (one answer each) through the real
Assistant, Pipeline and Router, which detect the language and hand it to the system voice (espeak-ng); Whisper
base (detecting the language) listens to what was spoken; the edge-tts voice the answer would get is printed
beside it (the real table, no network). Then one text mixing all five goes through the Pipeline: each sentence
must be detected in its own language. Exit 1 when a voice was given another language. What Whisper base heard
is printed but not judged: it cannot tell espeak-ng's Dutch or Turkish from anything (it hears Khmer and Thai,
with the 30 s window too), and hears its Portuguese as Italian.
"""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import numpy as np  # noqa: E402

from daemon.assistant import Assistant  # noqa: E402
from daemon.audio import resample  # noqa: E402
from daemon.brain.client import LLMClient  # noqa: E402
from daemon.brain.conversation import Conversation  # noqa: E402
from daemon.listen.recognizer import Recognizer  # noqa: E402
from daemon.settings import Settings  # noqa: E402
from daemon.speech.engines.edge_voices import voice_for  # noqa: E402
from daemon.speech.stack import build  # noqa: E402
from daemon.status import StatusBus  # noqa: E402
from tests.fixtures.llm_server import start_llm_server  # noqa: E402
from tests.fixtures.tones import MemorySink  # noqa: E402
from tests.fixtures.whisper import assemble  # noqa: E402

ANSWERS = {
    "it": "Ciao a tutti, oggi vi spiego come si cucina un uovo alla coque in pochi minuti.",
    "pl": "Dzień dobry, dzisiaj opowiem wam, jak ugotować jajko na miękko w kilka minut.",
    "pt": "Olá a todos, hoje vou explicar como cozinhar um ovo cozido em poucos minutos.",
    "nl": "Hallo allemaal, vandaag leg ik uit hoe je in een paar minuten een zacht ei kookt.",
    "tr": "Herkese merhaba, bugün size birkaç dakikada rafadan yumurtanın nasıl pişirildiğini anlatacağım.",
}


def heard_as(rec: Recognizer, sink: MemorySink) -> tuple[str, str]:
    audio = np.concatenate([resample(a, rate, 16000) for rate, a in sink.sources])
    heard = rec.transcribe(audio)
    return heard.language, heard.text


def main() -> int:
    results: list[bool] = []  # the voice was given the answer's language
    heard: list[bool] = []  # Whisper base heard that language (it cannot tell espeak-ng's nl and tr at all)
    with tempfile.TemporaryDirectory() as tmp:
        rec = Recognizer(str(assemble("base", Path(tmp) / "base")), language="auto")
        rec.load()
        for code, text in ANSWERS.items():  # one answer each, through the Assistant from a loopback LLM
            srv = start_llm_server(api="ollama", tokens=[w + " " for w in text.split()])
            settings = Settings(remote_llm_url=srv.url, llm_api="ollama", engine="system", use_local_cloning=False)
            status, sink = StatusBus(), MemorySink()
            stack = build(settings, status, sink, probe=False)
            engine, given = stack.engines["system"], []
            stream = engine.stream
            engine.stream = (  # type: ignore[method-assign]
                lambda t, v=None, lang="", s=stream, g=given: (g.append(lang), s(t, v, lang))[1])
            assistant = Assistant(LLMClient(settings), Conversation(), stack.pipeline, status)
            assistant.ask("Explain it in your language, please.")
            assistant.wait_idle(120)
            assistant.close()
            stack.close()
            srv.stop()
            language, words = heard_as(rec, sink)
            results.append(set(given) == {code})
            heard.append(language == code)
            print(f"{'ok  ' if results[-1] else 'FAIL'} {code} answer: the voice was given {'/'.join(given)}; "
                  f"edge-tts would use {voice_for(code, settings.edge_tts_voice, {})}; Whisper base heard "
                  f"{language} ({words[:40]})")
        # One answer mixing them: each sentence detected on its own and spoken in its language.
        settings = Settings(engine="system", use_local_cloning=False)
        sink = MemorySink()
        stack = build(settings, StatusBus(), sink, probe=False)
        result = stack.pipeline.speak_text(" ".join(ANSWERS.values()))
        stack.close()
        for sentence, (rate, audio) in zip(result.sentences, sink.sources, strict=True):
            want = next(code for code, text in ANSWERS.items() if text == sentence.text)
            sentence_heard = rec.transcribe(resample(audio, rate, 16000))
            results.append(sentence.language == want)
            heard.append(sentence_heard.language == want)
            print(f"{'ok  ' if results[-1] else 'FAIL'} mixed, {want} sentence: detected {sentence.language}; "
                  f"Whisper base heard {sentence_heard.language}")
        rec.close()
    print(f"{sum(results)} of {len(results)} held-out answers and sentences handed to the voice in their language; "
          f"Whisper base heard {sum(heard)} of {len(heard)} in it")
    return 0 if all(results) else 1


if __name__ == "__main__":
    sys.exit(main())
