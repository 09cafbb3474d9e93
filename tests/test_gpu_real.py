"""Real NVML and real CUDA allocations: these run only on a machine with an NVIDIA driver (skipped elsewhere).

Nothing is faked except XTTS: `CudaBlock` stands in for it by allocating a real block of VRAM with torch on
load() and freeing it on unload(). "Another application" is a real child process that allocates VRAM with
torch. Not yet run on a GPU machine (none was lent while this was written); see docs/gpu.md.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from daemon.gpu.ollama import OllamaGuard
from daemon.gpu.policy import KeepWarmPolicy
from daemon.gpu.vram import VramWatcher
from daemon.settings import Settings
from daemon.status import StatusBus
from tests.test_gpu_vram import _has_driver
from tests.waits import until

ROOT = Path(__file__).resolve().parent.parent
pytestmark = pytest.mark.skipif(not _has_driver(), reason="needs an NVIDIA driver and GPU")
MB = 1024 * 1024


def _cuda() -> Any:
    torch = pytest.importorskip("torch")
    if not torch.cuda.is_available():
        pytest.skip("torch has no CUDA here")
    return torch


class CudaBlock:
    """XTTS stand-in holding `mb` of real VRAM while loaded."""

    def __init__(self, torch: Any, mb: int) -> None:
        self.torch, self.mb = torch, mb
        self.block: Any = None

    @property
    def loaded(self) -> bool:
        return self.block is not None

    @property
    def vram_used_mb(self) -> float | None:
        return float(self.mb) if self.block is not None else None

    def load(self) -> None:
        self.block = self.torch.empty(self.mb * MB, dtype=self.torch.uint8, device="cuda")
        self.torch.cuda.synchronize()

    def unload(self) -> None:
        self.block = None
        self.torch.cuda.empty_cache()


def test_real_nvml_through_the_gpu_verb(tmp_path: Path) -> None:
    path = tmp_path / "settings.json"
    from daemon.settings import save

    save(Settings(use_local_cloning=False, ollama_url="http://127.0.0.1:9"), path)
    out = subprocess.run([sys.executable, "-m", "daemon", "--settings", str(path), "gpu", "--json"],
                         cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    data = json.loads(out.stdout)
    print(json.dumps(data["gpus"], indent=1))
    assert data["gpus"] and data["gpus"][0]["total_mb"] > 0 and data["gpus"][0]["name"]


def test_policy_unloads_under_a_real_allocation_and_reloads_after(tmp_path: Path) -> None:
    torch = _cuda()
    torch.zeros(1, device="cuda")  # create this process's CUDA context before measuring
    status = StatusBus()
    settings = Settings(vram_poll_interval_s=0.1, vram_pressure_s=0.5, xtts_vram_required_mb=1024,
                        ollama_unload=False, ollama_url="http://127.0.0.1:9")
    watcher = VramWatcher(settings, status)
    engine = CudaBlock(torch, 1024)
    notes: list[str] = []
    policy = KeepWarmPolicy(settings, watcher, engine, OllamaGuard(settings), status, notes.append)
    policy.start()
    assert policy.wait_idle(60) and engine.loaded
    loaded = watcher.poll_once()
    assert loaded is not None
    # Marks relative to what this GPU has free now: another app taking 2 GB must cross the low mark.
    settings = settings.model_copy(update={"vram_low_water_mb": max(loaded.free_mb - 1500, 0),
                                           "vram_high_water_mb": loaded.free_mb + 512})
    policy.settings = settings  # a new snapshot (the daemon passes its LiveSettings provider instead)
    watcher.start()
    other = subprocess.Popen(
        [sys.executable, "-c",
         "import sys, torch\n"
         "x = torch.empty(2048 * 2**20, dtype=torch.uint8, device='cuda'); torch.cuda.synchronize()\n"
         "print('ready', flush=True); sys.stdin.read()\n"],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True,
    )
    try:
        assert other.stdout is not None and other.stdout.readline().strip() == "ready"
        assert until(lambda: not engine.loaded, timeout=30), f"XTTS stand-in not unloaded; status {status.current}"
        print("under pressure:", status.current.vram_free_mb, "MB free;", notes)
    finally:
        assert other.stdin is not None
        other.stdin.close()
        other.wait(30)
    assert until(lambda: engine.loaded and policy.wait_idle(0), timeout=30), f"not reloaded; status {status.current}"
    print("after the other app left:", status.current.vram_free_mb, "MB free;", policy.actions)
    policy.stop()
    watcher.stop()
    engine.unload()
