"""XTTS streaming helpers: text split to the model's character limit, the guarded `inference_stream`
generator (one synthesis at a time, fp16 autocast on CUDA, OOM mapped to EngineOutOfMemoryError) and a
chunk joiner that trims leading silence and fades every join so chunks play without clicks.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Generator
from typing import Any

import numpy as np

from daemon.errors import EngineError, EngineOutOfMemoryError
from daemon.speech.audio import fade
from daemon.speech.text import split_sentences

log = logging.getLogger(__name__)

SILENCE_DB = -45.0
KEEP_S = 0.02  # audio kept before the first loud sample
HOLD_S = 0.005  # tail held back from each chunk so the very end can be faded
PART_GAP_S = 0.08  # pause between the pieces of a sentence split for length
MAX_LEAD_TRIM_S = 2.0  # never swallow more than this much "silence"


def split_text(text: str, limit: int) -> list[str]:
    """Text as pieces of at most `limit` characters, split at sentence, then clause, then word breaks."""
    text = " ".join(text.split())
    if not text:
        return []
    if len(text) <= limit:
        return [text]
    parts: list[str] = []
    for sentence in split_sentences(text, max_chars=max(20, limit - 2)):
        while len(sentence) > limit:  # the splitter's forced split can leave a few chars over
            cut = sentence.rfind(" ", 0, limit)
            cut = cut if cut > limit // 3 else limit
            parts.append(sentence[:cut].strip())
            sentence = sentence[cut:].strip()
        if sentence:
            parts.append(sentence)
    return [p for p in parts if p]


def autocast(loaded: Any, fp16: bool = True) -> contextlib.AbstractContextManager[Any]:
    """fp16 autocast on CUDA (XTTS breaks with model.half()); a no-op on the CPU."""
    import torch

    if fp16 and getattr(loaded, "device", "cpu") == "cuda":
        return torch.autocast("cuda", dtype=torch.float16)
    return contextlib.nullcontext()


def generate(
    loaded: Any, text: str, language: str, gpt_cond_latent: Any, speaker_embedding: Any, options: dict[str, Any]
) -> Generator[np.ndarray, None, None]:
    """Chunks of one `inference_stream` call as float32 arrays; holds the model lock for the whole sentence."""
    import torch

    opts = dict(options)
    fp16 = bool(opts.pop("fp16", True))
    with loaded.lock:
        model = loaded.model
        if model is None:
            raise EngineError("XTTS was unloaded while speaking; the sentence goes to the next voice.")
        try:
            gen = model.inference_stream(text, language, gpt_cond_latent, speaker_embedding, **opts)
            while True:
                with autocast(loaded, fp16):
                    chunk = next(gen, None)
                if chunk is None:
                    break
                arr = chunk.detach().float().cpu().numpy().reshape(-1)
                yield np.clip(arr, -1.0, 1.0).astype(np.float32, copy=False)
        except torch.cuda.OutOfMemoryError:
            torch.cuda.empty_cache()
            raise EngineOutOfMemoryError(
                "the GPU ran out of memory while speaking: close other GPU programs; the next voice takes over."
            ) from None
        except (RuntimeError, AssertionError, IndexError, ValueError) as exc:
            raise EngineError(f"XTTS failed on '{text[:40]}': {exc.__class__.__name__}: {str(exc)[:200]}") from None


class ChunkJoiner:
    """Joins streamed chunks: trims leading silence, fades in/out, holds a few ms to fade the final end."""

    def __init__(self, rate: int) -> None:
        self.rate = rate
        self._started = False
        self._dropped = 0
        self._tail = np.zeros(0, dtype=np.float32)
        self._fade_next = True
        self._hold = max(1, int(rate * HOLD_S))
        self._thresh = 10 ** (SILENCE_DB / 20.0)

    def push(self, chunk: np.ndarray, new_part: bool = False) -> np.ndarray:
        """Audio ready to play now (may be empty while leading silence is being skipped)."""
        chunk = np.asarray(chunk, dtype=np.float32).reshape(-1)
        if not self._started:
            loud = np.flatnonzero(np.abs(chunk) > self._thresh)
            if loud.size == 0 and self._dropped + chunk.size < self.rate * MAX_LEAD_TRIM_S:
                self._dropped += chunk.size
                return np.zeros(0, dtype=np.float32)
            start = max(0, int(loud[0]) - int(self.rate * KEEP_S)) if loud.size else 0
            chunk = chunk[start:]
            self._started = True
        if self._fade_next and chunk.size:
            chunk = fade(chunk, self.rate, fade_in=True, fade_out=False)
            self._fade_next = False
        data = np.concatenate([self._tail, chunk]) if self._tail.size else chunk
        if data.size <= self._hold:
            self._tail = data
            return np.zeros(0, dtype=np.float32)
        self._tail = data[-self._hold :].copy()
        return data[: -self._hold]

    def end_part(self) -> None:
        """The current piece of text ended: the next chunk starts a new piece (faded in after a short pause)."""
        if not self._started:
            return
        self._tail = np.concatenate(
            [self._fade_out(self._tail), np.zeros(int(self.rate * PART_GAP_S), dtype=np.float32)]
        )
        self._fade_next = True

    def finish(self) -> np.ndarray:
        """Whatever is held back, faded out (trailing part gaps dropped)."""
        tail = np.trim_zeros(self._tail, "b") if self._fade_next else self._fade_out(self._tail)
        self._tail = np.zeros(0, dtype=np.float32)
        return tail.astype(np.float32, copy=False)

    def _fade_out(self, tail: np.ndarray) -> np.ndarray:
        if tail.size == 0:
            return tail
        ramp = np.linspace(1.0, 0.0, tail.size, dtype=np.float32)
        return (tail * ramp).astype(np.float32)
