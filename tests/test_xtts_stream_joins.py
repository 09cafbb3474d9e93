"""Text splitting to XTTS's character limit and the chunk joiner (leading-silence trim, click-free joins),
on plain arrays: no model needed for these rules.
"""

from __future__ import annotations

import numpy as np

from daemon.speech.xtts.stream import ChunkJoiner, speakable, split_text

RATE = 24000


def _tone(seconds: float, hz: float = 220.0, phase: float = 0.0) -> np.ndarray:
    t = np.arange(int(RATE * seconds)) / RATE
    return (0.5 * np.sin(2 * np.pi * hz * t + phase)).astype(np.float32)


def test_long_text_is_split_under_the_limit_without_losing_words() -> None:
    sentence = "This sentence, which keeps going with clause after clause and word after word, never seems to end"
    text = " ".join([sentence] * 4) + ". Short one. " + "x" * 10
    parts = split_text(text, 250)
    assert len(parts) > 1 and all(len(p) <= 250 for p in parts)
    assert " ".join(parts).split() == text.split()
    assert split_text("  Short   text. ", 250) == ["Short text."]
    assert split_text("   ", 250) == []


def test_leading_silence_is_trimmed_and_the_ends_are_faded() -> None:
    joiner = ChunkJoiner(RATE)
    silence = np.zeros(int(RATE * 0.3), dtype=np.float32)
    onset = np.concatenate([np.zeros(int(RATE * 0.1), dtype=np.float32), _tone(0.2)])
    out = [joiner.push(silence), joiner.push(onset), joiner.push(_tone(0.2, phase=0.0))]
    out.append(joiner.finish())
    assert out[0].size == 0, "pure silence before speech is not played"
    audio = np.concatenate(out)
    lead = np.flatnonzero(np.abs(audio) > 1e-3)[0] / RATE
    assert lead <= 0.021, f"{lead:.3f}s of silence kept before the speech"
    assert abs(audio[0]) < 1e-3 and abs(audio[-1]) < 1e-2, "starts and ends at zero: no click"
    assert abs(audio.size - int(RATE * 0.42)) <= 2


def test_joins_between_chunks_and_split_parts_add_no_jumps() -> None:
    joiner = ChunkJoiner(RATE)
    whole = _tone(0.6)
    pieces = [whole[:4000], whole[4000:9000], whole[9000:]]
    got = [joiner.push(p) for p in pieces[:2]]
    joiner.end_part()  # the sentence was split for length: a short faded pause follows
    got += [joiner.push(pieces[2]), joiner.finish()]
    audio = np.concatenate(got)
    max_step = float(np.max(np.abs(np.diff(whole))))
    assert float(np.max(np.abs(np.diff(audio)))) <= max_step * 1.05, "a join made a jump (a click)"
    fade = int(RATE * 0.005)
    np.testing.assert_allclose(audio[fade : 9000 - fade], whole[fade : 9000 - fade], atol=1e-6)  # unchanged
    gap = audio[9000 : 9000 + int(RATE * 0.05)]
    assert np.all(np.abs(gap) < 1e-6), "a pause separates the parts"


def test_the_quiet_end_of_a_sentence_is_dropped_and_a_pause_inside_it_is_kept() -> None:
    """XTTS often runs on after the last word (near-silence or a breath): the sentence ends 50 ms after its last
    loud sample; the same quiet between two words is played unchanged."""
    joiner = ChunkJoiner(RATE)
    quiet = np.full(int(RATE * 0.4), 1e-4, dtype=np.float32)
    out = [joiner.push(_tone(0.2)), joiner.push(quiet), joiner.push(quiet), joiner.finish()]
    audio = np.concatenate(out)
    assert abs(audio.size / RATE - 0.25) < 0.01, f"{audio.size / RATE:.3f} s: the quiet end was played"
    joiner = ChunkJoiner(RATE)
    out = [joiner.push(_tone(0.2)), joiner.push(quiet), joiner.push(_tone(0.2)), joiner.finish()]
    audio = np.concatenate(out)
    assert abs(audio.size / RATE - 0.8) < 0.01, "the pause between the words was cut"
    np.testing.assert_allclose(audio[int(RATE * 0.25): int(RATE * 0.55)], 1e-4, atol=1e-6)


def test_text_is_made_speakable_for_xtts() -> None:
    assert speakable('He said "yes"') == "He said yes."
    assert speakable("«Bonjour», dit-elle") == "Bonjour, dit-elle."
    assert speakable("(see below") == "see below."
    assert speakable("Use f(x) here!") == "Use f(x) here!"
    assert speakable("It's fine") == "It's fine."
    assert speakable("你好", "zh-cn") == "你好。"
    assert speakable('"') == ""
