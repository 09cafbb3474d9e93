"""Tier 1: the XTTS v2 cloning engine, kept warm, streaming chunks with VoxTray's own streamer.

The model is a process-wide singleton (see model.py); speaker latents come from a disk cache
(settings.voices_cache_path, latents.py). Sentences stream through `stream.stream_sentence` (one KV cache
per sentence, windowed vocoding: linear work). The first sentence of an utterance starts with a small chunk
(`xtts_first_chunk_tokens`) so audio starts early, then chunks grow by `xtts_chunk_growth` up to
`xtts_chunk_tokens`; later sentences use `xtts_chunk_tokens`. `interrupt()` stops the sentence being made
within one token.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import deque
from collections.abc import Callable, Iterator
from typing import Any

import numpy as np

from daemon.errors import EngineError, EngineOutOfMemoryError, EngineUnavailableError, VoiceError
from daemon.settings import Settings
from daemon.speech.engines.base import Engine
from daemon.speech.language import XTTS, base, fixed_language
from daemon.speech.xtts import model as xtts_model
from daemon.speech.xtts import stream as xtts_stream
from daemon.speech.xtts.budget import audio_token_budget
from daemon.speech.xtts.budget import seconds as budget_seconds
from daemon.speech.xtts.latents import LatentCache, Latents
from daemon.status import StatusBus, Tier
from daemon.voices import VoiceRef

log = logging.getLogger(__name__)

WARMUP_TEXT = "Hello."
RTF_WINDOW = 5


class XttsEngine(Engine):
    """Coqui XTTS v2 voice cloning (GPU, or CPU when allowed)."""

    name = "xtts"
    label = "cloned voice (XTTS)"
    status_tier = Tier.XTTS
    gpu_bound = True
    checked = True  # XTTS may babble past its text or say something else: checked by ear

    def enabled(self) -> tuple[bool, str]:
        return (True, "") if self.settings.use_local_cloning else (False, "cloning is off in settings")
    sample_rate = 24000

    def __init__(self, settings: Settings, status: StatusBus | None = None) -> None:
        self.settings = settings
        self.status = status
        self._loaded: xtts_model.LoadedModel | None = None
        self._lock = threading.RLock()
        self._latents = LatentCache(settings.voices_cache_path)
        self._first_pending = True
        self._rtfs: deque[float] = deque(maxlen=RTF_WINDOW)
        self._interrupt = threading.Event()
        self.last_latents: Latents | None = None
        self.last_stats: list[xtts_stream.SentenceStats] = []  # per piece of the last sentence (tests, bench)

    # --- lifecycle ---
    @property
    def loaded(self) -> bool:
        return self._loaded is not None and self._loaded.model is not None

    def ready(self) -> bool:
        return self.loaded

    @property
    def device(self) -> str | None:
        return self._loaded.device if self._loaded else None

    @property
    def vram_used_mb(self) -> float | None:
        return self._loaded.vram_used_mb if self._loaded else None

    @property
    def measured_rtf(self) -> float | None:
        return float(np.mean(self._rtfs)) if self._rtfs else None

    def _publish(self, **changes: Any) -> None:
        if self.status is not None:
            self.status.update(**changes)

    def load(self, progress: Callable[[str, float | None], None] | None = None) -> None:
        """Load (or join) the shared model, then warm it up; safe to call from any thread, any number of times."""
        with self._lock:
            if self.loaded:
                return
            self._publish(model_state="loading")
            try:
                loaded = xtts_model.acquire(self.settings, progress)
            except EngineError:
                self._publish(model_state="failed")
                raise
            self._loaded = loaded
            try:
                self._check_language()
                with loaded.lock:
                    if not loaded.warmed:
                        self._warm_up(progress)
                        loaded.warmed = True
            except Exception as exc:
                self.unload()
                self._publish(model_state="failed")
                if isinstance(exc, EngineError):
                    raise
                raise EngineError(f"XTTS warm-up failed: {exc.__class__.__name__}: {str(exc)[:200]}") from exc
            self._publish(model_state="warm")

    def unload(self) -> None:
        """Give the model back; the last user frees it and its VRAM (del + gc + empty_cache)."""
        with self._lock:
            loaded, self._loaded = self._loaded, None
        if loaded is not None:
            xtts_model.release(loaded)
            self._publish(model_state="unloaded")

    def close(self) -> None:
        self.unload()

    def _model(self) -> xtts_model.LoadedModel:
        loaded = self._loaded
        if loaded is None or loaded.model is None:
            raise EngineUnavailableError("XTTS is not loaded yet (it loads at start-up; wait or check the log).")
        return loaded

    def _language(self, language: str = "") -> str:
        """XTTS's code for the sentence's language: a fixed xtts_language wins; "zh" is "zh-cn" to XTTS."""
        lang = fixed_language(self.settings.xtts_language) or base(language) or "en"
        return "zh-cn" if lang == "zh" else lang

    def speaks(self, language: str) -> bool:
        """The languages of the model's config (XTTS v2: 17); everything when xtts_language fixes one."""
        if fixed_language(self.settings.xtts_language) or not language:
            return True
        loaded = self._loaded
        config = getattr(getattr(loaded, "model", None), "config", None)
        langs = list(getattr(config, "languages", []) or []) or [self._language(c) for c in XTTS]
        return self._language(language) in langs

    def _check_language(self) -> None:
        langs = list(getattr(self._model().model.config, "languages", []) or [])
        if langs and fixed_language(self.settings.xtts_language) and self._language() not in langs:
            raise EngineUnavailableError(
                f"xtts_language '{self.settings.xtts_language}' is not a language XTTS speaks; "
                f"use one of: {', '.join(langs)}."
            )

    def _warm_up(self, progress: Callable[[str, float | None], None] | None) -> None:
        """One short synthesis so the first real sentence does not pay for kernel set-up."""
        if progress:
            progress("warming up XTTS", None)
        t0 = time.perf_counter()
        ref = self.settings.reference_path
        gpt = spk = None
        if ref.is_file():
            try:  # precomputes the reference's latents too; a bad reference must not block the model
                lat = self.prepare_voice(VoiceRef(ref.stem, ref))
                gpt, spk = lat.gpt_cond_latent, lat.speaker_embedding
            except EngineUnavailableError as exc:
                log.warning("warming up without the reference voice: %s", exc)
        if gpt is None:
            gpt, spk = self._synthetic_latents()
        loaded = self._model()
        schedule = xtts_stream.ChunkSchedule(4, 4)
        gen = xtts_stream.stream_sentence(
            loaded, WARMUP_TEXT, self._language(), gpt, spk, schedule.sizes(True), **self._options()
        )
        try:
            next(gen, None)  # the first chunk exercises the GPT and the vocoder
        finally:
            gen.close()
        log.info("XTTS warm-up took %.2f s", time.perf_counter() - t0)

    def _synthetic_latents(self) -> tuple[Any, Any]:
        import torch

        from daemon.speech.xtts import latents as latents_mod

        model = self._model().model
        rng = np.random.default_rng(0)
        t = np.arange(latents_mod.GPT_RATE * 3) / latents_mod.GPT_RATE
        tone = (0.1 * np.sin(2 * np.pi * 180 * t) + 0.01 * rng.standard_normal(t.size)).astype(np.float32)
        wav = torch.from_numpy(tone)[None, :].to(model.device)
        with torch.inference_mode():
            gpt = model.get_gpt_cond_latents(wav, latents_mod.GPT_RATE, length=3, chunk_length=3)
            spk = model.get_speaker_embedding(wav, latents_mod.GPT_RATE)
        return gpt.float().cpu(), spk.float().cpu()

    # --- voices ---
    def prepare_voice(self, voice: VoiceRef) -> Latents:
        """The voice's conditioning latents: from memory, the disk cache, or computed once (then cached)."""
        if voice.path is None:
            raise EngineUnavailableError(f"voice '{voice.name}' has no reference clip; XTTS needs one to clone it.")
        loaded = self._model()
        cache_dir = self.settings.voices_cache_path
        if self._latents.cache_dir != cache_dir:  # voices_dir changed by a reload: its own cache from now on
            self._latents = LatentCache(cache_dir)
        try:
            with loaded.lock:
                lat = self._latents.get(loaded.model, loaded.identity, voice.path)
        except VoiceError as exc:
            raise EngineUnavailableError(str(exc)) from None
        self.last_latents = lat
        return lat

    # --- speaking ---
    def begin_utterance(self) -> None:
        """The next sentence starts a new reply: stream it with the small first chunk."""
        self._first_pending = True

    def interrupt(self) -> None:
        """Stop the sentence being synthesised at its next token (barge-in); the next `stream` runs normally."""
        self._interrupt.set()

    def schedule(self) -> xtts_stream.ChunkSchedule:
        s = self.settings
        return xtts_stream.ChunkSchedule(s.xtts_first_chunk_tokens, s.xtts_chunk_tokens, s.xtts_chunk_growth)

    def _options(self) -> dict[str, Any]:
        s = self.settings
        return {"temperature": s.xtts_temperature, "fp16": s.xtts_fp16, "speed": s.speech_speed}

    def _voice(self, voice: VoiceRef | None) -> VoiceRef:
        if voice is not None and voice.path is not None:
            return voice
        ref = self.settings.reference_path
        return VoiceRef(ref.stem, ref)

    def stream(self, text: str, voice: VoiceRef | None = None, language: str = "") -> Iterator[np.ndarray]:
        """Synthesise one sentence (split to the model's character limit), yielding float32 chunks at 24 kHz."""
        loaded = self._model()
        lat = self.prepare_voice(self._voice(voice))
        lang = self._language(language)
        limit = loaded.model.tokenizer.char_limits.get(lang.split("-")[0], 250)
        parts = [xtts_stream.speakable(p, lang) for p in xtts_stream.split_text(text, limit - 1)]
        parts = [p for p in parts if p.strip(" .。")]
        if not parts:
            return
        first = self._first_pending
        self._first_pending = False
        self._interrupt.clear()
        schedule = self.schedule()
        joiner = xtts_stream.ChunkJoiner(self.sample_rate)
        compute_s = 0.0
        samples = 0
        self.last_stats = []
        for i, part in enumerate(parts):
            if self._interrupt.is_set():
                return
            stats = xtts_stream.SentenceStats()
            self.last_stats.append(stats)
            budget = audio_token_budget(part, lang, int(loaded.model.gpt.max_gen_mel_tokens))
            gen = xtts_stream.stream_sentence(
                loaded, part, lang, lat.gpt_cond_latent, lat.speaker_embedding, schedule.sizes(first and i == 0),
                should_stop=self._interrupt.is_set, stats=stats, max_tokens=budget, **self._options(),
            )
            try:
                while True:
                    t0 = time.perf_counter()
                    try:
                        chunk = next(gen)
                    except StopIteration:
                        break
                    finally:
                        compute_s += time.perf_counter() - t0
                    out = joiner.push(chunk, new_part=False)
                    if out.size:
                        samples += out.size
                        yield out
            finally:
                gen.close()
            if stats.cancelled:
                return
            if stats.tokens >= budget:  # no stop token within the budget: the rest would have been babble
                log.info("XTTS sentence cut at its budget of %d audio tokens (%.1f s, %d characters)", budget,
                         budget_seconds(budget), len(part))
            joiner.end_part()
        tail = joiner.finish()
        if tail.size:
            samples += tail.size
            yield tail
        if samples:
            self._rtfs.append(compute_s / (samples / self.sample_rate))

    def synthesize_whole(self, text: str, voice: VoiceRef | None = None) -> np.ndarray:
        """The seed's plan: the whole text in one `inference` call (no streaming); for the benchmark."""
        import torch

        loaded = self._model()
        lat = self.prepare_voice(self._voice(voice))
        with loaded.lock, xtts_stream.autocast(loaded, self.settings.xtts_fp16):
            try:
                out = loaded.model.inference(
                    text,
                    self._language(),
                    lat.gpt_cond_latent,
                    lat.speaker_embedding,
                    temperature=self.settings.xtts_temperature,
                    speed=self.settings.speech_speed,
                    enable_text_splitting=False,
                )
            except torch.cuda.OutOfMemoryError:
                torch.cuda.empty_cache()
                raise EngineOutOfMemoryError("GPU memory ran out while speaking; free VRAM and retry.") from None
        return np.asarray(out["wav"], dtype=np.float32)
