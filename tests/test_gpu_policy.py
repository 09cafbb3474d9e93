"""The keep-warm policy driven by free-VRAM sequences, with an injected clock (no sleeps).

Faked: the GPU (pynvml's functions, tests/fixtures/gpu.py) and XTTS itself: `WarmTone` is a tone engine with
the members the policy uses from daemon.speech.xtts.engine.XttsEngine (`load()`, `unload()`, `loaded`,
`vram_used_mb`); loading it takes `XTTS_MB` of the fake GPU's free VRAM, as the real model would. The watcher,
the policy's worker thread, the real Router (choosing the fallback) and the Ollama guard are the product's.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from dataclasses import dataclass, field

import pytest

from daemon.errors import EngineOutOfMemoryError
from daemon.gpu.ollama import OllamaGuard
from daemon.gpu.policy import NO_ROOM, PRESSURE, KeepWarmPolicy
from daemon.gpu.vram import VramWatcher
from daemon.settings import Settings
from daemon.speech.router import Router
from daemon.status import StatusBus
from tests.fixtures.gpu import FakeNvml
from tests.fixtures.ollama import OllamaStandIn
from tests.fixtures.tones import Faulty, MemorySink, ToneEngine, raise_on

TOTAL_MB, XTTS_MB = 6144, 2000


class WarmTone(ToneEngine):
    """XTTS stand-in: ready only while loaded; load/unload move XTTS_MB of the fake GPU's free VRAM."""

    def __init__(self, nvml: FakeNvml) -> None:
        super().__init__("xtts", 1)
        self.nvml = nvml
        self._loaded = False
        self.loads = self.unloads = 0
        self.gate: threading.Event | None = None  # when set, load() waits on it (proves it runs off-thread)
        self.load_thread = ""

    @property
    def loaded(self) -> bool:
        return self._loaded

    @property
    def vram_used_mb(self) -> float | None:
        return float(XTTS_MB) if self._loaded else None

    def ready(self) -> bool:
        return self._loaded

    def load(self) -> None:
        self.load_thread = threading.current_thread().name
        if self.gate is not None:
            assert self.gate.wait(5)
        self.nvml.free_mb -= XTTS_MB
        self._loaded = True
        self.loads += 1

    def unload(self) -> None:
        if self._loaded:
            self.nvml.free_mb += XTTS_MB
            self._loaded = False
            self.unloads += 1


@dataclass
class Rig:
    nvml: FakeNvml
    settings: Settings
    status: StatusBus
    watcher: VramWatcher
    engine: WarmTone
    policy: KeepWarmPolicy
    router: Router
    notes: list[str] = field(default_factory=list)
    now: float = 1000.0
    other_mb: int = 0  # VRAM held by "another application"

    def clock(self) -> float:
        return self.now

    def other_app(self, mb: int) -> None:
        """Another program now holds `mb` of VRAM."""
        self.nvml.free_mb += self.other_mb - mb
        self.other_mb = mb

    def tick(self, seconds: float = 1.0, n: int = 1) -> None:
        """Let `n` polls pass, `seconds` apart, waiting for any load/unload they trigger."""
        for _ in range(n):
            self.now += seconds
            self.watcher.poll_once()
            assert self.policy.wait_idle(5)

    def speaker(self) -> str:
        return self.router.choose().name


def make_rig(nvml: FakeNvml, start: bool = True, **overrides: object) -> Rig:
    base: dict[str, object] = dict(
        vram_low_water_mb=400, vram_high_water_mb=3000, vram_pressure_s=5.0, xtts_vram_required_mb=2500,
        ollama_url="http://127.0.0.1:9", ollama_process_names=["ollama-policy-test-none"],
    )
    base.update(overrides)
    settings = Settings(**base)  # type: ignore[arg-type]
    nvml.gpus[0].total_mb, nvml.free_mb = TOTAL_MB, TOTAL_MB - 300  # the desktop uses 300 MB
    status = StatusBus()
    rig_box: list[Rig] = []
    watcher = VramWatcher(settings, status, clock=lambda: rig_box[0].now)
    engine = WarmTone(nvml)
    notes: list[str] = []
    guard = OllamaGuard(settings, settle_s=0.5, poll_s=0.02, http_timeout_s=1.0)
    policy = KeepWarmPolicy(settings, watcher, engine, guard, status, notes.append, clock=lambda: rig_box[0].now)
    router = Router({"xtts": engine, "system": ToneEngine("system", 3)}, settings, status, probe=False,
                    on_oom=policy.on_oom)
    rig = Rig(nvml, settings, status, watcher, engine, policy, router, notes)
    rig_box.append(rig)
    if start:
        policy.start()
        assert policy.wait_idle(10)
    return rig


@pytest.fixture
def rigs(fake_nvml: FakeNvml) -> Iterator[list[Rig]]:
    made: list[Rig] = []
    yield made
    for rig in made:
        rig.policy.stop()
        rig.router.close() if hasattr(rig.router, "close") else None


def test_loads_xtts_at_start_on_a_worker_thread(fake_nvml: FakeNvml, rigs: list[Rig]) -> None:
    rig = make_rig(fake_nvml, start=False)
    rigs.append(rig)
    rig.engine.gate = threading.Event()
    rig.policy.start()  # must return while load() is still blocked
    assert rig.engine.loads == 0
    rig.engine.gate.set()
    assert rig.policy.wait_idle(5)
    assert rig.engine.loaded and rig.engine.load_thread == "xtts-keep-warm"
    assert rig.status.current.model_state == "warm" and rig.speaker() == "xtts"
    assert rig.policy.need_mb == XTTS_MB, "the need is refined from the measured load"


def test_pressure_unloads_after_the_hold_and_the_router_falls_back(fake_nvml: FakeNvml, rigs: list[Rig]) -> None:
    rig = make_rig(fake_nvml)
    rigs.append(rig)
    rig.other_app(3700)  # free: 6144 - 300 - 2000 - 3700 = 144 MB < 400
    rig.tick(1, n=4)
    assert rig.engine.loaded, "a short dip must not unload"
    rig.tick(1, n=2)
    assert not rig.engine.loaded and rig.policy.held_off == PRESSURE
    assert rig.status.current.model_state == "unloaded"
    assert rig.speaker() == "system"
    assert any("XTTS unloaded" in n for n in rig.notes)


def test_recovery_reloads_after_the_hold(fake_nvml: FakeNvml, rigs: list[Rig]) -> None:
    rig = make_rig(fake_nvml)
    rigs.append(rig)
    rig.other_app(3700)
    rig.tick(1, n=6)
    assert not rig.engine.loaded
    rig.other_app(0)  # the other program exits: 5844 MB free
    rig.tick(1, n=4)
    assert not rig.engine.loaded, "reload waits for the hold"
    rig.tick(1, n=2)
    assert rig.engine.loaded and rig.speaker() == "xtts"
    assert rig.status.current.model_state == "warm"
    assert any("XTTS voice back" in n for n in rig.notes)


def test_flapping_around_the_low_water_mark_does_not_unload(fake_nvml: FakeNvml, rigs: list[Rig]) -> None:
    rig = make_rig(fake_nvml)
    rigs.append(rig)
    for i in range(60):  # free VRAM alternates 350 / 450 MB around the 400 MB mark, every second
        rig.other_app(3494 if i % 2 == 0 else 3394)
        rig.tick(1)
    assert rig.engine.loaded and rig.engine.unloads == 0


def test_flapping_around_the_reload_mark_does_not_reload(fake_nvml: FakeNvml, rigs: list[Rig]) -> None:
    rig = make_rig(fake_nvml)
    rigs.append(rig)
    rig.other_app(3700)
    rig.tick(1, n=6)
    assert not rig.engine.loaded
    for i in range(60):  # free alternates 2950 / 3050 MB around the 3000 MB reload mark
        rig.other_app(2894 if i % 2 == 0 else 2794)
        rig.tick(1)
    assert not rig.engine.loaded and rig.engine.loads == 1


def test_an_app_that_keeps_coming_back_backs_off_reloads(fake_nvml: FakeNvml, rigs: list[Rig]) -> None:
    rig = make_rig(fake_nvml)
    rigs.append(rig)
    for second in range(240):  # another app takes the GPU for 8 s, gives it back for 8 s, over and over
        rig.other_app(3700 if (second // 8) % 2 == 0 else 0)
        rig.tick(1)
    cycles = rig.engine.unloads
    assert cycles <= 3, f"XTTS thrashed: {rig.policy.actions}"
    assert rig.policy.reload_hold_s > rig.settings.vram_pressure_s
    rig.other_app(0)  # and when it is gone for good, XTTS comes back within the longest hold
    rig.tick(1, n=int(rig.policy.reload_hold_s) + 2)
    assert rig.engine.loaded


def test_keep_warm_off_never_unloads_or_reloads(fake_nvml: FakeNvml, rigs: list[Rig]) -> None:
    rig = make_rig(fake_nvml, keep_warm=False)
    rigs.append(rig)
    rig.other_app(3700)
    rig.tick(1, n=20)
    rig.policy.on_oom()
    assert rig.policy.wait_idle(5)
    assert rig.engine.loaded and rig.engine.unloads == 0


def test_cuda_oom_in_the_router_unloads_and_reload_waits_for_vram(fake_nvml: FakeNvml, rigs: list[Rig]) -> None:
    rig = make_rig(fake_nvml)
    rigs.append(rig)
    faulty = Faulty(rig.engine, raise_on(1, lambda: EngineOutOfMemoryError("CUDA out of memory")))
    rig.router.engines["xtts"] = faulty
    rig.router.choose()
    spoken_by = rig.router.speak_sentence("Sentence 1.", None, MemorySink(), threading.Event())
    assert spoken_by == "system"
    assert rig.policy.wait_idle(5)
    assert not rig.engine.loaded and rig.policy.held_off == PRESSURE
    assert any("ran out of GPU memory" in n for n in rig.notes)
    rig.tick(1, n=6)  # plenty of VRAM again -> reload after the hold
    assert rig.engine.loaded


def test_no_room_at_start_makes_room_through_ollama_then_loads(
    fake_nvml: FakeNvml, ollama_api: OllamaStandIn, rigs: list[Rig]
) -> None:
    ollama_api.models = {"llama3:8b": 4500}

    def give_back(_name: str, mb: int) -> None:
        fake_nvml.free_mb += mb

    ollama_api.on_unload = give_back
    rig = make_rig(fake_nvml, start=False, ollama_url=ollama_api.url)
    rigs.append(rig)
    fake_nvml.free_mb = TOTAL_MB - 300 - 4500  # Ollama holds 4.5 GB: 1344 MB free < 2500 needed
    rig.policy.start()
    assert rig.policy.wait_idle(10)
    assert ollama_api.posts() == [{"model": "llama3:8b", "keep_alive": 0}]
    assert rig.engine.loaded and rig.speaker() == "xtts"
    assert any(n.startswith("Freed VRAM for XTTS: Unloaded Ollama model(s) llama3:8b") for n in rig.notes)


def test_no_room_and_guard_off_waits_then_loads_when_vram_frees(fake_nvml: FakeNvml, rigs: list[Rig]) -> None:
    rig = make_rig(fake_nvml, start=False, ollama_unload=False)
    rigs.append(rig)
    rig.other_app(4500)
    rig.policy.start()
    assert rig.policy.wait_idle(5)
    assert not rig.engine.loaded and rig.policy.held_off == NO_ROOM
    assert rig.speaker() == "system"
    assert any("XTTS not loaded: 1344 MB of VRAM free, it needs 2500 MB" in n for n in rig.notes)
    rig.other_app(0)
    rig.tick(1, n=6)
    assert rig.engine.loaded


def test_no_gpu_leaves_xtts_off_unless_cpu_is_allowed(fake_nvml: FakeNvml, rigs: list[Rig]) -> None:
    import pynvml

    fake_nvml.init_error = pynvml.NVMLError(pynvml.NVML_ERROR_LIBRARY_NOT_FOUND)
    rig = make_rig(fake_nvml)
    rigs.append(rig)
    assert not rig.engine.loaded and rig.status.current.model_state == "disabled"
    assert rig.status.current.gpu_note == "no NVIDIA GPU" and rig.speaker() == "system"
    cpu = make_rig(fake_nvml, xtts_allow_cpu=True)
    rigs.append(cpu)
    assert cpu.engine.loaded


def test_cloning_off_loads_nothing(fake_nvml: FakeNvml, rigs: list[Rig]) -> None:
    rig = make_rig(fake_nvml, use_local_cloning=False)
    rigs.append(rig)
    assert not rig.engine.loaded and rig.status.current.model_state == "disabled"
