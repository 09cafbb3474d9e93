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
                   live (the settings provider), worker (the worker lifecycle), answerlog (the last answers kept)

Inside a package, the modules a split made are ranked too (CHAINS): a module imports only modules of a lower
rank in its chain, so the pure parsers never reach back into the client that uses them, the backends never
into the engine that picks them, and peers (espeak and SAPI, Windows and XDG) never into each other.
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
        "worker", "answerlog", ""}
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


# Within-package chains, lowest rank first (module names without the leading "daemon.").
CHAINS: list[list[set[str]]] = [
    [{"brain.errors"}, {"brain.transport"}, {"brain.dialects"}, {"brain.stream"}, {"brain.client"}],
    [{"speech.clean"}, {"speech.sentences"}, {"speech.pipeline"}],
    [{"speech.clean"}, {"speech.unspoken"}],
    [{"desktop.dialogs"}, {"desktop.answer_window"}, {"desktop.tray"}],
    [{"speech.devices", "speech.resampling"}, {"speech.player"}, {"speech.sinks"}, {"speech.router"}],
    [{"speech.health"}, {"speech.availability"}, {"speech.router"}],
    [{"speech.engines.child"}, {"speech.engines.espeak", "speech.engines.sapi"}, {"speech.engines.system"}],
    [{"desktop.autostart.base"}, {"desktop.autostart.windows", "desktop.autostart.xdg"}, {"desktop.autostart"}],
    [{"desktop.x11selection", "desktop.winclipboard", "desktop.winfocus"}, {"desktop.selection"}, {"desktop.read_aloud"}],
    [{"speech.xtts.tokens", "speech.xtts.vocoder"}, {"speech.xtts.stream"}, {"speech.xtts.engine"}],
    [{"speech.xtts.model", "speech.xtts.latents"}, {"speech.xtts.stream"}],
    [{"voices.decoding"}, {"voices.check"}, {"voices.library"}, {"voices"}],
    [{"speech.duck.base"}, {"speech.duck.journal", "speech.duck.pulse", "speech.duck.winaudio"},
     {"speech.duck.ducker"}, {"speech.duck"}],
]


def layer(module: str) -> str:
    """'daemon.speech.router' -> 'speech'; 'daemon.errors' -> 'base'."""
    parts = module.split(".")
    top = parts[1] if len(parts) > 1 else ""
    if top in BASE or top.isupper() or top.startswith("__version"):
        return "base"
    return LAYER_OF_TOP.get(top, f"unknown:{top}")


def imports(path: Path, root: Path = ROOT) -> list[tuple[int, str]]:
    """(line, module) for each import of daemon code in the file, lazy ones too; `from daemon.x import y` names
    the module daemon.x.y when y is one (a file or a package under `root`), and relative imports are resolved."""
    package = list(path.relative_to(root.parent).parent.parts)  # what a relative import starts from
    found: list[tuple[int, str]] = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                base = ".".join([*package[: len(package) - node.level + 1], *([base] if base else [])])
            if base != "daemon" and not base.startswith("daemon."):
                continue
            for alias in node.names:
                sub = f"{base}.{alias.name}"
                found.append((node.lineno, sub if _is_module(sub, root) else base))
        elif isinstance(node, ast.Import):
            found += [(node.lineno, a.name) for a in node.names if a.name.startswith("daemon.")]
    return found


def _is_module(name: str, root: Path) -> bool:
    path = root.parent.joinpath(*name.split("."))
    return path.with_suffix(".py").is_file() or (path / "__init__.py").is_file()


def module_name(path: Path, root: Path = ROOT) -> str:
    rel = path.relative_to(root.parent).with_suffix("")
    parts = rel.parts[:-1] if rel.parts[-1] == "__init__" and len(rel.parts) > 2 else rel.parts
    return ".".join(parts)  # a package's __init__ is the package ("daemon.speech"); the top one is "daemon.__init__"


def rank_violation(src: str, dst: str) -> bool:
    """Does src import a module of the same or a higher rank in one of its CHAINS?"""
    src, dst = src.removeprefix("daemon."), dst.removeprefix("daemon.")
    if src == dst:
        return False
    for chain in CHAINS:
        ranks = {m: i for i, group in enumerate(chain) for m in group}
        if src in ranks and dst in ranks and ranks[dst] >= ranks[src]:
            return True
    return False


def violations(root: Path = ROOT) -> list[str]:
    """Every forbidden import under `root` (a daemon/ folder), as 'path:line: what'."""
    out = []
    for path in sorted(root.rglob("*.py")):
        name = module_name(path, root)
        src = layer(name)
        for lineno, target in imports(path, root):
            dst = layer(target)
            where = f"{path.relative_to(root.parent)}:{lineno}"
            if dst not in ALLOWED.get(src, set()):
                out.append(f"{where}: {src} imports {target} ({dst})")
            elif rank_violation(name, target):
                out.append(f"{where}: {name} imports {target}, which ranks at or above it in its package")
    return out


def test_every_module_belongs_to_a_layer() -> None:
    assert all(_is_module("daemon." + m, ROOT) for chain in CHAINS for group in chain for m in group), "stale CHAINS"
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


def write(root: Path, module: str, source: str) -> None:
    path = root.joinpath(*module.split(".")).with_suffix(".py")
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(source, encoding="utf-8")


def test_the_checker_reports_forbidden_imports_in_a_tree(tmp_path: Path) -> None:
    """The checker itself, fed modules with forbidden imports: a lazy one across layers, a `from package import
    module` one up a chain, a relative one between peers; and a tree of allowed imports comes out clean."""
    root = tmp_path / "daemon"
    for module in ("daemon.__init__", "daemon.brain.__init__", "daemon.brain.client", "daemon.brain.transport",
                   "daemon.speech.__init__", "daemon.speech.engines.__init__", "daemon.speech.engines.sapi",
                   "daemon.errors"):
        write(tmp_path, module, "")
    write(tmp_path, "daemon.speech.engines.espeak", "from daemon.errors import EngineError\nfrom . import sapi\n")
    write(tmp_path, "daemon.speech.pipeline", "import logging\n\n\ndef f():\n    from daemon.brain.client import X\n")
    write(tmp_path, "daemon.brain.dialects", "from daemon.brain import transport\nfrom daemon.brain import client\n")
    found = violations(root)
    assert found == [
        "daemon/brain/dialects.py:2: daemon.brain.dialects imports daemon.brain.client, which ranks at or above it "
        "in its package",
        "daemon/speech/engines/espeak.py:2: daemon.speech.engines.espeak imports daemon.speech.engines.sapi, which "
        "ranks at or above it in its package",
        "daemon/speech/pipeline.py:5: speech imports daemon.brain.client (brain)",
    ]
    for bad in ("daemon.brain.dialects", "daemon.speech.engines.espeak", "daemon.speech.pipeline"):
        write(tmp_path, bad, "from daemon.errors import EngineError\nfrom daemon.brain import transport\n"
              if bad.startswith("daemon.brain") else "from daemon.errors import EngineError\n")
    assert violations(root) == []


def test_the_composition_root_only_wires() -> None:
    """app.py builds and wires: short, typed (no Any), and no part is handed settings to keep."""
    source = (ROOT / "app.py").read_text(encoding="utf-8")
    assert len(source.splitlines()) < 150
    assert "Any" not in {n.id for n in ast.walk(ast.parse(source)) if isinstance(n, ast.Name)}
    assert "_apply" not in source and ".settings = " not in source


def _engine_modules(name: str) -> bool:
    """A speech engine's own code: speech/engines/* but the contract (base), and the whole xtts package."""
    return name.startswith(("daemon.speech.xtts", "daemon.speech.engines.")) and name != "daemon.speech.engines.base"


def test_speech_reaches_engines_only_through_the_contract() -> None:
    """The router, pipeline and stack know engines by `Engine` alone (the factory imports each by name), so a new
    engine is one file (or one package, like xtts) and nothing in speech tests names."""
    found = [f"{module_name(p)} imports {t}" for p in sorted((ROOT / "speech").rglob("*.py"))
             if not _engine_modules(module_name(p)) for _line, t in imports(p) if _engine_modules(t)]
    assert found == []


def test_the_xtts_package_uses_only_the_engine_contract_the_sentence_splitter_and_languages_from_speech() -> None:
    found = {t for p in (ROOT / "speech" / "xtts").rglob("*.py") for _line, t in imports(p)
             if t.startswith("daemon.speech") and not t.startswith("daemon.speech.xtts")}
    assert found <= {"daemon.speech.engines.base", "daemon.speech.sentences", "daemon.speech.language"}, found


def test_the_contracts_catch_an_engine_imported_past_the_factory(tmp_path: Path) -> None:
    """Fed a router that imports the XTTS engine, the check above reports it."""
    router = tmp_path / "daemon" / "speech" / "router.py"
    router.parent.mkdir(parents=True)
    router.write_text("def load():\n    from daemon.speech.xtts.engine import XttsEngine\n", encoding="utf-8")
    assert [t for _line, t in imports(router, tmp_path / "daemon") if _engine_modules(t)] == [
        "daemon.speech.xtts.engine"]
