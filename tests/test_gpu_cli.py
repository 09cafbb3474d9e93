"""`python -m daemon gpu`: the watcher's view and the guard's plan, dry run by default, `--apply` to act.

The first test runs the real CLI in a subprocess with real nvidia-ml-py (no NVIDIA driver here). The others
run `main()` in-process so that pynvml's functions can be faked (tests/fixtures/gpu.py); Ollama is the local
HTTP stand-in and the process is a real child with a unique name.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from daemon.__main__ import main
from daemon.settings import Settings, save
from tests.fixtures.gpu import FakeNvml, OllamaProcs, alive
from tests.fixtures.ollama import OllamaStandIn
from tests.test_gpu_vram import _has_driver

ROOT = Path(__file__).resolve().parent.parent


def _settings_file(tmp_path: Path, **kw: object) -> Path:
    path = tmp_path / "settings.json"
    save(Settings(use_local_cloning=False, **kw), path)  # type: ignore[arg-type]
    return path


@pytest.mark.skipif(_has_driver(), reason="an NVIDIA driver is present")
def test_gpu_verb_without_a_gpu_says_so_and_touches_nothing(tmp_path: Path, ollama_api: OllamaStandIn) -> None:
    ollama_api.models = {"llama3:8b": 4200}
    path = _settings_file(tmp_path, ollama_url=ollama_api.url)
    out = subprocess.run(
        [sys.executable, "-m", "daemon", "--settings", str(path), "gpu"],
        cwd=ROOT, capture_output=True, text=True, timeout=60,
    )
    assert out.returncode == 0, out.stderr
    assert "GPU: no NVIDIA GPU" in out.stdout
    assert f"Ollama API ({ollama_api.url}): loaded llama3:8b" in out.stdout
    assert "would unload via the Ollama API: llama3:8b" in out.stdout
    assert ollama_api.posts() == []


def test_gpu_verb_plan_lists_gpus_models_and_processes(
    tmp_path: Path, fake_nvml: FakeNvml, ollama_api: OllamaStandIn, ollama_procs: OllamaProcs,
    capsys: pytest.CaptureFixture[str],
) -> None:
    fake_nvml.free_mb = 900
    ollama_api.models = {"llama3:8b": 4200}
    server = ollama_procs.spawn()
    path = _settings_file(tmp_path, ollama_url=ollama_api.url, ollama_process_names=[ollama_procs.base],
                          ollama_stop_processes=True)
    assert main(["--settings", str(path), "gpu"]) == 0
    text = capsys.readouterr().out
    assert "GPU 0: NVIDIA GeForce RTX 3060 Laptop GPU  total 6144 MB  free 900 MB  used 5244 MB" in text
    assert f"this user's Ollama processes: {ollama_procs.base} (pid {server.pid})" in text
    assert "if still short: would terminate, then kill" in text
    assert ollama_api.posts() == [] and alive(server)


def test_gpu_verb_apply_unloads_and_reports_json(
    tmp_path: Path, fake_nvml: FakeNvml, ollama_api: OllamaStandIn, capsys: pytest.CaptureFixture[str]
) -> None:
    fake_nvml.free_mb = 900
    ollama_api.models = {"llama3:8b": 4200}

    def give_back(_name: str, mb: int) -> None:
        fake_nvml.free_mb += mb

    ollama_api.on_unload = give_back
    path = _settings_file(tmp_path, ollama_url=ollama_api.url)
    assert main(["--settings", str(path), "gpu", "--apply", "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["gpus"][0]["free_mb"] == 5100
    assert out["report"]["unloaded_models"] == ["llama3:8b"] and out["report"]["enough"] is True
    assert ollama_api.posts() == [{"model": "llama3:8b", "keep_alive": 0}]


def test_gpu_verb_apply_exits_1_when_still_short(
    tmp_path: Path, fake_nvml: FakeNvml, ollama_api: OllamaStandIn, capsys: pytest.CaptureFixture[str]
) -> None:
    fake_nvml.free_mb = 900
    path = _settings_file(tmp_path, ollama_url=ollama_api.url)
    assert main(["--settings", str(path), "gpu", "--apply", "--need", "3000"]) == 1
    assert "ollama_stop_processes" in capsys.readouterr().out
