"""XTTS streaming: text split to the model's character limit, VoxTray's own sentence streamer and a chunk
joiner that trims leading silence and fades every join so chunks play without clicks.

`stream_sentence` drives coqui's model parts directly instead of `Xtts.inference_stream`: GPT conditioning
once per sentence, one KV cache for the whole sentence (tokens.TokenStream), a chunk schedule (a small
first chunk for the first sentence of a reply, then growing chunks) and windowed HiFi-GAN decoding
(vocoder.WindowedVocoder), so the vocoder's work is linear in the sentence length instead of quadratic.
It holds the model lock for the sentence, runs fp16 autocast on CUDA only (latents and speaker embedding stay
fp32), maps CUDA out-of-memory to EngineOutOfMemoryError and stops between tokens when asked to.
`stock_generate` is coqui's `inference_stream` with the same guards, kept for the benchmark.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Callable, Generator, Iterator
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from daemon.audio import fade
from daemon.errors import EngineError, EngineOutOfMemoryError
from daemon.speech.sentences import split_sentences

log = logging.getLogger(__name__)

SILENCE_DB = -45.0
KEEP_S = 0.02  # audio kept before the first loud sample
HOLD_S = 0.005  # tail held back from each chunk so the very end can be faded
PART_GAP_S = 0.08  # pause between the pieces of a sentence split for length
MAX_LEAD_TRIM_S = 2.0  # never swallow more than this much "silence"
MAX_QUIET_HOLD_S = 1.5  # quiet held back at most this long (more is played: a long pause, or it is trimmed)
TRAIL_KEEP_S = 0.05  # quiet kept after the last loud sample of a sentence (then faded)
FINAL_STOPS = (".", "!", "?", "…", "。", "！", "？", ";", ":")
QUOTES = "\"“”„«»‹›「」『』"
PAIRS = {"(": ")", "[": "]", "{": "}"}


def speakable(text: str, language: str = "en") -> str:
    """A piece of text as XTTS reads it best: quote marks dropped (XTTS babbles after a closing quote), brackets
    without their partner dropped, and a final stop added (without one XTTS tends to swallow the last word)."""
    text = "".join(ch for ch in text if ch not in QUOTES)
    for left, right in PAIRS.items():
        if text.count(left) != text.count(right):
            text = text.replace(left, "").replace(right, "")
    text = " ".join(text.split()).strip(" '‘’-–—")
    if text and not text.endswith(FINAL_STOPS):
        text += "。" if language.split("-")[0] in ("zh", "ja") else "."
    return text


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


@dataclass(frozen=True)
class ChunkSchedule:
    """Tokens per chunk. A reply's first sentence starts with `first` and each later chunk is `growth` times the
    previous, up to `cap` (growth 1: every chunk is `first`, like coqui's fixed `stream_chunk_size`); the other
    sentences use `cap` throughout."""

    first: int
    cap: int
    growth: float = 1.0

    def sizes(self, small_start: bool) -> Iterator[int]:
        size = self.first if small_start else self.cap
        while True:
            yield size
            if self.growth > 1.0 and size < self.cap:
                size = min(self.cap, max(size + 1, round(size * self.growth)))


@dataclass
class SentenceStats:
    """What one `stream_sentence` call did (read by tests and the benchmark)."""

    tokens: int = 0  # audio tokens generated
    chunk_tokens: list[int] = field(default_factory=list)  # tokens behind each vocoder call
    tokens_at_first_audio: int | None = None
    frames_decoded: int = 0  # HiFi-GAN input frames decoded (the vocoder's work)
    frames_total: int = 0  # frames of a whole-sentence decode
    prefills: int = 0  # GPT prefills (1 per sentence: the KV cache lives across chunks)
    prefill_positions: int = 0  # prompt positions the prefill ran (text only when the voice's were cached)
    samples: int = 0
    cancelled: bool = False
    latents: Any = None  # (tokens, dim) fp32, kept only when keep_latents=True


def _compute_context(loaded: Any, fp16: bool) -> contextlib.ExitStack:
    """inference_mode + (on CUDA) fp16 autocast, entered only around compute, never across a yield."""
    import torch

    stack = contextlib.ExitStack()
    stack.enter_context(torch.inference_mode())
    stack.enter_context(autocast(loaded, fp16))
    return stack


@contextlib.contextmanager
def engine_errors(text: str) -> Iterator[None]:
    """Synthesis failures as the router's errors: CUDA out of memory -> EngineOutOfMemoryError (next tier, VRAM
    freed), anything else the model raises -> EngineError naming the sentence."""
    import torch

    try:
        yield
    except torch.cuda.OutOfMemoryError:
        torch.cuda.empty_cache()
        raise EngineOutOfMemoryError(
            "the GPU ran out of memory while speaking: close other GPU programs; the next voice takes over."
        ) from None
    except (RuntimeError, AssertionError, IndexError, ValueError) as exc:
        raise EngineError(f"XTTS failed on '{text[:40]}': {exc.__class__.__name__}: {str(exc)[:200]}") from None


def stream_sentence(
    loaded: Any,
    text: str,
    language: str,
    gpt_cond_latent: Any,
    speaker_embedding: Any,
    sizes: Iterator[int],
    *,
    temperature: float = 0.75,
    speed: float = 1.0,
    fp16: bool = True,
    top_k: int = 50,
    top_p: float = 0.85,
    repetition_penalty: float = 10.0,
    max_tokens: int | None = None,
    should_stop: Callable[[], bool] | None = None,
    stats: SentenceStats | None = None,
    keep_latents: bool = False,
    vocoder_options: dict[str, int] | None = None,
    cache_conditioning: bool = True,
) -> Generator[np.ndarray, None, None]:
    """One sentence as float32 chunks (raw vocoder output, 24 kHz); holds the model lock until it ends or is
    closed. `sizes` gives the tokens of each chunk; `should_stop` is polled between tokens; `speed` 1.5 speaks
    1.5 times as fast (the same tokens, fewer frames)."""
    import torch

    from daemon.speech.xtts.tokens import PrefixCache, TokenStream, prefix_cache
    from daemon.speech.xtts.vocoder import WindowedVocoder

    st = stats if stats is not None else SentenceStats()
    with loaded.lock:
        model = loaded.model
        if model is None:
            raise EngineError("XTTS was unloaded while speaking; the sentence goes to the next voice.")
        with engine_errors(text):
            with _compute_context(loaded, fp16):
                lang = language.split("-")[0]
                ids = model.tokenizer.encode(text.strip().lower(), lang=lang)
                if len(ids) >= model.args.gpt_max_text_tokens:
                    raise ValueError(f"{len(ids)} text tokens: more than XTTS's {model.args.gpt_max_text_tokens}")
                device = model.device
                text_tokens = torch.IntTensor(ids).unsqueeze(0).to(device)
                cond = gpt_cond_latent.to(device).float()
                spk = speaker_embedding.to(device).float()
                half = fp16 and getattr(loaded, "device", "cpu") == "cuda"
                prefix = (prefix_cache(model), PrefixCache.key(gpt_cond_latent, device, half))
                tokens = TokenStream(
                    model, text_tokens, cond, temperature=temperature, top_k=top_k, top_p=top_p,
                    repetition_penalty=repetition_penalty, max_tokens=max_tokens, should_stop=should_stop,
                    prefix=prefix if cache_conditioning else None,
                )
                token_iter = iter(tokens)
                vocoder = WindowedVocoder(model.hifigan_decoder, spk, speed=speed, **(vocoder_options or {}))
            ended = False
            while not ended:
                want = max(1, int(next(sizes)))
                with _compute_context(loaded, fp16):
                    new: list[Any] = []
                    while len(new) < want:
                        item = next(token_iter, None)
                        if item is None:
                            ended = True
                            break
                        new.append(item[1].float())
                        if tokens.finished:
                            ended = True
                            break
                    st.tokens, st.prefills = tokens.generated, tokens.prefills
                    st.prefill_positions = tokens.prefill_positions
                    if tokens.cancelled:
                        st.cancelled = True
                        return
                    if new:
                        st.chunk_tokens.append(len(new))
                    if ended:  # the last chunk: one decode to the sentence's true end
                        vocoder.extend(new)
                        wav = vocoder.finish()
                    else:
                        wav = vocoder.push(new)
                    arr = wav.detach().float().cpu().numpy().reshape(-1)
                    st.frames_decoded = vocoder.frames_decoded
                    if ended:
                        st.frames_total = vocoder.map.total_frames(vocoder.tokens)
                        if keep_latents and vocoder.tokens:
                            st.latents = vocoder.latents().detach().float().cpu()
                if arr.size:
                    if st.tokens_at_first_audio is None:
                        st.tokens_at_first_audio = st.tokens
                    st.samples += arr.size
                    yield np.clip(arr, -1.0, 1.0).astype(np.float32, copy=False)


def stock_generate(
    loaded: Any, text: str, language: str, gpt_cond_latent: Any, speaker_embedding: Any, options: dict[str, Any]
) -> Generator[np.ndarray, None, None]:
    """Chunks of coqui's own `inference_stream` (quadratic vocoder work; the benchmark's baseline) as float32
    arrays, with the same guards as `stream_sentence`."""
    opts = dict(options)
    fp16 = bool(opts.pop("fp16", True))
    with loaded.lock:
        model = loaded.model
        if model is None:
            raise EngineError("XTTS was unloaded while speaking; the sentence goes to the next voice.")
        with engine_errors(text):
            gen = model.inference_stream(text, language, gpt_cond_latent, speaker_embedding, **opts)
            while True:
                with autocast(loaded, fp16):
                    chunk = next(gen, None)
                if chunk is None:
                    break
                arr = chunk.detach().float().cpu().numpy().reshape(-1)
                yield np.clip(arr, -1.0, 1.0).astype(np.float32, copy=False)


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
        # Hold back the quiet end of what arrived (with 5 ms at least, to fade the very end): when the sentence
        # ends there, finish() drops it; when speech follows, it is played before that speech, unchanged.
        loud = np.flatnonzero(np.abs(data) > self._thresh)
        keep = int(self.rate * TRAIL_KEEP_S)
        quiet_from = int(loud[-1]) + 1 + keep if loud.size else 0
        hold = max(self._hold, min(data.size - quiet_from, int(self.rate * MAX_QUIET_HOLD_S)))
        if data.size <= hold:
            self._tail = data
            return np.zeros(0, dtype=np.float32)
        self._tail = data[-hold:].copy()
        return data[:-hold]

    def end_part(self) -> None:
        """The current piece of text ended: the next chunk starts a new piece (faded in after a short pause)."""
        if not self._started:
            return
        self._tail = np.concatenate(
            [self._fade_out(self._tail), np.zeros(int(self.rate * PART_GAP_S), dtype=np.float32)]
        )
        self._fade_next = True

    def finish(self) -> np.ndarray:
        """Whatever is held back, its quiet end dropped (50 ms kept), faded out (trailing part gaps dropped)."""
        tail = self._tail
        loud = np.flatnonzero(np.abs(tail) > self._thresh)
        tail = tail[: int(loud[-1]) + 1 + int(self.rate * TRAIL_KEEP_S)] if loud.size else tail[: self._hold]
        tail = np.trim_zeros(tail, "b") if self._fade_next else self._fade_out(tail)
        self._tail = np.zeros(0, dtype=np.float32)
        return tail.astype(np.float32, copy=False)

    def _fade_out(self, tail: np.ndarray) -> np.ndarray:
        if tail.size == 0:
            return tail
        ramp = np.linspace(1.0, 0.0, tail.size, dtype=np.float32)
        return (tail * ramp).astype(np.float32)
