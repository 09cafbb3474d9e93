"""How many audio tokens one sentence may take: XTTS's GPT sometimes misses its stop token and babbles on to the
model's maximum (605 tokens, ~28 s of noise after a two-word sentence). Each sentence gets a budget from its
text instead: as long as the slowest plausible reading of it, plus a breath.

Derivation: XTTS v2's GPT emits one audio token per 1024 samples at 22.05 kHz (21.5 tokens/s). The LJ Speech
clips in ../shared/audio read at 12.0-17.6 characters/s (pauses included, median 15.8); a cloned voice or a
slow speaker may be slower, so the budget allows 8 characters/s (1.5x slower than the slowest clip) plus 1 s
(the last word's decay and a breath). Languages written with fewer, denser characters get their own rates
(Chinese ~4-5 characters/s read normally, Japanese ~7, Korean ~6: budgets at about half of that).
"""

from __future__ import annotations

import math

AUDIO_TOKENS_PER_S = 22050 / 1024
SLOW_CHARS_PER_S = 8.0
SLOW_CHARS_PER_S_BY_LANGUAGE = {"zh": 2.5, "ja": 3.5, "ko": 3.0}
LEAD_S = 1.0
MIN_TOKENS = 16


def audio_token_budget(text: str, language: str, model_max: int) -> int:
    """Most audio tokens a sentence of `text` in `language` may take (never more than the model's own cap)."""
    rate = SLOW_CHARS_PER_S_BY_LANGUAGE.get(language.split("-")[0].lower(), SLOW_CHARS_PER_S)
    seconds = LEAD_S + len(" ".join(text.split())) / rate
    return max(1, min(model_max, max(MIN_TOKENS, math.ceil(seconds * AUDIO_TOKENS_PER_S))))


def seconds(tokens: int) -> float:
    """Audio length of `tokens` audio tokens."""
    return tokens / AUDIO_TOKENS_PER_S
