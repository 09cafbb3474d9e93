"""The layering of daemon/ as contracts: which packages may import which (read from the source with ast, so a
lazy import inside a function counts too). CI fails when a forbidden import is added.

    entry points   app, cli, __main__, api, doctor,       may import anything
                   commands, parts, runner
                   the package's __init__ (re-exports the api)
    desktop        tray, hotkeys, question box, ...       base, voices, download (talks to the app via protocols)
    assistant      question -> LLM stream -> speech        joins brain and speech (wired by app.py)
    brain          the remote LLM                          base only: never speech, desktop, gpu
    speech         engines, router, pipeline, player      base + voices + download: never brain, desktop, gpu
    download       the XTTS model download manager        base only: never speech, desktop
    gpu            NVML watcher, Ollama guard, policy     base only
    listen         microphone + speech recognition        base only
    setup          modelsetup: the model's first run       download + base (the tray asks; app.py wires)
    voices         voice library (VoiceRef, decoding)     base only
    base           errors, status, settings, fsio, logs, instance, paths, audio, net, winruntime, timings,
                   live (the settings provider), worker (the worker lifecycle)
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent / "daemon"

LAYER_OF_TOP = {
    "app": "entry", "cli": "entry", "__main__": "entry", "api": "entry", "doctor": "entry", "__init__": "entry",
    "commands": "entry", "parts": "entry", "runner": "entry",
    "listen": "listen", "modelsetup": "setup",
    "desktop": "desktop", "assistant": "assistant", "brain": "brain", "speech": "speech", "gpu": "gpu",
    "voices": "voices", "download": "download",
}
BASE = {"errors", "status", "settings", "fsio", "logs", "instance", "paths", "audio", "net", "winruntime", "timings", "live",
        "worker", ""}
ALLOWED: dict[str, set[str]] = {
    "entry": {"entry", "desktop", "assistant", "brain", "speech", "gpu", "voices", "listen", "setup", "download",
              "base"},
    "setup": {"setup", "download", "base"},
    "listen": {"listen", "base"},
    "desktop": {"desktop", "voices", "download", "base"},
    "assistant": {"assistant", "brain", "speech", "voices", "base"},
    "brain": {"brain", "base"},
    "speech": {"speech", "voices", "download", "base"},
    "gpu": {"gpu", "base"},
    "voices": {"voices", "base"},
    "download": {"download", "base"},
    "base": {"base"},
}


def layer(module: str) -> str:
    """'daemon.speech.router' -> 'speech'; 'daemon.errors' -> 'base'."""
    parts = module.split(".")
    top = parts[1] if len(parts) > 1 else ""
    if top in BASE or top.isupper() or top.startswith("__version"):
        return "base"
    return LAYER_OF_TOP.get(top, f"unknown:{top}")


def imports(path: Path) -> list[tuple[int, str]]:
    found: list[tuple[int, str]] = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0 and node.module.startswith("daemon"):
            for alias in node.names:
                found.append((node.lineno, f"{node.module}.{alias.name}" if node.module == "daemon" else node.module))
        elif isinstance(node, ast.Import):
            found += [(node.lineno, a.name) for a in node.names if a.name.startswith("daemon.")]
    return found


def module_name(path: Path) -> str:
    rel = path.relative_to(ROOT.parent).with_suffix("")
    return ".".join(rel.parts)


def violations() -> list[str]:
    out = []
    for path in sorted(ROOT.rglob("*.py")):
        src = layer(module_name(path))
        for lineno, target in imports(path):
            dst = layer(target)
            if dst not in ALLOWED.get(src, set()):
                out.append(f"{path.relative_to(ROOT.parent)}:{lineno}: {src} imports {target} ({dst})")
    return out


def test_every_module_belongs_to_a_layer() -> None:
    unknown = {layer(module_name(p)) for p in ROOT.rglob("*.py") if layer(module_name(p)).startswith("unknown")}
    assert not unknown, f"new top-level modules need a layer in this test: {unknown}"


def test_no_forbidden_imports() -> None:
    assert violations() == []


@pytest.mark.parametrize(("source", "target"), [("speech", "daemon.brain.client"), ("brain", "daemon.speech.pipeline"),
                                                ("desktop", "daemon.speech.router"), ("gpu", "daemon.desktop.tray"),
                                                ("download", "daemon.speech.xtts.model"),
                                                ("download", "daemon.desktop.tray")])
def test_the_contract_catches_a_forbidden_import(source: str, target: str) -> None:
    """The checker itself can fail: a forbidden edge is reported."""
    assert layer(target) not in ALLOWED[source]


def test_the_composition_root_only_wires() -> None:
    """app.py builds and wires: short, typed (no Any), and no part is handed settings to keep."""
    source = (ROOT / "app.py").read_text(encoding="utf-8")
    assert len(source.splitlines()) < 150
    assert "Any" not in {n.id for n in ast.walk(ast.parse(source)) if isinstance(n, ast.Name)}
    assert "_apply" not in source and ".settings = " not in source
