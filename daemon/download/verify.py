"""Is a file, or a whole folder, a good XTTS v2 model (sizes, md5, JSON that parses)?"""

from __future__ import annotations

import hashlib
import json
import re
import threading
from pathlib import Path

from daemon.download.errors import Cancelled
from daemon.download.manifest import REQUIRED_FILES

MD5_RE = re.compile(r"^[0-9a-f]{32}$")
CHUNK = 1 << 20


def md5_file(path: Path, cancel: threading.Event | None = None) -> str:
    """The md5 of a file as 32 hex digits (checks `cancel` between 1 MiB reads)."""
    return digest_file(path, "md5", cancel)


def digest_file(path: Path, algorithm: str, cancel: threading.Event | None = None) -> str:
    """A file's digest (md5, sha256) in hex, read 1 MiB at a time, checking `cancel` between reads."""
    h = hashlib.new(algorithm, usedforsecurity=False)
    with open(path, "rb") as fh:
        while chunk := fh.read(CHUNK):
            if cancel is not None and cancel.is_set():
                raise Cancelled()
            h.update(chunk)
    return h.hexdigest()


def read_md5(path: Path) -> str | None:
    """The checksum in a hash.md5 file (32 hex digits, optionally followed by a file name), else None."""
    try:
        text = path.read_text(encoding="ascii", errors="replace").strip().lower()
    except OSError:
        return None
    first = text.split()[0] if text.split() else ""
    return first if MD5_RE.match(first) else None


def json_problem(path: Path) -> str | None:
    """Why a JSON file cannot be read (None when it parses)."""
    try:
        json.loads(path.read_text(encoding="utf-8"))
    except UnicodeDecodeError:
        return f"{path.name} is not UTF-8 text"
    except ValueError as exc:
        return f"{path.name} is not valid JSON ({str(exc)[:80]})"
    except OSError as exc:
        return f"{path.name} cannot be read ({exc.strerror or exc})"
    return None


def validate_folder(path: Path) -> list[str]:
    """The problems that keep XTTS from loading this folder; an empty list means it is usable.

    Checks that config.json, model.pth and vocab.json are there and not empty and that the JSON files parse;
    the checkpoint's content is checked by its md5 when VoxTray downloads it, not here (that takes seconds).
    """
    path = Path(path)
    if not path.is_dir():
        return [f"{path} is not a folder"]
    missing = [name for name in REQUIRED_FILES if not (path / name).is_file()]
    problems = [f"lacks {', '.join(missing)}"] if missing else []
    for name in REQUIRED_FILES:
        if name in missing:
            continue
        if (path / name).stat().st_size == 0:
            problems.append(f"{name} is empty")
        elif name.endswith(".json") and (problem := json_problem(path / name)):
            problems.append(problem)
    return problems
