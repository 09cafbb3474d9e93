"""The Ollama guard against a local Ollama API stand-in and REAL child processes with unique names.

Faked: only the GPU (pynvml functions, see tests/fixtures/gpu.py) and Ollama itself (a local HTTP stand-in
speaking /api/ps and /api/generate). The processes are real (copies of /bin/sleep and of the Python
interpreter named `ollama-test-<random>`), stopped by the product's psutil code.
"""

from __future__ import annotations

import os
import socket
import subprocess
from types import SimpleNamespace

import psutil
import pytest

from daemon.gpu import procs
from daemon.gpu.ollama import OllamaGuard
from daemon.gpu.vram import VramWatcher
from daemon.settings import Settings
from daemon.status import StatusBus
from tests.fixtures.gpu import FakeNvml, OllamaProcs, alive
from tests.fixtures.ollama import OllamaStandIn


def _settings(url: str, names: list[str], **kw: object) -> Settings:
    return Settings(ollama_url=url, ollama_process_names=names, **kw)  # type: ignore[arg-type]


def _fast_guard(s: Settings) -> OllamaGuard:
    return OllamaGuard(s, settle_s=0.5, poll_s=0.02, terminate_timeout_s=3.0, kill_timeout_s=3.0)


def _closed_port_url() -> str:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return f"http://127.0.0.1:{sock.getsockname()[1]}"


def _free_while(running: list[subprocess.Popen[bytes]], short: int, enough: int):  # type: ignore[no-untyped-def]
    """A measure(): VRAM stays short while any of `running` lives (as if they held it)."""
    return lambda: short if any(alive(p) for p in running) else enough


def test_api_unload_frees_enough_so_processes_are_left_alone(
    fake_nvml: FakeNvml, ollama_api: OllamaStandIn, ollama_procs: OllamaProcs
) -> None:
    fake_nvml.free_mb = 1000
    ollama_api.models = {"llama3:8b": 4200, "nomic-embed-text:latest": 300}

    def give_back(_name: str, mb: int) -> None:
        fake_nvml.free_mb += mb

    ollama_api.on_unload = give_back
    server = ollama_procs.spawn()
    s = _settings(ollama_api.url, [ollama_procs.base], ollama_stop_processes=True)
    watcher = VramWatcher(s, StatusBus())

    def measure() -> int | None:
        r = watcher.poll_once()
        return r.free_mb if r else None

    report = _fast_guard(s).free_vram(2500, measure)

    assert [r[:2] for r in ollama_api.requests] == [("GET", "/api/ps"), ("POST", "/api/generate"),
                                                     ("POST", "/api/generate")]
    assert ollama_api.posts() == [{"model": "llama3:8b", "keep_alive": 0},
                                  {"model": "nomic-embed-text:latest", "keep_alive": 0}]
    assert report.unloaded_models == ["llama3:8b", "nomic-embed-text:latest"]
    assert report.free_before_mb == 1000 and report.free_after_mb == 5500 and report.enough
    assert not report.stopped and not report.killed
    assert alive(server), "the Ollama process must be left alone when unloading freed enough"
    assert "unloaded ollama model(s) llama3:8b" in report.summary().lower()


def test_graceful_stop_when_unloading_is_not_enough(ollama_procs: OllamaProcs) -> None:
    a, b = ollama_procs.spawn(), ollama_procs.spawn()
    s = _settings(_closed_port_url(), [ollama_procs.base.upper()], ollama_stop_processes=True)

    report = _fast_guard(s).free_vram(2500, _free_while([a, b], 800, 5000))

    assert "not reachable" in report.api_note
    assert sorted(p.pid for p in report.stopped) == sorted([a.pid, b.pid])
    assert not report.killed and not report.survived
    assert not alive(a) and not alive(b)
    assert report.free_after_mb == 5000 and report.enough
    assert f"stopped {ollama_procs.base} (pid" in report.summary().lower()


def test_process_that_ignores_sigterm_gets_killed(ollama_procs: OllamaProcs) -> None:
    stubborn = ollama_procs.spawn(ignore_term=True)
    s = _settings(_closed_port_url(), [ollama_procs.base], ollama_stop_processes=True)
    guard = OllamaGuard(s, settle_s=0.5, poll_s=0.02, terminate_timeout_s=0.5, kill_timeout_s=3.0)

    report = guard.free_vram(2500, _free_while([stubborn], 800, 5000))

    assert [p.pid for p in report.killed] == [stubborn.pid]
    assert not report.stopped
    assert not alive(stubborn)
    assert "ignored terminate" in report.summary()


def test_non_matching_processes_are_never_touched(ollama_procs: OllamaProcs) -> None:
    target = ollama_procs.spawn()
    # Same first 15 characters as the target (what Linux keeps as the command name), but another name.
    longer = ollama_procs.spawn(ollama_procs.base + "x")
    other = ollama_procs.spawn("not-" + ollama_procs.base)
    s = _settings(_closed_port_url(), [ollama_procs.base], ollama_stop_processes=True)

    report = _fast_guard(s).free_vram(2500, _free_while([target], 800, 5000))

    assert [p.pid for p in report.stopped] == [target.pid]
    assert alive(longer) and alive(other)


@pytest.mark.skipif(not hasattr(os, "geteuid") or os.geteuid() != 0, reason="needs root to spawn as another user")
def test_another_users_same_named_process_is_never_touched(ollama_procs: OllamaProcs) -> None:
    nobody = 65534
    theirs = ollama_procs.spawn(uid=nobody)
    mine = ollama_procs.spawn()
    assert psutil.Process(theirs.pid).uids().real == nobody
    s = _settings(_closed_port_url(), [ollama_procs.base], ollama_stop_processes=True)

    report = _fast_guard(s).free_vram(2500, _free_while([mine], 800, 5000))

    assert [p.pid for p in report.stopped] == [mine.pid]
    assert [p.pid for p in report.other_users] == [theirs.pid]
    assert alive(theirs), "another user's process must never be touched"


def test_user_filter_at_its_boundary() -> None:
    """The Windows path (no uid: compare user names) and unknown owners, on stand-in psutil-like objects."""

    def raises() -> None:
        raise psutil.AccessDenied(1)

    assert procs.is_current_user(SimpleNamespace(uids=lambda: SimpleNamespace(real=1000)), uid=1000)  # type: ignore[arg-type]
    assert not procs.is_current_user(SimpleNamespace(uids=lambda: SimpleNamespace(real=0)), uid=1000)  # type: ignore[arg-type]
    assert not procs.is_current_user(SimpleNamespace(uids=raises), uid=1000)  # type: ignore[arg-type]
    win_proc = SimpleNamespace(username=lambda: "PC\\alice")
    assert procs.is_current_user(win_proc, uid=None, username="PC\\alice")  # type: ignore[arg-type]
    assert not procs.is_current_user(SimpleNamespace(username=lambda: "PC\\bob"), uid=None, username="PC\\alice")  # type: ignore[arg-type]
    assert not procs.is_current_user(SimpleNamespace(username=raises), uid=None, username="PC\\alice")  # type: ignore[arg-type]


def test_stopping_is_off_by_default_so_processes_stay(ollama_api: OllamaStandIn, ollama_procs: OllamaProcs) -> None:
    server = ollama_procs.spawn()
    ollama_api.models = {"llama3:8b": 4200}  # unloading will not give anything back
    s = _settings(ollama_api.url, [ollama_procs.base])
    assert s.ollama_stop_processes is False

    report = _fast_guard(s).free_vram(2500, lambda: 800)

    assert report.unloaded_models == ["llama3:8b"]
    assert report.enough is False and not report.stopped
    assert any("ollama_stop_processes" in step for step in report.steps)
    assert alive(server)


def test_unloading_off_skips_the_api(ollama_api: OllamaStandIn) -> None:
    ollama_api.models = {"llama3:8b": 4200}
    s = _settings(ollama_api.url, ["ollama-none"], ollama_unload=False)

    report = _fast_guard(s).free_vram(2500, lambda: 800)

    assert ollama_api.requests == [] and not report.acted


def test_plan_is_a_dry_run(ollama_api: OllamaStandIn, ollama_procs: OllamaProcs) -> None:
    server = ollama_procs.spawn()
    ollama_api.models = {"llama3:8b": 4200}
    s = _settings(ollama_api.url, [ollama_procs.base], ollama_stop_processes=True)

    report = _fast_guard(s).plan(2500, 800)

    assert report.dry_run and report.loaded_models == ["llama3:8b"]
    assert [p.pid for p in report.candidates] == [server.pid]
    assert any("would unload" in step for step in report.steps)
    assert any("would terminate" in step for step in report.steps)
    assert ollama_api.posts() == [] and alive(server)


def test_enough_vram_already_free_does_nothing(ollama_api: OllamaStandIn) -> None:
    ollama_api.models = {"llama3:8b": 4200}
    report = _fast_guard(_settings(ollama_api.url, ["ollama"])).free_vram(2500, lambda: 4000)
    assert report.enough and not report.acted and ollama_api.requests == []
