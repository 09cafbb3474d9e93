"""VoxTray's own XTTS streamer on the tiny random-weight XTTS (real coqui parts: GPT, HiFi-GAN at full size).

What is proved: the token generator samples exactly what coqui's stream generator samples and never re-runs the
prefill; HiFi-GAN frames are sliced exactly (the latent -> frame interpolation is reproduced bit for bit); the
streamed audio matches one whole decode of the same latents; the vocoder's work is linear in the sentence
length (frames counted) where coqui's is quadratic; the first chunk comes after the configured tokens; a stream
stops between chunks (and between tokens when asked) and frees the model; CUDA OOM becomes
EngineOutOfMemoryError. Runs on the CPU here and on CUDA where there is one (no test assumes the device).
"""

from __future__ import annotations

import math
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from daemon.errors import EngineOutOfMemoryError
from daemon.settings import Settings
from daemon.speech.xtts import model as xtts_model
from daemon.speech.xtts import stream as xtts_stream
from daemon.speech.xtts.vocoder import LEFT_FRAMES, LOOKAHEAD_FRAMES, FrameMap, WindowedVocoder

pytestmark = [pytest.mark.slow]

STREAMED_SNR_DB = 40.0  # measured 51.8-55.2 dB on this decoder (lookahead 4 frames, overlap 2): margin kept


@pytest.fixture(scope="module")
def loaded(tiny_xtts_dir: Path) -> Iterator[xtts_model.LoadedModel]:
    settings = Settings(xtts_model_path=str(tiny_xtts_dir), xtts_device="auto", xtts_allow_cpu=True)
    xtts_model.unload_all()
    model = xtts_model.acquire(settings)
    yield model
    xtts_model.release(model)


def _voice(model: Any, seed: int = 0) -> tuple[Any, Any]:
    import torch

    gen = torch.Generator().manual_seed(seed)
    cond = torch.randn(1, 32, model.args.gpt_n_model_channels, generator=gen) * 0.1
    spk = torch.randn(1, 512, 1, generator=gen)
    return cond, spk / spk.norm()


def _snr(got: np.ndarray, ref: np.ndarray) -> float:
    err = float(np.sum((got.astype(np.float64) - ref) ** 2))
    return 10 * math.log10(float(np.sum(ref.astype(np.float64) ** 2)) / max(err, 1e-30))


def _decode_whole(model: Any, latents: Any, spk: Any) -> np.ndarray:
    import torch

    with torch.inference_mode():
        wav = model.hifigan_decoder(latents[None].to(model.device), g=spk.to(model.device))
    return np.clip(wav.reshape(-1).float().cpu().numpy(), -1.0, 1.0)


def test_tokens_match_coquis_sampler_with_one_prefill_per_sentence(loaded: xtts_model.LoadedModel) -> None:
    import torch

    from daemon.speech.xtts.tokens import PrefixCache, TokenStream

    model = loaded.model
    cond, _ = _voice(model)
    cond = cond.to(model.device)
    text = torch.IntTensor(model.tokenizer.encode("hello there, this is a test.", lang="en"))[None].to(model.device)
    with torch.inference_mode():
        fake = model.gpt.compute_embeddings(cond, text)
        stock_gen = model.gpt.get_generator(
            fake_inputs=fake, top_k=50, top_p=0.85, temperature=0.75, do_sample=True, num_beams=1,
            num_return_sequences=1, length_penalty=1.0, repetition_penalty=10.0, output_attentions=False,
            output_hidden_states=True, return_dict_in_generate=True,
        )
        torch.manual_seed(7)
        stock = [(int(t), lat[0].clone()) for t, lat in stock_gen]

    calls: list[int] = []  # sequence length of every GPT forward
    hook = model.gpt.gpt.register_forward_pre_hook(
        lambda _m, _a, kw: calls.append(int(kw["inputs_embeds"].shape[1])), with_kwargs=True
    )
    voice_cache = PrefixCache()
    runs = []
    try:
        for prefix in (None, (voice_cache, "voice"), (voice_cache, "voice")):  # plain, then cache miss, hit
            calls.clear()
            torch.manual_seed(7)
            stream = TokenStream(model, text, cond, prefix=prefix)
            with torch.inference_mode():
                ours = [(t, lat.clone()) for t, lat in stream]
            runs.append((stream, ours, list(calls)))
    finally:
        hook.remove()
    prompt = cond.shape[1] + text.shape[1] + 3  # voice positions, [START] text [STOP], then the audio start token
    for stream, ours, seen in runs:
        assert [t for t, _ in ours] == [t for t, _ in stock] and len(ours) == model.gpt.max_gen_mel_tokens
        assert max(float((a - b).abs().max()) for (_, a), (_, b) in zip(ours, stock, strict=True)) < 1e-5
        assert stream.prefills == 1 and seen[-(len(ours) - 1) :] == [1] * (len(ours) - 1), "KV cache reused"
    assert runs[0][2][0] == prompt and runs[1][2][:2] == [cond.shape[1], prompt - cond.shape[1]]
    assert runs[2][2][0] == prompt - cond.shape[1], "the voice's positions come from the cache"
    assert (voice_cache.misses, voice_cache.hits) == (1, 1)


def test_frames_are_sliced_exactly_like_the_whole_decode() -> None:
    import torch

    fm = FrameMap()
    assert abs(fm.total_frames(147_000) / 147_000 - 640 / 147) < 1e-9  # 4.354 frames per latent
    gen = torch.Generator().manual_seed(1)
    for tokens in (3, 5, 13, 40, 147):
        lat = torch.randn(tokens, 16, generator=gen)
        z = torch.nn.functional.interpolate(lat.t()[None], scale_factor=[4.0], mode="linear")
        z = torch.nn.functional.interpolate(z, scale_factor=[24000 / 22050], mode="linear")[0]
        assert z.shape[-1] == fm.total_frames(tokens)
        torch.testing.assert_close(fm.frames(lat, 0, z.shape[-1], tokens, tokens), z, atol=2e-5, rtol=0)
        for have in range(1, tokens):  # frames below exact_end never change when more latents arrive
            end = fm.exact_end(have)
            if end:
                part = fm.frames(lat[:have], max(0, end - 9), end, have, None)
                torch.testing.assert_close(part, z[:, max(0, end - 9) : end], atol=2e-5, rtol=0)


def test_streamed_audio_matches_a_whole_decode_and_the_first_chunk_comes_after_the_set_tokens(
    loaded: xtts_model.LoadedModel,
) -> None:
    model = loaded.model
    cond, spk = _voice(model)
    stats = xtts_stream.SentenceStats()
    chunks: list[np.ndarray] = []
    tokens_at_chunk: list[int] = []
    sizes = xtts_stream.ChunkSchedule(3, 8, 2.0).sizes(True)
    gen = xtts_stream.stream_sentence(
        loaded, "Hello there, this is a test.", "en", cond, spk, sizes, fp16=False, stats=stats, keep_latents=True
    )
    for chunk in gen:
        tokens_at_chunk.append(stats.tokens)
        chunks.append(chunk)
    total = model.gpt.max_gen_mel_tokens  # random weights never stop: 13 tokens
    assert stats.tokens == total and stats.prefills == 1
    assert stats.chunk_tokens == [3, 6, total - 9] and stats.tokens_at_first_audio == 3
    assert tokens_at_chunk[0] == 3, "the first audio is out after exactly the first chunk's tokens"
    assert all(c.dtype == np.float32 and c.ndim == 1 for c in chunks)
    audio = np.concatenate(chunks)
    whole = _decode_whole(model, stats.latents, spk)
    assert audio.size == whole.size == stats.frames_total * 256
    assert _snr(audio, whole) >= STREAMED_SNR_DB


def test_windowed_vocoding_is_exact_to_the_bound_and_its_work_is_linear(loaded: xtts_model.LoadedModel) -> None:
    import torch

    model = loaded.model
    _, spk = _voice(model)
    dim = model.args.decoder_input_dim
    gen = torch.Generator().manual_seed(3)
    lat = torch.nn.functional.layer_norm(torch.randn(40, dim, generator=gen), (dim,)).to(model.device)
    spk = spk.to(model.device)
    voc = WindowedVocoder(model.hifigan_decoder, spk)
    with torch.inference_mode():
        parts = [voc.push(list(lat[i : i + 4])) for i in range(0, 40, 4)] + [voc.finish()]
    audio = torch.cat([p.to(model.device) for p in parts]).float().cpu().numpy()
    whole = _decode_whole(model, lat, spk)
    assert audio.size == whole.size
    assert _snr(np.clip(audio, -1, 1), whole) >= STREAMED_SNR_DB
    fm = voc.map
    stock = sum(fm.total_frames(n) for n in range(4, 41, 4)) + fm.total_frames(40)  # coqui: all so far, each chunk
    assert voc.frames_decoded <= fm.total_frames(40) + voc.calls * (LEFT_FRAMES + LOOKAHEAD_FRAMES)
    assert stock > 2.5 * voc.frames_decoded

    def work(tokens: int, chunk: int = 8) -> int:
        """Frames decoded for a sentence, counted with HiFi-GAN replaced by a zero-cost stand-in."""
        v = WindowedVocoder(model.hifigan_decoder, spk)
        v.generator = lambda z, g=None: torch.zeros(1, 1, z.shape[-1] * v.hop)  # type: ignore[assignment]
        for i in range(0, tokens, chunk):
            v.push([lat[0]] * min(chunk, tokens - i))
        v.finish()
        return v.frames_decoded

    def quadratic(tokens: int, chunk: int = 8) -> int:
        return sum(fm.total_frames(min(n, tokens)) for n in range(chunk, tokens + chunk, chunk))

    w1, w2, w4 = work(100), work(200), work(400)
    assert 1.9 < w2 / w1 < 2.1 and 1.9 < w4 / w2 < 2.1, (w1, w2, w4)  # linear in the sentence length
    assert quadratic(200) / quadratic(100) > 3.5 and quadratic(400) > 20 * w4 / 4  # coqui's: quadratic


def test_speed_stretches_the_frames_exactly_and_shortens_the_streamed_sentence(
    loaded: xtts_model.LoadedModel,
) -> None:
    """speech_speed 1.5: the latents are interpolated x4/1.5 (torch's arithmetic, bit for bit), so the same tokens
    give 1/1.5 of the audio; at 0.8 they give 1.25 times as much."""
    import torch

    lat = torch.randn(13, 16, generator=torch.Generator().manual_seed(2))
    for speed in (0.8, 1.5):
        fm = FrameMap(speed=speed)
        z = torch.nn.functional.interpolate(lat.t()[None], scale_factor=[4.0 / speed], mode="linear")
        z = torch.nn.functional.interpolate(z, scale_factor=[24000 / 22050], mode="linear")[0]
        torch.testing.assert_close(fm.frames(lat, 0, z.shape[-1], 13, 13), z, atol=2e-5, rtol=0)
    cond, spk = _voice(loaded.model)
    sizes: dict[float, int] = {}
    for speed in (1.0, 1.5):
        stats = xtts_stream.SentenceStats()
        gen = xtts_stream.stream_sentence(loaded, "Hello.", "en", cond, spk, iter(lambda: 8, 0), fp16=False,
                                          stats=stats, max_tokens=8, speed=speed)
        sizes[speed] = sum(c.size for c in gen)
        assert stats.tokens == 8 and sizes[speed] == FrameMap(speed=speed).total_frames(8) * 256
    assert sizes[1.0] / sizes[1.5] == pytest.approx(1.5, rel=0.1), sizes  # 34 frames vs 22


def test_a_stream_stops_between_chunks_and_between_tokens_and_frees_the_model(
    loaded: xtts_model.LoadedModel,
) -> None:
    model = loaded.model
    cond, spk = _voice(model)
    stats = xtts_stream.SentenceStats()
    gen = xtts_stream.stream_sentence(
        loaded, "Stop me early.", "en", cond, spk, xtts_stream.ChunkSchedule(4, 4).sizes(True), stats=stats
    )
    next(gen)
    t0 = time.perf_counter()
    gen.close()  # the consumer stops between chunks
    assert time.perf_counter() - t0 < 0.05
    assert stats.tokens == 4, "nothing more was generated"
    assert loaded.lock.acquire(blocking=False), "the model lock is free at once"
    loaded.lock.release()

    heads: list[int] = []  # the mel head runs once per generated token
    hook = model.gpt.mel_head.register_forward_hook(lambda *_: heads.append(1))
    stats = xtts_stream.SentenceStats()
    try:
        out = list(xtts_stream.stream_sentence(
            loaded, "Stop me early.", "en", cond, spk, xtts_stream.ChunkSchedule(4, 4).sizes(True),
            stats=stats, should_stop=lambda: len(heads) >= 6,  # e.g. the engine's interrupt() flag
        ))
    finally:
        hook.remove()
    assert stats.cancelled and stats.tokens == 6, "stopped at the token it was asked to"
    assert len(out) == 1 and len(stats.chunk_tokens) == 1, "no vocoder work after the stop"


def test_cuda_out_of_memory_becomes_engine_out_of_memory(
    loaded: xtts_model.LoadedModel, monkeypatch: pytest.MonkeyPatch
) -> None:
    import torch

    def oom(*_a: Any, **_k: Any) -> Any:
        raise torch.cuda.OutOfMemoryError("CUDA out of memory. Tried to allocate 2.00 GiB")

    monkeypatch.setattr(loaded.model.hifigan_decoder.waveform_decoder, "forward", oom)
    cond, spk = _voice(loaded.model)
    gen = xtts_stream.stream_sentence(
        loaded, "Hello.", "en", cond, spk, xtts_stream.ChunkSchedule(4, 4).sizes(True)
    )
    with pytest.raises(EngineOutOfMemoryError, match="out of memory"):
        list(gen)
    assert loaded.lock.acquire(blocking=False)
    loaded.lock.release()


def test_the_chunk_schedule_grows_to_its_cap() -> None:
    def take(it: Iterator[int], n: int) -> list[int]:
        return [next(it) for _ in range(n)]

    assert take(xtts_stream.ChunkSchedule(8, 48, 1.25).sizes(True), 10) == [8, 10, 12, 15, 19, 24, 30, 38, 48, 48]
    assert take(xtts_stream.ChunkSchedule(8, 48, 1.5).sizes(True), 7) == [8, 12, 18, 27, 40, 48, 48]
    assert take(xtts_stream.ChunkSchedule(8, 48, 1.5).sizes(False), 3) == [48, 48, 48]
    assert take(xtts_stream.ChunkSchedule(8, 48, 1.0).sizes(True), 3) == [8, 8, 8]  # coqui's fixed size
    assert take(xtts_stream.ChunkSchedule(2, 5, 1.1).sizes(True), 5) == [2, 3, 4, 5, 5]
