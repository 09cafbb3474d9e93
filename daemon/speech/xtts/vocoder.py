"""Windowed HiFi-GAN decoding for XTTS streaming: total vocoder work linear in the sentence length.

coqui's `inference_stream` re-runs HiFi-GAN over ALL latents of the sentence at every chunk (quadratic work).
`WindowedVocoder` instead decodes each chunk from its new frames plus only the context HiFi-GAN's receptive
field needs:

- XTTS's decoder first interpolates the GPT latents to HiFi-GAN frames: x4 (1024/256), then x24000/22050,
  both linear with align_corners=False, so frame k of a whole-sentence decode depends only on two or three
  neighbouring latents. `FrameMap` reproduces that interpolation for any range of frames (same index and
  weight arithmetic as torch's kernel), so a window's frames equal the whole decode's frames exactly.
  640/147 = 4.354 frames per latent; one frame is 256 output samples (the product of the upsampling strides).
- Speaking speed stretches the latents in the first interpolation (x4/speed): coqui's `speed` interpolates them
  by 1/speed in a step of its own first; at 1x both are the same decode.
- Each chunk decodes frames [emitted - left_frames, exact_end) where exact_end is the last frame whose latents
  all exist yet. Samples are sliced in whole frames. The last `lookahead_frames` of the window lack their right
  context (the next latents do not exist yet), so they are not played: the first `overlap_frames` of them are
  held back and cross-faded into the next chunk's (better) decode of the same samples. The final chunk decodes
  to the true end of the sentence, exactly like the whole decode.

Work per chunk is (new frames + left_frames + lookahead_frames), so a sentence costs about its own length plus
a constant per chunk instead of the sum of all prefixes. `frames_decoded` counts it.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

LEFT_FRAMES = 12  # HiFi-GAN's left receptive field: 10 frames already decode bit-exactly (measured), 2 spare
LOOKAHEAD_FRAMES = 4  # frames at the right edge decoded but not played until the next chunk (43 ms)
OVERLAP_FRAMES = 2  # of those, cross-faded into the next chunk's decode (the rest is re-decoded)


class FrameMap:
    """XTTS's latent -> HiFi-GAN frame interpolation, computable for any frame range (torch's arithmetic)."""

    def __init__(self, ar_compression: int = 1024, hop: int = 256, in_rate: int = 22050, out_rate: int = 24000,
                 speed: float = 1.0):
        self.scale1 = float(ar_compression / hop / speed)  # speed: latents stretched here (coqui: one step before)
        self.scale2 = float(out_rate / in_rate)
        # torch maps output -> input indices with 1/scale_factor in the input's precision (float32)
        self._ratio1 = np.float32(1.0 / self.scale1)
        self._ratio2 = np.float32(1.0 / self.scale2)

    def stage1_len(self, tokens: int) -> int:
        return math.floor(float(tokens) * self.scale1)

    def total_frames(self, tokens: int) -> int:
        """Frames of a whole decode of `tokens` latents (torch's output-size rule: floor(in * scale))."""
        return math.floor(float(self.stage1_len(tokens)) * self.scale2)

    @staticmethod
    def _source(ratio: np.float32, out_idx: np.ndarray, in_len: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Index i0, i1 and weight of i1 for linear interpolation (align_corners=False), as torch computes them."""
        src = ratio * (out_idx.astype(np.float32) + np.float32(0.5)) - np.float32(0.5)
        src = np.maximum(src, np.float32(0.0))
        i0 = np.floor(src).astype(np.int64)
        lam = np.clip(src - i0.astype(np.float32), 0.0, 1.0).astype(np.float32)
        i1 = i0 + (i0 < in_len - 1)
        return i0, i1, lam

    def exact_end(self, tokens: int) -> int:
        """Frames [0, end) that no later latent can change when `tokens` latents exist (sentence not ended)."""
        if tokens < 3:  # a 2-latent sentence decodes with torch's same-size shortcut: wait for its end
            return 0
        n1 = self.stage1_len(tokens)
        # a stage-1 frame is final when it does not touch latent `tokens` (which does not exist yet)
        _, a1, _ = self._source(self._ratio1, np.arange(n1), tokens + 1)
        ok1 = int(np.count_nonzero(a1 < tokens))
        n2 = math.floor(float(n1) * self.scale2)
        _, b1, _ = self._source(self._ratio2, np.arange(n2), n1 + 1)  # more frames follow: no end clamp
        return int(np.count_nonzero(b1 < ok1))

    def frames(self, latents: Any, start: int, stop: int, tokens: int, total_tokens: int | None) -> Any:
        """HiFi-GAN input frames [start, stop) as a (channels, stop - start) tensor.

        `latents` holds latents [0, tokens) as (tokens, channels); `total_tokens` is the sentence's final length
        (None while it is still being generated: only frames below exact_end(tokens) may be asked for).
        """
        import torch

        n_in = total_tokens if total_tokens is not None else tokens + 1
        n1 = self.stage1_len(n_in)
        k = np.arange(start, stop)
        # torch copies instead of interpolating when a stage's output size equals its input size
        copy2 = total_tokens is not None and self.total_frames(n_in) == n1
        if copy2:
            need, j0, j1, lam2 = k, k, k, np.zeros(k.size, dtype=np.float32)
        else:
            j0, j1, lam2 = self._source(self._ratio2, k, n1)
            need = np.unique(np.concatenate([j0, j1]))
        i0, i1, lam1 = self._source(self._ratio1, need, n_in)
        if int(max(i0.max(initial=0), i1.max(initial=0))) >= tokens:
            raise ValueError("frames asked for beyond the latents generated so far")
        dev = latents.device
        x = latents.float()
        t_l1 = torch.from_numpy(lam1).to(dev)[:, None]
        stage1 = x.index_select(0, torch.from_numpy(i0).to(dev)) * (1.0 - t_l1)
        stage1 = stage1 + x.index_select(0, torch.from_numpy(i1).to(dev)) * t_l1  # (len(need), C)
        if copy2:
            return stage1.t()
        t_l2 = torch.from_numpy(lam2).to(dev)[:, None]
        t_j0 = torch.from_numpy(np.searchsorted(need, j0)).to(dev)
        t_j1 = torch.from_numpy(np.searchsorted(need, j1)).to(dev)
        out = stage1.index_select(0, t_j0) * (1.0 - t_l2) + stage1.index_select(0, t_j1) * t_l2
        return out.t()


class WindowedVocoder:
    """Decodes one sentence's latents chunk by chunk with bounded context; see the module docstring."""

    def __init__(
        self,
        decoder: Any,
        speaker_embedding: Any,
        *,
        left_frames: int = LEFT_FRAMES,
        lookahead_frames: int = LOOKAHEAD_FRAMES,
        overlap_frames: int = OVERLAP_FRAMES,
        speed: float = 1.0,
    ) -> None:
        if not 0 <= overlap_frames <= lookahead_frames:
            raise ValueError("overlap_frames must be between 0 and lookahead_frames")
        self.decoder = decoder  # coqui HifiDecoder
        self.generator = decoder.waveform_decoder
        self.g = speaker_embedding
        self.map = FrameMap(
            decoder.ar_mel_length_compression, decoder.output_hop_length,
            decoder.input_sample_rate, decoder.output_sample_rate, speed,
        )
        self.hop = int(np.prod([int(up.stride[0]) for up in self.generator.ups]))
        self.left = left_frames
        self.lookahead = lookahead_frames
        self.overlap = overlap_frames
        self._latents: list[Any] = []
        self._stacked: Any = None
        self._emitted = 0  # frames played (or held for the cross-fade) so far
        self._held: Any = None  # samples of frames [emitted, emitted + overlap) from the last decode
        self.frames_decoded = 0
        self.calls = 0

    @property
    def tokens(self) -> int:
        return len(self._latents)

    def latents(self) -> Any:
        """All latents so far as (tokens, channels)."""
        import torch

        if self._stacked is None or self._stacked.shape[0] != len(self._latents):
            self._stacked = torch.stack(self._latents) if self._latents else None
        return self._stacked

    def extend(self, new_latents: list[Any]) -> None:
        """Add latents (each (channels,)) without decoding (the sentence's last ones: `finish` decodes them)."""
        self._latents.extend(new_latents)

    def push(self, new_latents: list[Any]) -> Any:
        """Add latents (each (channels,)); returns the samples now ready (a 1-D tensor, maybe empty)."""
        self.extend(new_latents)
        end = self.map.exact_end(self.tokens)
        play_end = end - self.lookahead
        if play_end <= self._emitted:
            return self._empty()
        return self._decode(end, play_end, total=None)

    def finish(self) -> Any:
        """The sentence ended: decode to its true end (what a whole decode gives there) and return the rest."""
        if not self._latents:
            return self._empty()
        end = self.map.total_frames(self.tokens)
        if end <= self._emitted and self._held is None:
            return self._empty()
        return self._decode(end, end, total=self.tokens)

    def _empty(self) -> Any:
        import torch

        return torch.zeros(0)

    def _decode(self, end: int, play_end: int, total: int | None) -> Any:
        import torch

        start = max(0, self._emitted - self.left)
        z = self.map.frames(self.latents(), start, end, self.tokens, total)
        wav = self.generator(z[None], g=self.g).reshape(-1)
        self.frames_decoded += end - start
        self.calls += 1
        hold = min(self.overlap, end - play_end) if total is None else 0
        out = wav[(self._emitted - start) * self.hop : (play_end + hold - start) * self.hop].float()
        if self._held is not None and self._held.numel():
            n = min(self._held.numel(), out.numel())
            ramp = torch.linspace(0.0, 1.0, n + 2, device=out.device)[1:-1]
            out = out.clone()
            out[:n] = self._held[:n] * (1.0 - ramp) + out[:n] * ramp
        ready_n = (play_end - self._emitted) * self.hop
        self._held = out[ready_n:].clone() if hold else None
        self._emitted = play_end
        return out[:ready_n]
