"""Speakable-text cleanup and the streaming sentence splitter."""

from __future__ import annotations

import pytest

from daemon.speech.clean import clean
from daemon.speech.sentences import SentenceSplitter, split_sentences

CASES = [
    ("Dr. Smith paid $3.50. Then he left.", ["Dr. Smith paid $3.50.", "Then he left."]),
    ("It costs 3.50 dollars. Version 2.1.3 is out.", ["It costs 3.50 dollars.", "Version 2.1.3 is out."]),
    ("Hello! How are you? Fine.", ["Hello!", "How are you?", "Fine."]),
    ("I'm fine... really. Wait... What?", ["I'm fine... really.", "Wait...", "What?"]),
    ("Use e.g. apples. The U.S. economy grew 3.5% in 2023.", ["Use e.g. apples.", "The U.S. economy grew 3.5% in 2023."]),
    ("J. K. Rowling wrote it. We met at 5 p.m. today.", ["J. K. Rowling wrote it.", "We met at 5 p.m. today."]),
    ('He said "Stop." Then he left.', ['He said "Stop."', "Then he left."]),
    ("List:\n- First item\n- Second **bold** item\n1. Numbered one\n2) Numbered two",
     ["List:", "First item", "Second bold item", "Numbered one", "Numbered two"]),
    ("Code:\n```python\nprint('hi. there')\nx = 1.5\n```\nDone.", ["Code:", "Done."]),
    ("See https://example.com/a.b?c=d for more. Or www.test.org.", ["See for more.", "Or."]),
    ("Party time 🎉🎉 now. 👍", ["Party time now."]),
    ("[Docs](http://x.y/z) explain it. ![img](a.png)", ["Docs explain it."]),
    ("# Title\nText with `word` and `np.zeros(3)` here.", ["Title", "Text with word and here."]),
    ("| a | b |\n|---|---|\n| 1 | 2 |\nEnd.", ["a, b", "1, 2", "End."]),
    ("> quoted line. ---\n\n***\nAfter.", ["quoted line.", "---", "After."][::2]),
    ("No final punctuation", ["No final punctuation"]),
]


@pytest.mark.parametrize(("text", "expected"), CASES)
def test_tricky_cases_split_into_expected_sentences(text: str, expected: list[str]) -> None:
    assert split_sentences(text) == expected


@pytest.mark.parametrize(("text", "_expected"), CASES)
def test_streaming_char_by_char_equals_whole_text(text: str, _expected: list[str]) -> None:
    splitter = SentenceSplitter()
    streamed: list[str] = []
    for ch in text:
        streamed += splitter.feed(ch)
    streamed += splitter.close()
    assert streamed == split_sentences(text)


def test_streaming_llm_like_tokens_equals_whole_text() -> None:
    text = "Sure! Here are **three** tips:\n\n1. Drink water.\n2. Sleep 8 hours, e.g. from 11 p.m. on.\n3. Walk.\n"
    tokens = [text[i : i + 3] for i in range(0, len(text), 3)]
    splitter = SentenceSplitter()
    streamed = [s for t in tokens for s in splitter.feed(t)] + splitter.close()
    assert streamed == split_sentences(text) == [
        "Sure!", "Here are three tips:", "Drink water.", "Sleep 8 hours, e.g. from 11 p.m. on.", "Walk.",
    ]


def test_first_sentence_is_released_as_soon_as_the_next_word_starts() -> None:
    splitter = SentenceSplitter()
    assert splitter.feed("Hello there.") == []
    assert splitter.feed(" How") == ["Hello there."]
    assert splitter.feed(" are you") == []
    assert splitter.close() == ["How are you"]


def test_question_mark_releases_on_the_following_space() -> None:
    splitter = SentenceSplitter()
    assert splitter.feed("Ready? ") == ["Ready?"]


def test_over_long_sentence_is_cut_at_a_clause_break() -> None:
    text = "word " * 30 + "and then, " + "more words " * 30 + "end."
    sentences = split_sentences(text, max_chars=200)
    assert len(sentences) >= 2
    assert all(len(s) <= 200 for s in sentences)
    assert " ".join(sentences).split() == clean(text).split()


def test_open_code_fence_holds_back_text_until_closed() -> None:
    splitter = SentenceSplitter()
    assert splitter.feed("Look:\n```\nrm -rf x. Do it. ") == ["Look:"]
    assert splitter.feed("\n```\nOk. Bye") == ["Ok."]
    assert splitter.close() == ["Bye"]


def test_clean_removes_markdown_urls_emoji_but_keeps_numbers() -> None:
    assert clean("**Total:** $3.50 (see https://a.b/c) ✅") == "Total: $3.50 (see )"
    assert clean("Visit https://example.com.") == "Visit."


def test_a_very_short_sentence_is_spoken_with_the_next_one_however_the_text_arrives() -> None:
    """merge_words (the pipeline uses 3): "Sure." alone is where XTTS babbles most; it waits for its neighbour."""
    text = "Sure. The sky is blue because of scattering. Of course! Red light passes through. Yes."
    want = ["Sure. The sky is blue because of scattering.", "Of course! Red light passes through.", "Yes."]
    for step in (1, 3, len(text)):
        splitter = SentenceSplitter(merge_words=3)
        got = [s for i in range(0, len(text), step) for s in splitter.feed(text[i:i + step])] + splitter.close()
        assert got == want, step
    first = SentenceSplitter(merge_words=3, first_fragment_words=3)
    assert first.feed("Sure. The sky, as you know, is blue.") + first.close() == [
        "Sure. The sky, as you know,", "is blue."], "the first clause still starts speech early"
    assert split_sentences("Sure. The sky is blue.") == ["Sure.", "The sky is blue."], "off unless asked"
