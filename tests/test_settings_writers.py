"""Two writers at once: settings changes are read-modify-write under a cross-process file lock, and a Colab link's
URL and token are saved together, so parallel `connect` runs never pair one link's URL with the other's token.
Real: the bridge (colab/bridge.py, child processes) in front of the Ollama stand-in, the settings file; the OS
keyring is the in-memory backend plugged into the keyring package (no OS keyring runs here)."""

from __future__ import annotations

import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from daemon import settings as settings_mod
from daemon.brain import secrets
from daemon.brain.connect import connect
from daemon.brain.link import parse_link
from daemon.settings import Settings
from tests.fixtures.bridge import RunningBridge, start_bridge
from tests.fixtures.ollama import OllamaStandIn

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="module")
def two_bridges(ollama_standin: OllamaStandIn) -> Iterator[tuple[RunningBridge, RunningBridge]]:
    a, b = start_bridge(ollama_standin.url), start_bridge(ollama_standin.url)
    yield a, b
    a.stop()
    b.stop()


@pytest.mark.parametrize("keyring_kind", ["memory", "none"])
def test_parallel_connects_never_pair_one_links_url_with_the_others_token(
        two_bridges: tuple[RunningBridge, RunningBridge], tmp_path: Path, keyring_kind: str,
        request: pytest.FixtureRequest) -> None:
    request.getfixturevalue("memory_keyring" if keyring_kind == "memory" else "no_keyring")
    a, b = two_bridges
    token_of = {a.url: a.token, b.url: b.token}
    path = tmp_path / "settings.json"
    settings_mod.save(Settings(), path)
    for _round in range(20):
        barrier = threading.Barrier(2)
        errors: list[BaseException] = []

        def run(link: str, barrier: threading.Barrier = barrier, errors: list[BaseException] = errors) -> None:
            try:
                barrier.wait()
                connect(parse_link(link), path)
            except BaseException as exc:  # reported below
                errors.append(exc)

        threads = [threading.Thread(target=run, args=(bridge.link,)) for bridge in (a, b)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(60)
        assert not errors, errors
        saved = settings_mod.load(path, check=False)
        assert secrets.get_token(saved) == token_of[saved.remote_llm_url]


def test_two_processes_updating_different_keys_keep_both(tmp_path: Path) -> None:
    """A CLI verb and the daemon write at once (real processes): neither update is lost."""
    path = tmp_path / "settings.json"
    settings_mod.save(Settings(), path)
    code = ("import sys; from pathlib import Path; from daemon import settings as s\n"
            "for i in range(1, 31): s.update(Path(sys.argv[1]), **{sys.argv[2]: i / 100})")
    procs = [subprocess.Popen([sys.executable, "-c", code, str(path), key], cwd=ROOT)
             for key in ("volume", "xtts_max_rtf")]
    for proc in procs:
        assert proc.wait(120) == 0
    saved = settings_mod.load(path, check=False)
    assert (saved.volume, saved.xtts_max_rtf) == (0.3, 0.3)
