"""The XTTS engine on a tiny random-weight XTTS loaded through the product's own loader (real coqui model
parts driven by VoxTray's streamer; on the CPU here, on CUDA where there is one). Nothing is faked; spies wrap
real methods only to count calls.
"""

from __future__ import annotations

import shutil
import threading
import time
from pathlib import Path

import numpy as np
import pytest

from daemon.errors import EngineUnavailableError
from daemon.settings import Settings
from daemon.speech.xtts import budget as budget_mod
from daemon.speech.xtts import model as xtts_model
from daemon.speech.xtts.budget import audio_token_budget
from daemon.speech.xtts.budget import seconds as budget_seconds
from daemon.speech.xtts.engine import XttsEngine
from daemon.status import StatusBus
from daemon.voices import VoiceRef

pytestmark = [pytest.mark.slow, pytest.mark.usefixtures("xtts_cleanup")]


def _count_calls(monkeypatch: pytest.MonkeyPatch, owner: object, name: str) -> list[float]:
    """Wrap a real method so each call is recorded (the method itself still runs)."""
    calls: list[float] = []
    real = getattr(owner, name)

    def spy(*args: object, **kwargs: object) -> object:
        calls.append(time.perf_counter())
        return real(*args, **kwargs)

    monkeypatch.setattr(owner, name, spy)
    return calls


def test_chunks_arrive_before_the_sentence_is_synthesised_and_first_chunk_is_small(xtts_settings: Settings) -> None:
    status = StatusBus()
    engine = XttsEngine(xtts_settings, status)
    engine.load()
    import torch

    assert engine.ready() and engine.device == ("cuda" if torch.cuda.is_available() else "cpu")  # auto: the GPU if any
    assert (engine.vram_used_mb is None) == (engine.device == "cpu")
    assert status.current.model_state == "warm"
    voice = VoiceRef("lj", xtts_settings.reference_path)

    engine.begin_utterance()
    t0 = time.perf_counter()
    arrivals: list[float] = []
    chunks: list[np.ndarray] = []
    for chunk in engine.stream("Hello there, this is a test.", voice):
        arrivals.append(time.perf_counter() - t0)
        chunks.append(chunk)
    total = time.perf_counter() - t0
    assert len(chunks) >= 3, "the sentence must stream in several chunks"
    assert all(c.dtype == np.float32 and c.ndim == 1 and np.abs(c).max() <= 1.0 for c in chunks)
    assert arrivals[0] < total / 2, f"first audio at {arrivals[0]:.2f}s of {total:.2f}s: not streaming"

    assert engine.measured_rtf is not None and engine.measured_rtf > 0

    # A later sentence of the same reply uses the larger chunk; begin_utterance() brings the small one back.
    # (Only the first chunk of each is taken: abandoning a stream must release the model for the next one.)
    later = _first_chunk(engine, "And a second one.", voice)
    assert later.size > chunks[0].size
    engine.begin_utterance()
    again = _first_chunk(engine, "A new reply.", voice)
    assert again.size < later.size


def test_interrupt_stops_the_sentence_being_made_and_the_next_one_speaks(xtts_settings: Settings) -> None:
    engine = XttsEngine(xtts_settings)
    engine.load()
    voice = VoiceRef("lj", xtts_settings.reference_path)
    engine.begin_utterance()
    full = sum(c.size for c in engine.stream("Hello there, this is a test.", voice))
    engine.begin_utterance()
    got = 0
    for chunk in engine.stream("Hello there, this is a test.", voice):
        got += chunk.size
        engine.interrupt()  # barge-in after the first chunk (another thread would do the same)
    assert 0 < got < full and engine.last_stats[-1].cancelled
    assert engine.last_stats[-1].tokens < xtts_settings.xtts_first_chunk_tokens * 2
    assert sum(c.size for c in engine.stream("Next one.", voice)) > 0, "the flag does not stick"


def test_a_short_sentence_that_never_stops_is_cut_to_its_budget(xtts_settings: Settings,
                                                               monkeypatch: pytest.MonkeyPatch) -> None:
    """#20: babble is made, not imagined. The stop token is made unreachable (as when XTTS misses it), so the GPT
    would run to the model's cap; the engine cuts the sentence at the budget of its text instead."""
    longer = audio_token_budget("A sentence of a fair length, with a clause or two in it.", "en", 605)
    assert audio_token_budget("OK.", "en", 605) < longer < 605, "longer text, larger budget, under the model's cap"
    assert audio_token_budget("这是一个很长的中文句子", "zh", 605) > audio_token_budget("This is a long one", "en", 605)
    engine = XttsEngine(xtts_settings)
    engine.load()
    model = engine._model().model
    monkeypatch.setattr(model.gpt, "stop_audio_token", -1)  # never sampled: no stop, as in a babbling sentence
    cap = int(model.gpt.max_gen_mel_tokens)  # what it would babble to (13 in this tiny model; 605 = 28 s in XTTS v2)
    # the tiny model's cap is below any real budget: scale the reading rate so that the budget of "OK." is too
    monkeypatch.setattr(budget_mod, "SLOW_CHARS_PER_S", 40.0)
    monkeypatch.setattr(budget_mod, "LEAD_S", 0.2)
    monkeypatch.setattr(budget_mod, "MIN_TOKENS", 1)
    voice = VoiceRef("lj", xtts_settings.reference_path)
    engine.begin_utterance()
    samples = sum(c.size for c in engine.stream("OK.", voice))
    budget = audio_token_budget("OK.", "en", cap)
    assert engine.last_stats[-1].tokens == budget < cap, (engine.last_stats[-1].tokens, budget, cap)
    assert samples / engine.sample_rate < budget_seconds(budget) + 0.5, "the audio is as long as the budget"


def _first_chunk(engine: XttsEngine, text: str, voice: VoiceRef) -> np.ndarray:
    gen = engine.stream(text, voice)
    try:
        return next(iter(gen))
    finally:
        gen.close()  # type: ignore[attr-defined]


def test_the_model_loads_once_for_many_threads_and_a_broken_reference_does_not_block_it(
    xtts_settings: Settings, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    from TTS.tts.models.xtts import Xtts

    loads = _count_calls(monkeypatch, Xtts, "load_checkpoint")
    broken = tmp_path / "broken.wav"
    broken.write_text("not audio")  # the warm-up then uses stand-in latents; the model still loads
    settings = xtts_settings.model_copy(update={"cloning_reference_file": str(broken)})
    engines = [XttsEngine(settings) for _ in range(4)]
    errors: list[BaseException] = []

    def load(e: XttsEngine) -> None:
        try:
            e.load()
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=load, args=(e,)) for e in engines]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=240)
    assert not errors and all(e.loaded for e in engines)
    assert len(loads) == 1
    assert len({id(e._loaded.model) for e in engines if e._loaded}) == 1
    for e in engines[:-1]:
        e.unload()
    assert len(xtts_model.loaded_models()) == 1, "the model stays while one engine still uses it"
    engines[-1].unload()
    assert xtts_model.loaded_models() == []


def test_latents_are_cached_on_disk_and_a_changed_reference_is_recomputed(
    xtts_settings: Settings, ljspeech: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from TTS.tts.models.xtts import Xtts

    engine = XttsEngine(xtts_settings)
    engine.load()  # warm-up computes the reference's latents
    computed = _count_calls(monkeypatch, Xtts, "get_gpt_cond_latents")
    voice = VoiceRef("lj", xtts_settings.reference_path)
    assert engine.prepare_voice(voice).source == "memory"

    fresh = XttsEngine(xtts_settings)  # a new engine (new process) reads the disk cache
    fresh.load()  # the model is shared (already warm): nothing is prepared yet
    assert fresh.prepare_voice(voice).source == "disk"
    assert fresh.prepare_voice(voice).source == "memory"
    assert computed == []
    cache = xtts_settings.voices_path / ".cache"
    before = sorted(p.name for p in cache.glob("lj-*.pt"))
    assert len(before) == 1

    shutil.copy(ljspeech / "LJ001-0003.wav", voice.path)  # the user replaces the clip
    lat2 = fresh.prepare_voice(voice)
    assert lat2.source == "computed" and len(computed) == 1
    after = sorted(p.name for p in cache.glob("lj-*.pt"))
    assert len(after) == 1 and after != before, "the stale cache file is replaced"
    assert fresh.prepare_voice(voice).source == "memory" and len(computed) == 1
    engine.unload()
    fresh.unload()


def test_unload_frees_the_model_and_load_brings_it_back(xtts_settings: Settings) -> None:
    status = StatusBus()
    engine = XttsEngine(xtts_settings, status)
    engine.load()
    loaded = engine._loaded
    engine.unload()
    assert not engine.loaded and not engine.ready()
    assert loaded is not None and loaded.model is None
    assert xtts_model.loaded_models() == []
    assert status.current.model_state == "unloaded"
    with pytest.raises(EngineUnavailableError, match="not loaded"):
        list(engine.stream("Hello.", None))
    engine.load()
    assert engine.ready()
    assert sum(c.size for c in engine.stream("Back again.", None)) > 0


def test_auto_device_without_cuda_needs_allow_cpu(tiny_xtts_dir: Path) -> None:
    settings = Settings(xtts_model_path=str(tiny_xtts_dir), xtts_device="auto", xtts_allow_cpu=False)
    with pytest.raises(EngineUnavailableError, match="xtts_allow_cpu"):
        XttsEngine(settings).load()
    with pytest.raises(EngineUnavailableError, match="CUDA"):
        XttsEngine(settings.model_copy(update={"xtts_device": "cuda"})).load()


def test_a_model_folder_missing_files_says_which(tmp_path: Path, tiny_xtts_dir: Path) -> None:
    broken = tmp_path / "model"
    broken.mkdir()
    shutil.copy(tiny_xtts_dir / "config.json", broken / "config.json")
    settings = Settings(xtts_model_path=str(broken), xtts_allow_cpu=True)
    with pytest.raises(EngineUnavailableError, match=r"lacks model\.pth, vocab\.json"):
        XttsEngine(settings).load()
    with pytest.raises(EngineUnavailableError, match="neither a folder"):
        XttsEngine(Settings(xtts_model_path=str(tmp_path / "nope"), xtts_allow_cpu=True)).load()


def test_the_model_id_without_a_download_says_how_to_get_it_and_downloads_nothing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import huggingface_hub.constants as hf

    monkeypatch.setenv("TTS_HOME", str(tmp_path / "tts"))
    monkeypatch.setattr(hf, "HF_HUB_CACHE", str(tmp_path / "hf"))
    settings = Settings(xtts_allow_cpu=True, xtts_license_accepted=True)  # the default: the coqui model id
    with pytest.raises(EngineUnavailableError, match=r"Get the cloned voice \(XTTS v2\).*python -m daemon model get"):
        XttsEngine(settings).load()
    assert not (tmp_path / "tts").exists() and not (tmp_path / "hf").exists()  # no implicit download any more


def test_an_unknown_language_is_refused_with_the_list(xtts_settings: Settings) -> None:
    with pytest.raises(EngineUnavailableError, match=r"xtts_language 'xx'.*en"):
        XttsEngine(xtts_settings.model_copy(update={"xtts_language": "xx"})).load()
    assert xtts_model.loaded_models() == []
