"""Issue 13 item 3 and issue 14's first fragment: the streaming cleanup + splitter is linear in the answer,
streams exactly like the whole text, knows CJK sentence ends, strips terminal escapes, and may start a reply at
its first clause (never mid-word, only the first sentence)."""

from __future__ import annotations

import random
import threading
import time

import pytest

from daemon.settings import Settings
from daemon.speech.clean import clean
from daemon.speech.pipeline import TOO_LONG, Pipeline
from daemon.speech.router import Router
from daemon.speech.sentences import SentenceSplitter, split_sentences
from daemon.status import StatusBus
from tests.fixtures.tones import MemorySink, ToneEngine

PARAGRAPH = (
    "Sure! Here's **why** the sky is blue: sunlight hits the air, e.g. nitrogen. See [the docs](https://x.y/z) "
    "🌅 for more. It costs $3.50, i.e. nothing.\n- First item\n1. Numbered `code` here.\n\n```python\nx = 1. y\n```\n"
    "| a | b |\n|---|---|\n今天天气很好，我们去公园吧。Done... really? "
)


def stream(text: str, step: int, first_fragment_words: int = 0, budget_s: float = 3.0) -> list[str]:
    """Feed text in `step`-character deltas; fails as soon as it has used budget_s of CPU (a quadratic
    splitter would otherwise keep the suite busy for minutes)."""
    splitter = SentenceSplitter(first_fragment_words=first_fragment_words)
    out: list[str] = []
    t0 = time.process_time()
    for i in range(0, len(text), step):
        out += splitter.feed(text[i : i + step])
        if i % 4096 < step and time.process_time() - t0 > budget_s:
            pytest.fail(f"{i} of {len(text)} characters took over {budget_s} s of CPU")
    return out + splitter.close()


def test_200_kb_streamed_in_small_deltas_is_fast_and_equals_the_whole_text() -> None:
    """The old splitter re-cleaned the whole answer per delta: 100 KB took 25 s, 200 KB over a minute."""
    text = (PARAGRAPH * (200_000 // len(PARAGRAPH) + 1))[:200_000]
    t0 = time.process_time()
    streamed = stream(text, 3)
    elapsed = time.process_time() - t0
    whole = split_sentences(text)
    assert streamed == whole
    assert len(whole) > 5000 and "Here's why the sky is blue: sunlight hits the air, e.g. nitrogen." in whole
    assert elapsed < 3.0, f"200 KB took {elapsed:.2f} s of CPU"


@pytest.mark.parametrize("shape", ["one line of words", "no spaces at all", "unclosed brackets", "a code block"])
def test_cost_grows_linearly_with_the_answer(shape: str) -> None:
    unit = {"one line of words": "word " * 20, "no spaces at all": "a" * 100, "unclosed brackets": "[" * 100,
            "a code block": "```\n" + "x = 1\n" * 16}[shape]

    def cpu(n: int) -> float:
        text = (unit * (n // len(unit) + 1))[:n]
        t0 = time.process_time()
        stream(text, 4)
        return time.process_time() - t0

    cpu(20_000)  # warm-up
    small, big = cpu(50_000), cpu(200_000)
    assert big < 3.0
    assert big < 8 * max(small, 0.01), f"4x the text took {big / max(small, 1e-9):.1f}x the time (quadratic: 16x)"


def test_streaming_in_any_chunks_equals_the_whole_text_on_random_markdown() -> None:
    pieces = ["Hello", "there", ".", " ", " ", "\n", ",", "Dr.", "e.g.", "3.50", "1,000", "!", "?", "...", "**b**",
              "`code`", "[link](http://x.y/z)", "https://a.b/c", "www.x.org", "🎉", "- ", "1. ", "# ", "> ", "```",
              "| a | b |", "---", "The", "sky", "When", "J.", "你好", "。", "，", "！", "—", " - ", '"', ")", "<b>",
              "\x1b[31m", "U.S.", "Then", "3", "_x_", "é"]
    rng = random.Random(13)
    for _ in range(1500):
        text = "".join(rng.choice(pieces) + rng.choice(["", " "]) for _ in range(rng.randint(1, 30)))
        for words in (0, 3):
            whole = split_sentences(text, first_fragment_words=words)
            splitter = SentenceSplitter(first_fragment_words=words)
            got: list[str] = []
            i = 0
            while i < len(text):
                k = rng.choice([1, 2, 3, 7, 40])
                got += splitter.feed(text[i : i + k])
                i += k
            assert got + splitter.close() == whole, repr(text)


def test_cjk_sentence_ends_are_recognised_without_spaces() -> None:
    text = "今天天气很好。我们去公园吧！你觉得呢？「好的。」Then English."
    expected = ["今天天气很好。", "我们去公园吧！", "你觉得呢？", "「好的。」", "Then English."]
    assert split_sentences(text) == expected
    assert stream(text, 1) == expected


def test_a_cjk_sentence_is_released_as_soon_as_the_next_one_starts() -> None:
    splitter = SentenceSplitter()
    assert splitter.feed("今天天气很好。") == []
    assert splitter.feed("我") == ["今天天气很好。"]


def test_terminal_escapes_and_control_characters_are_not_spoken() -> None:
    assert split_sentences("\x1b[31mRed\x1b[0m alert\x07 now. \x1b]0;title\x07Done.") == ["Red alert now.", "Done."]
    assert clean("a\x00b\x1b[2Jc") == "abc"


# ---- the first fragment ----
def test_the_first_sentence_starts_at_its_first_clause() -> None:
    text = "The sky is blue, because air scatters blue light. Sunsets, however, look red."
    assert split_sentences(text, first_fragment_words=3) == [
        "The sky is blue,", "because air scatters blue light.", "Sunsets, however, look red."]
    assert split_sentences(text) == ["The sky is blue, because air scatters blue light.", "Sunsets, however, look red."]


@pytest.mark.parametrize(("text", "first"), [
    ("Here is the answer: it is blue.", "Here is the answer:"),
    ("It depends on light; mostly blue.", "It depends on light;"),
    ("Blue light scatters most — that is why.", "Blue light scatters most —"),
    ("Blue light scatters most - that is why.", "Blue light scatters most -"),
    ("今天天气很好，我们去公园吧。", "今天天气很好，"),
])
def test_colons_semicolons_and_dashes_also_end_the_first_fragment(text: str, first: str) -> None:
    assert split_sentences(text, first_fragment_words=3)[0] == first


@pytest.mark.parametrize(("text", "first"), [
    ("It costs 3,000 dollars, more or less.", "It costs 3,000 dollars,"),  # no break inside a number
    ("A well-known fact - they say.", "A well-known fact -"),  # a hyphen inside a word is no dash
    ("Yes, it is blue.", "Yes, it is blue."),  # too few words before the comma
    ("Dr. Smith, the doctor, agrees.", "Dr. Smith, the doctor,"),  # "Dr. Smith," is only two words
    ("Blue light scatters more than red light does.", "Blue light scatters more than red light does."),
])
def test_never_mid_word_and_only_after_a_few_words(text: str, first: str) -> None:
    assert split_sentences(text, first_fragment_words=3)[0] == first


def test_the_fragment_is_released_when_the_space_after_the_comma_arrives() -> None:
    splitter = SentenceSplitter(first_fragment_words=3)
    assert splitter.feed("The sky is blue,") == []
    assert splitter.feed(" ") == ["The sky is blue,"]
    assert splitter.feed("because air scatters, you see, blue light. Then, ") == [
        "because air scatters, you see, blue light."]  # only the first sentence is fragmented


def test_the_pipeline_speaks_the_first_clause_while_the_llm_still_writes_the_sentence() -> None:
    """Measured end to end in bench/pipeline_latency.py; here: audio plays before the sentence is complete."""
    for words, expect_early in ((3, True), (0, False)):
        engine = ToneEngine("system", 3)
        sink = MemorySink()
        status = StatusBus()
        settings = Settings(use_local_cloning=False, engine_order=["system"], first_fragment_words=words)
        pipe = Pipeline(Router({"system": engine}, settings, status, probe=False), sink, settings, status)
        heard = threading.Event()
        original = sink.play

        def play(samples, rate, original=original, heard=heard):  # type: ignore[no-untyped-def]
            original(samples, rate)
            heard.set()

        sink.play = play  # type: ignore[method-assign]
        early: list[bool] = []

        def deltas(heard=heard, early=early, wait=1.0 if expect_early else 0.3):  # type: ignore[no-untyped-def]
            yield "Sentence 1 is blue, "
            early.append(heard.wait(wait))
            yield "because air scatters light. Sentence 2."

        try:
            result = pipe.speak(deltas())
        finally:
            pipe.close()
        assert early == [expect_early]
        texts = [s.text for s in result.sentences]
        assert texts[0] == ("Sentence 1 is blue," if words else "Sentence 1 is blue, because air scatters light.")


def test_the_pipeline_caps_what_is_spoken_and_says_so() -> None:
    engine = ToneEngine("system", 3, chunks=1)
    sink = MemorySink()
    status = StatusBus()
    settings = Settings(use_local_cloning=False, engine_order=["system"], speak_max_chars=300)
    pipe = Pipeline(Router({"system": engine}, settings, status, probe=False), sink, settings, status)
    try:
        result = pipe.speak_text("This sentence is forty characters long. " * 200)
    finally:
        pipe.close()
    texts = [s.text for s in result.sentences]
    assert result.truncated and texts[-1] == TOO_LONG
    assert sum(len(t) for t in texts[:-1]) <= 300 and len(texts) == 8
