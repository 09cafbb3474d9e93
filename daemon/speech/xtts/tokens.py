"""XTTS's GPT audio-token generator, run by VoxTray: one prefill per sentence, one KV cache for its whole life.

The same model parts and the same sampling as coqui's `inference_stream` (the conditioning prefix from
`GPT.compute_embeddings`, the learned mel position embeddings, repetition penalty then temperature, top-k and
top-p warpers from transformers, the latent of each step = `final_norm` of the last hidden state), but driven
directly instead of through transformers' `generate` machinery:

- the KV cache is created once by the prefill and extended by one position per token until the sentence ends;
  chunk boundaries do not touch it (nothing is re-computed between chunks);
- the voice's conditioning positions come first in the prompt and attention is causal, so their keys and values
  are the same for every sentence in that voice: `PrefixCache` keeps them per voice and the prefill of a
  sentence runs over its text only (the first audio comes sooner: the prefill is most of the wait on a CPU);
- `cancel()` (or a `should_stop` callable) is checked between tokens, so a barge-in stops within one token;
- the per-token forward is one method, `step(embedding) -> hidden`, the hook for a static-shape decode step
  (a CUDA graph or `torch.compile(mode="reduce-overhead")` over a static KV cache). VoxTray ships the eager
  step only: a captured step could not be verified without a GPU (see docs/xtts.md).
"""

from __future__ import annotations

import hashlib
import logging
import threading
import weakref
from collections import OrderedDict
from collections.abc import Callable, Iterator
from typing import Any

log = logging.getLogger(__name__)

PREFIX_VOICES = 4  # voices whose conditioning keys/values are kept per model (about 8 MB each, full model fp32)


class PrefixCache:
    """Keys/values of the voice-conditioning prompt positions, per (voice, device, precision); a small LRU."""

    def __init__(self, size: int = PREFIX_VOICES) -> None:
        self.size = size
        self._items: OrderedDict[str, list[tuple[Any, Any]]] = OrderedDict()
        self._lock = threading.Lock()
        self.hits = 0
        self.misses = 0

    @staticmethod
    def key(gpt_cond_latent: Any, device: Any, half: bool) -> str:
        data = gpt_cond_latent.detach().float().cpu().contiguous().numpy().tobytes()
        digest = hashlib.blake2b(data, digest_size=16).hexdigest()
        return f"{digest}-{tuple(gpt_cond_latent.shape)}-{device}-{'fp16' if half else 'fp32'}"

    def get(self, key: str) -> list[tuple[Any, Any]] | None:
        with self._lock:
            kv = self._items.get(key)
            if kv is not None:
                self._items.move_to_end(key)
                self.hits += 1
            else:
                self.misses += 1
            return kv

    def put(self, key: str, kv: list[tuple[Any, Any]]) -> None:
        with self._lock:
            self._items[key] = kv
            self._items.move_to_end(key)
            while len(self._items) > self.size:
                self._items.popitem(last=False)

    def clear(self) -> None:
        with self._lock:
            self._items.clear()


_caches: weakref.WeakKeyDictionary[Any, PrefixCache] = weakref.WeakKeyDictionary()
_caches_lock = threading.Lock()


def prefix_cache(model: Any) -> PrefixCache:
    """The model's PrefixCache (dropped with the model)."""
    with _caches_lock:
        cache = _caches.get(model)
        if cache is None:
            cache = _caches[model] = PrefixCache()
        return cache


class TokenStream:
    """Yields (token id, latent) for one sentence, like coqui's stream generator; stop token included."""

    def __init__(
        self,
        model: Any,
        text_tokens: Any,
        gpt_cond_latent: Any,
        *,
        temperature: float = 0.75,
        top_k: int = 50,
        top_p: float = 0.85,
        repetition_penalty: float = 10.0,
        max_tokens: int | None = None,
        should_stop: Callable[[], bool] | None = None,
        prefix: tuple[PrefixCache, str] | None = None,
    ) -> None:
        from transformers import (
            LogitsProcessorList,
            RepetitionPenaltyLogitsProcessor,
            TemperatureLogitsWarper,
            TopKLogitsWarper,
            TopPLogitsWarper,
        )

        self.gpt = model.gpt  # TTS.tts.layers.xtts.gpt.GPT
        self.inference = self.gpt.gpt_inference  # GPT2InferenceModel: embeddings, positions, heads
        self.text_tokens = text_tokens
        self.cond = gpt_cond_latent
        self.max_tokens = int(max_tokens if max_tokens is not None else self.gpt.max_gen_mel_tokens)
        self.stop_token = int(self.gpt.stop_audio_token)
        self.should_stop = should_stop
        self.prefix = prefix  # (cache, key of this voice) to reuse the conditioning positions' keys/values
        self._cancelled = False
        procs: list[Any] = []
        if repetition_penalty not in (None, 1.0):
            procs.append(RepetitionPenaltyLogitsProcessor(float(repetition_penalty)))
        if temperature not in (None, 1.0):
            procs.append(TemperatureLogitsWarper(float(temperature)))
        if top_k:
            procs.append(TopKLogitsWarper(int(top_k)))
        if top_p is not None and top_p < 1.0:
            procs.append(TopPLogitsWarper(float(top_p)))
        self.processors = LogitsProcessorList(procs)
        self.cache: Any = None
        self.prefix_len = 0
        self.generated = 0
        self.finished = False  # the last token (stop token or the cap) has been yielded
        self.prefills = 0
        self.prefill_positions = 0  # prompt positions run through the GPT by the prefill (text only on a hit)

    def cancel(self) -> None:
        """Stop at the next token boundary (thread-safe: a flag)."""
        self._cancelled = True

    @property
    def cancelled(self) -> bool:
        return self._cancelled or bool(self.should_stop and self.should_stop())

    def step(self, embedding: Any) -> Any:
        """One forward of the GPT over `embedding` (1, n, dim) with the KV cache; the last position's hidden state.

        Hook: a static-shape, CUDA-graph-captured version of this step can replace it (same inputs/outputs).
        """
        out = self.gpt.gpt(inputs_embeds=embedding, past_key_values=self.cache, use_cache=True, return_dict=True)
        self.cache = out.past_key_values
        return out.last_hidden_state[:, -1]

    def _restore_conditioning(self, prompt: Any) -> int:
        """Start the KV cache from the voice's cached conditioning positions; how many positions that covers."""
        if self.prefix is None:
            return 0
        cache, key = self.prefix
        n_cond = int(self.cond.shape[1])
        if n_cond >= int(prompt.shape[1]):
            return 0
        try:
            from transformers import DynamicCache

            kv = cache.get(key)
            if kv is None:
                self.cache = None
                self.step(prompt[:, :n_cond])
                kv = [(layer.keys, layer.values) for layer in self.cache.layers]
                cache.put(key, kv)
            self.cache = DynamicCache(config=self.gpt.gpt.config)
            for i, (k, v) in enumerate(kv):
                self.cache.update(k, v, i)  # concatenation: the cached tensors are never written to
            return n_cond
        except (AttributeError, TypeError) as exc:  # another transformers cache layout: prefill everything
            log.warning("conditioning cache unavailable (%s); prefilling the whole prompt", exc)
            self.prefix = None
            self.cache = None
            return 0

    def __iter__(self) -> Iterator[tuple[int, Any]]:
        """Runs under the caller's torch modes (inference_mode / autocast are entered around each `next`, never
        held across a yield: they are thread-local and would leak into the consumer)."""
        import torch

        inf = self.inference
        ids = self.gpt.compute_embeddings(self.cond, self.text_tokens)  # stores the prefix embedding
        prefix = inf.cached_prefix_emb
        self.prefix_len = int(prefix.shape[1])
        start = ids[:, -1:]
        start_emb = inf.embeddings(start) + inf.pos_embedding(start)
        if self.cancelled:
            return
        prompt = torch.cat([prefix, start_emb.to(prefix.dtype)], dim=1)
        skip = self._restore_conditioning(prompt)
        hidden = self.step(prompt[:, skip:])
        self.prefill_positions = int(prompt.shape[1]) - skip
        self.prefills += 1
        input_ids = ids  # what the repetition penalty sees (prefix placeholders + start token + generated)
        device = ids.device
        while True:
            latent = self.gpt.final_norm(hidden)  # (1, dim)
            logits = self.gpt.mel_head(latent).float()
            scores = self.processors(input_ids, logits)
            probs = torch.nn.functional.softmax(scores, dim=-1)
            token = torch.multinomial(probs, num_samples=1)  # (1, 1)
            token_id = int(token.item())
            self.generated += 1
            self.finished = token_id == self.stop_token or self.generated >= self.max_tokens
            yield token_id, latent[0]
            if self.finished or self.cancelled:
                return
            input_ids = torch.cat([input_ids, token], dim=-1)
            pos = inf.pos_embedding.get_fixed_embedding(self.generated, device)
            emb = inf.embeddings(token) + pos
            hidden = self.step(emb)
