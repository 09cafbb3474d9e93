"""XTTS latency: coqui's stock `inference_stream` vs VoxTray's streamer, side by side (one run, one model).

Same model, same 5-sentence reply, same latents, same chunk sizes and the same random seed for both sides, so
both sample the same audio tokens (VoxTray's token generator reproduces coqui's sampling exactly) and differ
only in how they run: stock re-runs HiFi-GAN over every latent so far at each chunk; VoxTray decodes windows
(linear work) and drives the GPT with one KV cache per sentence. Random weights never emit the stop token, so
every sentence is capped at --tokens audio tokens (the same budget for both).

Printed: time to first audio, total synthesis time (wall clock, and this process's CPU time, which other
programs on a shared machine disturb less; with --threads 1 the two agree on a quiet machine), vocoder work (HiFi-GAN frames decoded, and the same in
latent tokens: 640/147 = 4.354 frames per token), real-time factor, peak VRAM (CUDA only), and the SNR of each
side's streamed audio against one whole-sentence decode of the same latents. One JSON line per model / device /
precision follows the table:
  {"bench": "xtts", "model": ..., "device": ..., "stock": {...}, "voxtray": {...}, "snr_db": ...}

  python bench/xtts_latency.py                                  # tiny model on the CPU
  python bench/xtts_latency.py --quick                          # seconds: the tests' tiny model, 1 sentence (CI)
  python bench/xtts_latency.py --full --device cpu --threads 1  # full-size XTTS v2 architecture, 5 x 100 tokens
  python bench/xtts_latency.py --full --device cuda             # on a GPU: fp16 and fp32 (CUDA graphs: not built)
  python bench/xtts_latency.py --seed-plan                      # also the seed's plan (whole reply, then play)
"""

from __future__ import annotations

import argparse
import json
import math
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from daemon.audio import read_wav, write_wav  # noqa: E402
from daemon.settings import Settings  # noqa: E402
from daemon.speech.engines.base import VoiceRef  # noqa: E402
from daemon.speech.xtts import model as xtts_model  # noqa: E402
from daemon.speech.xtts import stream as xtts_stream  # noqa: E402
from daemon.speech.xtts.engine import XttsEngine  # noqa: E402
from daemon.speech.xtts.latents import LatentCache  # noqa: E402
from tests.fixtures.xtts_random import build_random_xtts  # noqa: E402

REPLY = [
    "Sure, here is the short version.",
    "The tray icon turns green when the cloned voice is speaking.",
    "If the graphics card is busy, an online voice takes over.",
    "When the network is down, the system voice speaks instead.",
    "Press the hotkey again to stop me at any time.",
]
FRAMES_PER_TOKEN = 640 / 147  # XTTS decoder: x4 then x24000/22050
SEED = 1234


def model_folder(size: str, cache: Path) -> Path:
    folder = cache / f"bench-{size}-xtts-v1"
    if not (folder / "model.pth").is_file():
        print(f"building a random-weight {size} XTTS in {folder} ...", flush=True)
        build_random_xtts(folder, size=size, max_audio_tokens=605 if size == "full" else 64)
    return folder


def _sync(device: str) -> None:
    if device == "cuda":
        import torch

        torch.cuda.synchronize()


def _peak_reset(device: str) -> None:
    if device == "cuda":
        import torch

        torch.cuda.reset_peak_memory_stats()


def _peak_mb(device: str) -> float | None:
    if device != "cuda":
        return None
    import torch

    return float(torch.cuda.max_memory_allocated() / 2**20)


class FrameCounter:
    """Counts the frames HiFi-GAN's generator is asked to decode (both sides call it), while active."""

    def __init__(self, model: Any) -> None:
        self.frames = 0
        self.calls = 0
        self._handle = model.hifigan_decoder.waveform_decoder.register_forward_pre_hook(self._hook)
        self.active = False

    def _hook(self, _module: Any, args: tuple[Any, ...]) -> None:
        if self.active:
            self.frames += int(args[0].shape[-1])
            self.calls += 1

    def close(self) -> None:
        self._handle.remove()


def _run_side(
    engine: XttsEngine, sentences: list[str], lat: Any, counter: FrameCounter, stock: bool, fp16: bool
) -> tuple[dict[str, Any], list[Any], list[Any]]:
    """One reply; returns figures, the raw audio of each sentence and (VoxTray only) each sentence's latents."""
    import numpy as np
    import torch

    loaded = engine._model()
    device = loaded.device
    s = engine.settings
    schedule = engine.schedule()
    torch.manual_seed(SEED)
    _peak_reset(device)
    counter.frames = counter.calls = 0
    counter.active = True
    audio: list[Any] = []
    latents: list[Any] = []
    first: float | None = None
    first_cpu: float | None = None
    tokens = 0
    t0, c0 = time.perf_counter(), time.process_time()
    for i, sentence in enumerate(sentences):
        stats = xtts_stream.SentenceStats()
        gen: Iterator[Any]
        if stock:
            opts = {"stream_chunk_size": s.xtts_first_chunk_tokens if i == 0 else s.xtts_chunk_tokens,
                    "temperature": s.xtts_temperature, "fp16": fp16}
            gen = xtts_stream.stock_generate(loaded, sentence, "en", lat.gpt_cond_latent, lat.speaker_embedding, opts)
        else:
            gen = xtts_stream.stream_sentence(
                loaded, sentence, "en", lat.gpt_cond_latent, lat.speaker_embedding, schedule.sizes(i == 0),
                temperature=s.xtts_temperature, fp16=fp16, stats=stats, keep_latents=True,
            )
        parts = []
        for chunk in gen:
            if first is None and chunk.size:
                _sync(device)
                first, first_cpu = time.perf_counter() - t0, time.process_time() - c0
            parts.append(chunk)
        audio.append(np.concatenate(parts) if parts else np.zeros(0, dtype=np.float32))
        latents.append(stats.latents)
        tokens += stats.tokens
    _sync(device)
    total, total_cpu = time.perf_counter() - t0, time.process_time() - c0
    counter.active = False
    seconds = sum(a.size for a in audio) / engine.sample_rate
    fig = {
        "first_audio_s": round(first or 0.0, 4), "total_s": round(total, 3), "audio_s": round(seconds, 3),
        "rtf": round(total / seconds, 3) if seconds else None,
        "first_audio_cpu_s": round(first_cpu or 0.0, 4), "total_cpu_s": round(total_cpu, 3),
        "vocoder_frames": counter.frames, "vocoder_tokens": round(counter.frames / FRAMES_PER_TOKEN, 1),
        "vocoder_calls": counter.calls, "peak_vram_mb": _peak_mb(device),
    }
    if not stock:
        fig["gpt_tokens"] = tokens
    return fig, audio, latents


def _snr(streamed: list[Any], reference: list[Any]) -> tuple[float | None, float | None]:
    """Overall SNR (dB) of streamed vs reference audio, and the worst sentence's; None when lengths differ."""
    import numpy as np

    sig = err = 0.0
    worst = math.inf
    for a, b in zip(streamed, reference, strict=True):
        if a.size != b.size:
            return None, None
        s_, e_ = float(np.sum(b.astype(np.float64) ** 2)), float(np.sum((a.astype(np.float64) - b) ** 2))
        sig, err = sig + s_, err + e_
        worst = min(worst, 10 * math.log10(s_ / max(e_, 1e-30)))
    return round(10 * math.log10(sig / max(err, 1e-30)), 2), round(worst, 2)


def compare(engine: XttsEngine, sentences: list[str], lat: Any, fp16: bool) -> dict[str, Any]:
    import numpy as np
    import torch

    model = engine._model().model
    counter = FrameCounter(model)
    try:
        stock, stock_audio, _ = _run_side(engine, sentences, lat, counter, stock=True, fp16=fp16)
        vox, vox_audio, latents = _run_side(engine, sentences, lat, counter, stock=False, fp16=fp16)
    finally:
        counter.close()
    spk = lat.speaker_embedding.to(model.device)
    reference = []
    with torch.inference_mode(), xtts_stream.autocast(engine._model(), fp16):
        for z in latents:  # one whole-sentence decode of the very latents VoxTray streamed
            wav = model.hifigan_decoder(z[None].to(model.device), g=spk).reshape(-1).float().cpu().numpy()
            reference.append(np.clip(wav, -1.0, 1.0))
    snr, worst = _snr(vox_audio, reference)
    stock_snr, _ = _snr(stock_audio, reference)
    return {"stock": stock, "voxtray": vox, "snr_db": snr, "snr_db_worst_sentence": worst,
            "stock_snr_db": stock_snr}


def seed_plan(engine: XttsEngine, voice: VoiceRef, sentences: list[str], out: Path) -> dict[str, Any]:
    """The seed's tts_to_file: latents recomputed, each sentence synthesised whole, file written, then played."""
    import numpy as np

    from daemon.speech.xtts.latents import compute

    device = engine.device or "cpu"
    _peak_reset(device)
    t0 = time.perf_counter()
    compute(engine._model().model, voice.path)
    wavs = [engine.synthesize_whole(s, voice) for s in sentences]
    audio = np.concatenate(wavs)
    write_wav(out, audio, engine.sample_rate)
    _sync(device)
    total = time.perf_counter() - t0
    seconds = audio.size / engine.sample_rate
    return {"first_audio_s": round(total, 3), "total_s": round(total, 3), "audio_s": round(seconds, 3),
            "rtf": round(total / seconds, 3), "peak_vram_mb": _peak_mb(device)}


def latent_timing(engine: XttsEngine, voice: VoiceRef, cache_dir: Path) -> dict[str, float]:
    loaded = engine._model()
    cold = LatentCache(cache_dir / "cold")
    computed = cold.get(loaded.model, loaded.identity, voice.path)
    disk = LatentCache(cache_dir / "cold").get(loaded.model, loaded.identity, voice.path)
    memory = cold.get(loaded.model, loaded.identity, voice.path)
    assert (computed.source, disk.source, memory.source) == ("computed", "disk", "memory")
    return {"compute_s": computed.seconds, "disk_hit_s": disk.seconds, "memory_hit_s": memory.seconds}


def _fmt(v: Any, unit: str) -> str:
    if v is None:
        return "-"
    if unit == "s":
        return f"{v:.3f} s"
    if unit == "MB":
        return f"{v:.0f} MB"
    return f"{v:.1f}" if isinstance(v, float) else str(v)


def print_table(tag: str, res: dict[str, Any]) -> None:
    stock, vox = res["stock"], res["voxtray"]
    print(f"\n[{tag}]  {'metric':<22}{'stock':>14}{'voxtray':>14}{'voxtray/stock':>15}")
    rows = (("first_audio_s", "s"), ("total_s", "s"), ("first_audio_cpu_s", "s"), ("total_cpu_s", "s"),
            ("vocoder_tokens", ""), ("vocoder_frames", ""), ("rtf", ""), ("peak_vram_mb", "MB"))
    for key, unit in rows:
        a, b = stock.get(key), vox.get(key)
        ratio = f"{b / a:.2f}" if a and b else "-"
        print(f"        {key:<22}{_fmt(a, unit):>14}{_fmt(b, unit):>14}{ratio:>15}")
    print(f"        SNR vs one whole decode of the same latents: voxtray {res['snr_db']} dB "
          f"(worst sentence {res['snr_db_worst_sentence']} dB), stock {res['stock_snr_db']} dB")


def main() -> int:
    ap = argparse.ArgumentParser(description="XTTS: stock inference_stream vs VoxTray's streamer")
    ap.add_argument("--full", action="store_true", help="full-size XTTS v2 architecture (random weights)")
    ap.add_argument("--device", choices=["auto", "cpu", "cuda"], default="auto")
    ap.add_argument("--tokens", type=int, default=None, help="audio tokens per sentence (default 40 tiny, 100 full)")
    ap.add_argument("--first-chunk", type=int, default=8, help="tokens in the first chunk (both sides)")
    ap.add_argument("--chunk", type=int, default=8, help="tokens per chunk after it (both sides)")
    ap.add_argument("--growth", type=float, default=1.0,
                    help="VoxTray's chunk growth (1 = the same fixed sizes as stock; the product default is 1.5)")
    ap.add_argument("--threads", type=int, default=0, help="torch CPU threads (0 = torch default)")
    ap.add_argument("--seed-plan", action="store_true", help="also time the seed's plan (whole reply, then play)")
    ap.add_argument("--cache", type=Path, default=Path(tempfile.gettempdir()) / "voxtray-bench")
    ap.add_argument("--json", type=Path, help="also write all figures as JSON")
    ap.add_argument("--quick", action="store_true",
                    help="the tests' cached tiny model on the CPU, a 3 s reference, one sentence of 8 tokens, chunks of 4 (CI)")
    args = ap.parse_args()
    import torch

    reply = REPLY
    if args.quick:
        from tests.fixtures.xtts import ensure_tiny_xtts

        args.full, args.device, args.tokens, args.first_chunk, args.chunk = False, "cpu", 8, 4, 4
        reply = REPLY[:1]

    if args.threads:
        torch.set_num_threads(args.threads)
    size = "full" if args.full else "tiny"
    tokens = args.tokens or (100 if args.full else 40)
    folder = ensure_tiny_xtts() if args.quick else model_folder(size, args.cache)
    work = Path(tempfile.mkdtemp(prefix="xtts-bench-"))
    voices = work / "voices"
    voices.mkdir()
    ref = voices / "sample.wav"
    if args.quick:  # the first 3 s: the speaker latents of a whole 15 s clip cost most of a quick run
        samples, rate = read_wav(ROOT / "voices" / "sample.wav")
        write_wav(ref, samples[: 3 * rate], rate)
    else:
        ref.write_bytes((ROOT / "voices" / "sample.wav").read_bytes())
    settings = Settings(
        xtts_model_path=str(folder), xtts_device=args.device, xtts_allow_cpu=True, voices_dir=str(voices),
        cloning_reference_file=str(ref), xtts_first_chunk_tokens=args.first_chunk, xtts_chunk_tokens=args.chunk,
        xtts_chunk_growth=args.growth,
    )
    engine = XttsEngine(settings)
    t0 = time.perf_counter()
    engine.load(lambda msg, _f: print(f"  {msg}", flush=True))
    load_s = time.perf_counter() - t0
    engine._model().model.gpt.max_gen_mel_tokens = tokens  # random weights never stop: cap every sentence
    voice = VoiceRef("sample", ref)
    lat = latent_timing(engine, voice, work / "latcache")
    latents = engine.prepare_voice(voice)
    device = engine.device or "cpu"
    results: dict[str, Any] = {"model": size, "device": device, "tokens_per_sentence": tokens,
                               "sentences": len(reply), "first_chunk": args.first_chunk, "chunk": args.chunk,
                               "growth": args.growth, "load_s": round(load_s, 2), "latents": lat,
                               "torch_threads": torch.get_num_threads()}
    precisions = [True, False] if device == "cuda" else [False]
    for fp16 in precisions:
        tag = "fp16" if fp16 else "fp32"
        engine.settings = settings.model_copy(update={"xtts_fp16": fp16})
        results[tag] = compare(engine, reply, latents, fp16)
        if args.seed_plan:
            results[tag]["seed_plan"] = seed_plan(engine, voice, reply, work / "seed.wav")
    xtts_model.unload_all()

    print(f"\nXTTS {size} (random weights) on {device}, {len(reply)} sentences x {tokens} tokens, chunks "
          f"{args.first_chunk} then {args.chunk} (VoxTray growth {args.growth:g}), torch threads "
          f"{results['torch_threads']}; load + warm-up {load_s:.2f} s")
    print(f"speaker latents: compute {lat['compute_s']:.3f} s, disk cache hit {lat['disk_hit_s'] * 1000:.1f} ms, "
          f"memory hit {lat['memory_hit_s'] * 1000:.2f} ms")
    for tag in ("fp16", "fp32"):
        if tag in results:
            print_table(tag, results[tag])
            if "seed_plan" in results[tag]:
                sp = results[tag]["seed_plan"]
                print(f"        seed plan: first audio {sp['first_audio_s']:.3f} s, total {sp['total_s']:.3f} s")
    if device == "cuda":
        print("\nfp16 + CUDA graphs: not built (the decode step is a hook; see docs/xtts.md)")
    print()
    for tag in ("fp16", "fp32"):
        if tag in results:
            r = results[tag]
            line = {"bench": "xtts", "model": size, "device": device, "precision": tag, "tokens": tokens,
                    "first_chunk": args.first_chunk, "chunk": args.chunk, "growth": args.growth,
                    "stock": r["stock"], "voxtray": r["voxtray"], "snr_db": r["snr_db"],
                    "snr_db_worst_sentence": r["snr_db_worst_sentence"], "stock_snr_db": r["stock_snr_db"]}
            print(json.dumps(line))
    print_budget()
    if args.json:
        args.json.write_text(json.dumps(results, indent=2))
    return 0


def print_budget() -> None:
    """The per-sentence audio-token budget (speech/xtts/budget.py): the longest a sentence can run when XTTS misses
    its stop token, before (the model's 605-token cap) and now."""
    from daemon.speech.xtts.budget import audio_token_budget, seconds

    cap = 605  # XTTS v2's gpt_max_audio_tokens
    print("\n| sentence (real XTTS v2: cap 605 tokens) | worst case before | worst case now | ratio |\n| --- | --- | --- | --- |")
    for lang, text in [("en", "OK."), ("en", "Yes, of course."), *(("en", t) for t in REPLY[:2]),
                       ("fr", "D'accord, je vais vous expliquer cela simplement."), ("zh", "好的，我来简单地解释一下。")]:
        budget = audio_token_budget(text, lang, cap)
        print(f"| {lang}: {text} | {seconds(cap):.1f} s | {seconds(budget):.1f} s | {budget / cap:.2f}x |")


if __name__ == "__main__":
    sys.exit(main())
