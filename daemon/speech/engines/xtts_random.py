"""Build a random-weight XTTS v2 model folder (config.json, model.pth, vocab.json) for tests and benchmarks.

`tiny` has 2 GPT layers x 128 channels (fast on a CPU); `full` has the real XTTS v2 architecture (30 x 1024,
466 M parameters). Random weights never emit the stop token, so generation always runs to the token cap
(`max_audio_tokens`): keep it small. The folder is laid out like the real model and loads through the same
code (`Xtts.load_checkpoint`), so the product cannot tell it apart.
"""

from __future__ import annotations

import json
import logging
import os
import shutil
import tempfile
from pathlib import Path
from typing import Any

log = logging.getLogger(__name__)

SIZES: dict[str, dict[str, Any]] = {
    "tiny": {"gpt_layers": 2, "gpt_n_model_channels": 128, "gpt_n_heads": 2, "decoder_input_dim": 128},
    "full": {"gpt_layers": 30, "gpt_n_model_channels": 1024, "gpt_n_heads": 16, "decoder_input_dim": 1024},
}

_CORPUS = (
    "the quick brown fox jumps over the lazy dog. hello world, this is a test of the voice. "
    "printing, in the only sense with which we are at present concerned, differs from most if not from all "
    "the arts and crafts represented in the exhibition. one two three four five six seven eight nine ten! "
    "what is it? yes, no; maybe: it's fine - really. zero, quiz, jazz, vexed, kayak."
)


def _build_vocab(path: Path, languages: list[str]) -> None:
    """A small BPE vocab with XTTS's special tokens and one [lang] token per language."""
    from tokenizers import Tokenizer, models, pre_tokenizers, trainers

    specials = ["[STOP]", "[UNK]", "[SPACE]", "[START]"] + [f"[{lang}]" for lang in languages]
    tok = Tokenizer(models.BPE(unk_token="[UNK]"))
    tok.pre_tokenizer = pre_tokenizers.Whitespace()
    alphabet = list("abcdefghijklmnopqrstuvwxyz0123456789.,!?;:'-\"()")
    trainer = trainers.BpeTrainer(vocab_size=256, special_tokens=specials, initial_alphabet=alphabet)
    tok.train_from_iterator([_CORPUS] * 4, trainer=trainer)
    tok.save(str(path))


def build_random_xtts(
    folder: Path, size: str = "tiny", max_audio_tokens: int = 40, seed: int = 0
) -> Path:
    """Write a random-weight XTTS model folder at `folder` (atomically: a temp folder renamed into place)."""
    import torch
    from TTS.tts.configs.xtts_config import XttsConfig
    from TTS.tts.models.xtts import Xtts

    if size not in SIZES:
        raise ValueError(f"size must be one of {sorted(SIZES)}")
    folder = Path(folder)
    folder.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{folder.name}.", dir=folder.parent))
    try:
        config = XttsConfig()
        args = config.model_args
        for key, value in SIZES[size].items():
            setattr(args, key, value)
        args.gpt_use_perceiver_resampler = True
        args.gpt_num_audio_tokens = 1026
        args.gpt_start_audio_token = 1024
        args.gpt_stop_audio_token = 1025
        args.gpt_max_audio_tokens = max_audio_tokens
        args.gpt_max_text_tokens = 402
        args.gpt_max_prompt_tokens = 70
        config.temperature = 0.75
        config.repetition_penalty = 5.0
        config.gpt_cond_len = 30
        config.gpt_cond_chunk_len = 4
        config.max_ref_len = 30
        _build_vocab(tmp / "vocab.json", list(config.languages))
        args.tokenizer_file = "vocab.json"
        torch.manual_seed(seed)
        model = Xtts(config)
        # init_models() needs the tokenizer to size the text embeddings: load it the way load_checkpoint does.
        from TTS.tts.layers.xtts.tokenizer import VoiceBpeTokenizer

        model.tokenizer = VoiceBpeTokenizer(vocab_file=str(tmp / "vocab.json"))
        model.init_models()
        state = {k: v for k, v in model.state_dict().items() if not k.startswith("gpt.gpt_inference")}
        torch.save({"model": state}, tmp / "model.pth")
        (tmp / "config.json").write_text(json.dumps(config.to_dict(), indent=2), encoding="utf-8")
        (tmp / "RANDOM_WEIGHTS.txt").write_text(
            f"Random-weight XTTS ({size}) for tests and benchmarks: it speaks noise, not words.\n", encoding="utf-8"
        )
        if folder.exists():
            shutil.rmtree(folder)
        os.replace(tmp, folder)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    log.info("built random %s XTTS at %s", size, folder)
    return folder
