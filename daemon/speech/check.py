"""The clone checks itself by ear: a synthesised sentence is transcribed (the recogniser VoxTray already has)
and compared with its text before it is played.

    check = SpeechCheck(lambda: settings, words=talk.heard_words)   # (audio16k, language) -> [(word, start, end)]
    review = check.review(text, audio, rate, language)   # None: not checked (off, not suspicious, not loaded)
    review.audio          # what to play: the whole sentence, or cut after its last real word
    review.rejected       # it said something else: the next voice reads the sentence instead

`speech_check`: "on" checks every sentence of a checking engine (XTTS) that the router holds until it is complete
(every sentence but an answer's first, which streams: checking it would delay first audio by a recognition);
"last-resort" (the default) only a sentence that ran long for its text (longer than its text read at 11
characters a second, LJ Speech's slowest reader, + 0.8 s: babble is what makes a sentence run long; XTTS's token
budget stops it at 8 characters a second + 1 s), so it costs nothing on a normal sentence;
"off" never.

The score: the text's words and the heard words (lower case, letters and digits) are aligned (longest common
subsequence); `matched` = aligned words / text words. The sentence is good when matched >= 0.6 (Whisper base
mishears a word or two in a short sentence; below 0.6 most of it is not there) and at most 2 heard words follow
the last aligned one; when more follow (babble after the sentence) it is cut 0.15 s after the last aligned
word's end (word timestamps); when matched < 0.6 it is rejected.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from daemon.audio import resample
from daemon.settings import Settings

log = logging.getLogger(__name__)

RATE = 16000  # what the recogniser hears
MIN_MATCHED = 0.6
EXTRA_WORDS = 2
CUT_PAD_S = 0.15
SLOW_CHARS_PER_S = 11.0  # slower than LJ Speech's slowest clip (~12 characters a second)


@dataclass(frozen=True)
class Word:
    text: str
    start: float
    end: float


@dataclass(frozen=True)
class Review:
    audio: np.ndarray | None  # None when rejected
    matched: float
    heard: str
    cut_s: float = 0.0  # seconds cut from the end

    @property
    def rejected(self) -> bool:
        return self.audio is None


# (word, start s, end s) heard in 16 kHz audio in a language ("" = detect); None: the recogniser is not ready
Words = Callable[[np.ndarray, str], list[tuple[str, float, float]] | None]


def _norm(text: str) -> list[str]:
    return re.findall(r"[^\W_]+", text.lower())


def align(said: list[str], heard: list[str]) -> list[tuple[int, int]]:
    """Pairs (index in said, index in heard) of the longest common subsequence."""
    n, m = len(said), len(heard)
    table = np.zeros((n + 1, m + 1), dtype=np.int32)
    for i in range(n - 1, -1, -1):
        for j in range(m - 1, -1, -1):
            table[i, j] = table[i + 1, j + 1] + 1 if said[i] == heard[j] else max(table[i + 1, j], table[i, j + 1])
    pairs, i, j = [], 0, 0
    while i < n and j < m:
        if said[i] == heard[j]:
            pairs.append((i, j))
            i, j = i + 1, j + 1
        elif table[i + 1, j] >= table[i, j + 1]:
            i += 1
        else:
            j += 1
    return pairs


def judge(text: str, words: list[Word], audio: np.ndarray, rate: int) -> Review:
    """Compare what was said with the text (see the module's docstring for the rule)."""
    said = _norm(text)
    heard_words = [(w, t) for w in words for t in _norm(w.text)]
    heard = [t for _w, t in heard_words]
    heard_text = " ".join(heard)
    if not said:
        return Review(audio, 1.0, heard_text)
    pairs = align(said, heard)
    matched = len(pairs) / len(said)
    if matched < MIN_MATCHED:
        return Review(None, matched, heard_text)
    last = pairs[-1][1]
    if len(heard) - 1 - last <= EXTRA_WORDS:
        return Review(audio, matched, heard_text)
    end = min(audio.size, int((heard_words[last][0].end + CUT_PAD_S) * rate))
    return Review(audio[:end], matched, heard_text, cut_s=(audio.size - end) / rate)


def suspicious(text: str, seconds: float) -> bool:
    """Longer than the text needs at a slow reading rate (+ 0.8 s): what babble after a sentence looks like."""
    return seconds > len(text) / SLOW_CHARS_PER_S + 0.8


class SpeechCheck:
    """Checks sentences by ear when `speech_check` asks for it and the recogniser is ready."""

    def __init__(self, settings: Callable[[], Settings], words: Words) -> None:
        self._settings = settings
        self._words = words

    def review(self, text: str, audio: np.ndarray, rate: int, language: str = "") -> Review | None:
        settings = self._settings()
        mode, seconds_at_1x = settings.speech_check, audio.size / rate * settings.speech_speed
        if mode == "off" or (mode == "last-resort" and not suspicious(text, seconds_at_1x)):
            return None
        found = self._words(resample(audio, rate, RATE), language)
        if found is None:
            return None
        review = judge(text, [Word(*w) for w in found], audio, rate)
        if review.rejected:
            log.warning("speech check: the voice did not say %r (heard %r, %.0f %% of the words): the next voice "
                        "reads it", text[:60], review.heard[:60], 100 * review.matched)
        elif review.cut_s:
            log.info("speech check: %.1f s of babble after %r cut (heard %r)", review.cut_s, text[:60],
                     review.heard[:80])
        return review
