"""XTTS latency: the seed's plan (whole reply synthesised to a file, then played) vs VoxTray streaming.

Same model, same 5-sentence reply, one run. Random weights never emit the stop token, so every sentence is
capped at --tokens generated audio tokens (the same budget for both plans). Prints time to first audio, total
synthesis time, real-time factor, latent compute vs cache hit and (on CUDA) fp32 vs fp16 and peak VRAM.

  python bench/xtts_latency.py                      # tiny model on the CPU (always works)
  python bench/xtts_latency.py --full --device cuda # full-size XTTS v2 architecture on a GPU
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from daemon.settings import Settings  # noqa: E402
from daemon.speech.audio import write_wav  # noqa: E402
from daemon.speech.engines import xtts_model  # noqa: E402
from daemon.speech.engines.base import VoiceRef  # noqa: E402
from daemon.speech.engines.xtts import XttsEngine  # noqa: E402
from daemon.speech.engines.xtts_random import build_random_xtts  # noqa: E402
from daemon.speech.latents import LatentCache  # noqa: E402
from daemon.speech.text import split_sentences  # noqa: E402

REPLY = (
    "Sure, here is the short version. The tray icon turns green when the cloned voice is speaking. "
    "If the graphics card is busy, an online voice takes over. When the network is down, the system voice "
    "speaks instead. Press the hotkey again to stop me at any time."
)


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


def seed_plan(engine: XttsEngine, voice: VoiceRef, sentences: list[str], out: Path) -> dict[str, Any]:
    """tts_to_file: latents from the reference every call, each sentence synthesised whole, file written, then play."""
    import numpy as np

    device = engine.device or "cpu"
    _peak_reset(device)
    t0 = time.perf_counter()
    loaded = engine._model()
    lat_t = time.perf_counter()
    from daemon.speech.latents import compute

    compute(loaded.model, voice.path)  # the seed recomputed the speaker latents on every call
    lat_s = time.perf_counter() - lat_t
    wavs = [engine.synthesize_whole(s, voice) for s in sentences]
    audio = np.concatenate(wavs)
    write_wav(out, audio, engine.sample_rate)
    _sync(device)
    total = time.perf_counter() - t0
    seconds = audio.size / engine.sample_rate
    return {"first_audio_s": total, "total_s": total, "audio_s": seconds, "rtf": total / seconds,
            "latents_s": lat_s, "peak_vram_mb": _peak_mb(device)}


def streaming(engine: XttsEngine, voice: VoiceRef, sentences: list[str]) -> dict[str, Any]:
    device = engine.device or "cpu"
    _peak_reset(device)
    engine.begin_utterance()
    t0 = time.perf_counter()
    first: float | None = None
    samples = 0
    for sentence in sentences:
        for chunk in engine.stream(sentence, voice):
            if first is None:
                _sync(device)
                first = time.perf_counter() - t0
            samples += chunk.size
    _sync(device)
    total = time.perf_counter() - t0
    seconds = samples / engine.sample_rate
    return {"first_audio_s": first, "total_s": total, "audio_s": seconds, "rtf": total / seconds,
            "peak_vram_mb": _peak_mb(device)}


def latent_timing(engine: XttsEngine, voice: VoiceRef, cache_dir: Path) -> dict[str, float]:
    loaded = engine._model()
    cold = LatentCache(cache_dir / "cold")
    computed = cold.get(loaded.model, loaded.identity, voice.path)
    disk = LatentCache(cache_dir / "cold").get(loaded.model, loaded.identity, voice.path)
    memory = cold.get(loaded.model, loaded.identity, voice.path)
    assert (computed.source, disk.source, memory.source) == ("computed", "disk", "memory")
    return {"compute_s": computed.seconds, "disk_hit_s": disk.seconds, "memory_hit_s": memory.seconds}


def _fmt(v: Any, unit: str = "s") -> str:
    if v is None:
        return "-"
    return f"{v:.3f} {unit}" if unit == "s" else f"{v:.0f} {unit}" if unit == "MB" else f"{v:.2f}"


def main() -> int:
    ap = argparse.ArgumentParser(description="XTTS seed plan vs streaming latency")
    ap.add_argument("--full", action="store_true", help="full-size XTTS v2 architecture (random weights)")
    ap.add_argument("--device", choices=["auto", "cpu", "cuda"], default="auto")
    ap.add_argument("--tokens", type=int, default=None, help="audio tokens per sentence (default 12 tiny, 60 full)")
    ap.add_argument("--first-chunk", type=int, default=None, help="xtts_first_chunk_tokens (default 4 / 20)")
    ap.add_argument("--chunk", type=int, default=None, help="xtts_chunk_tokens (default 8 / 60)")
    ap.add_argument("--threads", type=int, default=0, help="torch CPU threads (0 = torch default)")
    ap.add_argument("--cache", type=Path, default=Path(tempfile.gettempdir()) / "voxtray-bench")
    ap.add_argument("--json", type=Path, help="also write the figures as JSON")
    args = ap.parse_args()
    import torch

    if args.threads:
        torch.set_num_threads(args.threads)
    size = "full" if args.full else "tiny"
    tokens = args.tokens or (60 if args.full else 12)
    folder = model_folder(size, args.cache)
    work = Path(tempfile.mkdtemp(prefix="xtts-bench-"))
    voices = work / "voices"
    voices.mkdir()
    ref = voices / "sample.wav"
    ref.write_bytes((ROOT / "voices" / "sample.wav").read_bytes())
    settings = Settings(
        xtts_model_path=str(folder), xtts_device=args.device, xtts_allow_cpu=True, voices_dir=str(voices),
        cloning_reference_file=str(ref), xtts_first_chunk_tokens=args.first_chunk or (20 if args.full else 4),
        xtts_chunk_tokens=args.chunk or (60 if args.full else 8),
    )
    engine = XttsEngine(settings)
    t0 = time.perf_counter()
    engine.load(lambda msg, _f: print(f"  {msg}", flush=True))
    load_s = time.perf_counter() - t0
    engine._model().model.gpt.max_gen_mel_tokens = tokens  # random weights never stop: cap every sentence
    voice = VoiceRef("sample", ref)
    sentences = split_sentences(REPLY)
    lat = latent_timing(engine, voice, work / "latcache")
    results: dict[str, Any] = {"model": size, "device": engine.device, "tokens_per_sentence": tokens,
                               "sentences": len(sentences), "load_s": load_s, "latents": lat,
                               "torch_threads": torch.get_num_threads()}
    precisions = [True, False] if engine.device == "cuda" else [False]
    for fp16 in precisions:
        settings.xtts_fp16 = fp16
        tag = "fp16" if fp16 else "fp32"
        seed = seed_plan(engine, voice, sentences, work / "seed.wav")
        stream = streaming(engine, voice, sentences)
        results[tag] = {"seed": seed, "stream": stream}
    xtts_model.unload_all()

    print(f"\nXTTS {size} (random weights) on {engine.device}, {len(sentences)} sentences x {tokens} tokens, "
          f"torch threads {results['torch_threads']}; load + warm-up {load_s:.2f} s")
    print(f"speaker latents: compute {lat['compute_s']:.3f} s, disk cache hit {lat['disk_hit_s'] * 1000:.1f} ms, "
          f"memory hit {lat['memory_hit_s'] * 1000:.2f} ms ({lat['compute_s'] / lat['disk_hit_s']:.0f}x faster)")
    for tag in ("fp16", "fp32"):
        if tag not in results:
            continue
        seed, stream = results[tag]["seed"], results[tag]["stream"]
        print(f"\n[{tag}]  {'metric':<22}{'seed plan':>14}{'streaming':>14}{'stream/seed':>13}")
        for key, unit in (("first_audio_s", "s"), ("total_s", "s"), ("rtf", ""), ("peak_vram_mb", "MB")):
            a, b = seed[key], stream[key]
            ratio = f"{b / a:.2f}" if a and b else "-"
            print(f"        {key:<22}{_fmt(a, unit):>14}{_fmt(b, unit):>14}{ratio:>13}")
    if args.json:
        args.json.write_text(json.dumps(results, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
