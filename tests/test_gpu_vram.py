"""The VRAM watcher: real pynvml with no driver (this machine), and pynvml's functions faked (a GPU).

No GPU here: readings come from tests/fixtures/gpu.py's FakeNvml, patched in at the pynvml function
boundary; the watcher, its thread and the Status bus are real.
"""

from __future__ import annotations

import sys
import threading

import pynvml
import pytest

from daemon.gpu.vram import NO_GPU_NOTE, VramReading, VramWatcher
from daemon.settings import Settings
from daemon.status import StatusBus
from tests.fixtures.gpu import FakeGpu, FakeNvml
from tests.waits import until


def _has_driver() -> bool:
    try:
        pynvml.nvmlInit()
    except pynvml.NVMLError:
        return False
    pynvml.nvmlShutdown()
    return True


@pytest.mark.skipif(_has_driver(), reason="an NVIDIA driver is present")
def test_no_driver_means_no_gpu_note_and_the_thread_ends() -> None:
    """Real nvidia-ml-py on a machine without the NVIDIA driver (NVMLError_LibraryNotFound)."""
    status = StatusBus()
    watcher = VramWatcher(Settings(vram_poll_interval_s=0.01), status)
    watcher.start()
    assert until(lambda: not watcher.polling, 5), "without a GPU the watcher stops polling"
    assert watcher.available is False and watcher.snapshot() is None
    assert status.current.gpu_note == NO_GPU_NOTE and status.current.vram_free_mb is None
    assert not watcher.headroom(1)
    watcher.stop()


@pytest.mark.parametrize("error", [pynvml.NVML_ERROR_DRIVER_NOT_LOADED, pynvml.NVML_ERROR_LIBRARY_NOT_FOUND])
def test_driver_errors_read_as_no_gpu(fake_nvml: FakeNvml, error: int) -> None:
    fake_nvml.init_error = pynvml.NVMLError(error)
    status = StatusBus()
    assert VramWatcher(Settings(), status).poll_once() is None
    assert status.current.gpu_note == NO_GPU_NOTE


def test_missing_nvidia_ml_py_reads_as_no_gpu(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "pynvml", None)  # import pynvml -> ImportError
    status = StatusBus()
    watcher = VramWatcher(Settings(), status)
    assert watcher.poll_once() is None and watcher.available is False
    assert status.current.gpu_note == NO_GPU_NOTE


def test_polls_on_its_thread_publishes_per_gpu_and_inits_nvml_once(fake_nvml: FakeNvml) -> None:
    fake_nvml.gpus = [FakeGpu("NVIDIA GeForce RTX 3060 Laptop GPU", 6144, 4000), FakeGpu("NVIDIA T400", 2048, 1900)]
    status = StatusBus()
    watcher = VramWatcher(Settings(vram_poll_interval_s=0.01), status)
    readings: list[VramReading] = []
    three = threading.Event()

    def listener(reading: VramReading) -> None:
        readings.append(reading)
        if len(readings) >= 3:
            three.set()

    watcher.subscribe(listener)
    watcher.start()
    assert three.wait(5), "the watcher should poll repeatedly"
    watcher.stop()

    assert fake_nvml.init_calls == 1 and fake_nvml.shutdown_calls == 1
    r = readings[-1]
    assert [(g.index, g.name, g.total_mb, g.free_mb, g.used_mb) for g in r.gpus] == [
        (0, "NVIDIA GeForce RTX 3060 Laptop GPU", 6144, 4000, 2144),
        (1, "NVIDIA T400", 2048, 1900, 148),
    ]
    cur = status.current
    assert (cur.gpu_name, cur.vram_total_mb, cur.vram_free_mb, cur.gpu_note) == (
        "NVIDIA GeForce RTX 3060 Laptop GPU", 6144, 4000, "")
    assert watcher.headroom(4000) and not watcher.headroom(4001)


def test_cuda_visible_devices_picks_the_primary_gpu(fake_nvml: FakeNvml, monkeypatch: pytest.MonkeyPatch) -> None:
    fake_nvml.gpus = [FakeGpu("A", 6144, 100), FakeGpu("B", 8192, 7000)]
    monkeypatch.setenv("CUDA_VISIBLE_DEVICES", "1")
    reading = VramWatcher(Settings(), StatusBus()).poll_once()
    assert reading is not None and (reading.name, reading.free_mb) == ("B", 7000)


def test_gpu_read_error_is_a_note_then_recovers(fake_nvml: FakeNvml) -> None:
    status = StatusBus()
    watcher = VramWatcher(Settings(), status)
    assert watcher.poll_once() is not None
    fake_nvml.read_error = pynvml.NVMLError(pynvml.NVML_ERROR_GPU_IS_LOST)
    assert watcher.poll_once() is None
    assert "GPU unreadable" in status.current.gpu_note and status.current.vram_free_mb is None
    fake_nvml.read_error = None
    fake_nvml.free_mb = 3333
    reading = watcher.poll_once()
    assert reading is not None and status.current.vram_free_mb == 3333 and status.current.gpu_note == ""
    assert fake_nvml.init_calls == 1


def test_a_broken_listener_does_not_stop_the_watcher(fake_nvml: FakeNvml) -> None:
    watcher = VramWatcher(Settings(), StatusBus())
    seen: list[int] = []

    def boom(_r: VramReading) -> None:
        raise RuntimeError("listener bug")

    watcher.subscribe(boom)
    unsubscribe = watcher.subscribe(lambda r: seen.append(r.free_mb))
    watcher.poll_once()
    unsubscribe()
    watcher.poll_once()
    assert seen == [5000]


def test_status_hears_of_vram_only_when_it_moved_but_listeners_get_every_reading(fake_nvml: FakeNvml) -> None:
    """The driver's few-MB jitter must not re-render the tray and wake the tier watcher every poll (#22)."""
    status = StatusBus()
    changes: list[int | None] = []
    status.subscribe(lambda old, new: changes.append(new.vram_free_mb) if old.vram_free_mb != new.vram_free_mb
                     else None)
    watcher = VramWatcher(Settings(), status)
    heard: list[int] = []
    watcher.subscribe(lambda reading: heard.append(reading.free_mb))
    for free in (4000, 4010, 3990, 4030, 3950, 3900, 3890):
        fake_nvml.free_mb = free
        watcher.poll_once()
    assert heard == [4000, 4010, 3990, 4030, 3950, 3900, 3890], "the policy sees every reading"
    assert changes == [4000, 3900], "Status moves only by STATUS_STEP_MB (64 MB) or more"
    assert status.current.vram_free_mb == 3900
