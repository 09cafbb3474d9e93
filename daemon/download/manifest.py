"""What the XTTS v2 download is: its files, where they come from, how they are checked, and its licence.

The facts come from coqui's own model list (TTS/.models.json of coqui-ai/TTS, entry
tts_models/multilingual/multi-dataset/xtts_v2): the files model.pth, config.json, vocab.json, hash.md5 and
speakers_xtts.pth under https://huggingface.co/coqui/XTTS-v2/resolve/main/, and "model_hash":
"10f92b55c512af7a8d39d650547a15a7", the text coqui expects in hash.md5 (it names the model's version).

How a download is checked: hash.md5 must hold that pinned value (the default source); every file whose SHA-256 the
source publishes (Hugging Face sends it as X-Linked-Etag with the redirect of each large file) must have that
SHA-256; without a published SHA-256 (a mirror), model.pth's md5 must equal hash.md5. Sizes must match too.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

from daemon import paths
from daemon.settings import XTTS_DOWNLOAD_URL, Settings

LICENSE_NAME = "Coqui Public Model License (CPML)"
LICENSE_URL = "https://coqui.ai/cpml"
LICENSE_SUMMARY = (
    "XTTS v2 is released by Coqui under the Coqui Public Model License (CPML). It lets you download and use the "
    "model, and the speech it makes, for non-commercial purposes only: personal use, research, evaluation. Any "
    "commercial use (in a product or service that is sold or earns money, including the generated audio) needs a "
    "separate commercial licence from Coqui. If you share the model you must pass the licence on with it. The "
    "model comes as it is, with no warranty. Read the full text (the link) before accepting."
)

MODEL_NAME = "XTTS v2"
FOLDER_NAME = "xtts_v2"
PINNED_MD5 = "10f92b55c512af7a8d39d650547a15a7"  # hash.md5 of the default source (coqui's model_hash)
HASH_FILE = "hash.md5"
CHECKPOINT = "model.pth"
JSON_FILES = ("config.json", "vocab.json")
REQUIRED_FILES = ("config.json", "model.pth", "vocab.json")  # what XTTS cannot load without
TOS_FILE = "tos_agreed.txt"  # coqui's record that its licence prompt was answered yes
# What getting the model is called wherever it is offered: the tray's item (desktop/traymenu.py adds the "…" of
# an item that opens a dialog), its dialog's title, and every message saying how to get the model.
GET_MODEL = "Get the cloned voice (XTTS v2)"


@dataclass(frozen=True)
class ModelFile:
    name: str
    approx_bytes: int  # the default source's size, for estimates before the server says
    optional: bool = False  # a source without it is fine (XTTS loads without the built-in speakers)


# Download order: the small files first (hash.md5 says what model.pth must hash to), the checkpoint last.
FILES: tuple[ModelFile, ...] = (
    ModelFile(HASH_FILE, 32),
    ModelFile("config.json", 4_400),
    ModelFile("vocab.json", 361_219),
    ModelFile("speakers_xtts.pth", 7_754_818, optional=True),
    ModelFile(CHECKPOINT, 1_867_929_118),
)
XTTS_APPROX_BYTES = sum(f.approx_bytes for f in FILES)


def source_url(settings: Settings) -> str:
    """The base URL the files are fetched from, always ending in '/'."""
    url = settings.xtts_download_url.strip()
    return url if url.endswith("/") else url + "/"


def is_default_source(settings: Settings) -> bool:
    return source_url(settings) == XTTS_DOWNLOAD_URL


def file_url(settings: Settings, name: str) -> str:
    return source_url(settings) + name


def how_to_get() -> str:
    """The two ways to get the model, for every message that says it is missing."""
    return f"right-click the tray icon > {GET_MODEL}…, or run `{paths.command()} model get`"


def license_accepted(settings: Settings) -> bool:
    """Accepted in settings (the tray's dialog, `model get`) or through coqui's own COQUI_TOS_AGREED=1."""
    return settings.xtts_license_accepted or os.environ.get("COQUI_TOS_AGREED") == "1"


def human_bytes(n: float) -> str:
    """1.9 GB, 361 KB, 12 bytes (decimal units, as download sizes are usually told)."""
    for unit, size in (("GB", 1e9), ("MB", 1e6), ("KB", 1e3)):
        if n >= size:
            return f"{n / size:.1f} {unit}" if n < 10 * size else f"{n / size:.0f} {unit}"
    return f"{int(n)} bytes"
