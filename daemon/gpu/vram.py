"""The VRAM watcher: NVML (nvidia-ml-py) read on its own thread, published on the Status bus.

NVML is initialised once; each poll reads total/free/used per GPU. Without an NVIDIA driver or GPU the
watcher reports "no NVIDIA GPU" and stops polling: it never raises into the daemon.
"""

from __future__ import annotations

import logging
import os
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from daemon.live import SettingsField, SettingsSource
from daemon.settings import Settings
from daemon.status import Listeners, StatusBus
from daemon.worker import Worker

log = logging.getLogger(__name__)

NO_GPU_NOTE = "no NVIDIA GPU"
# Status (the tray's tooltip and menu, the tier watcher) hears of free VRAM only when it moved this much: the
# driver's few-MB jitter every poll would re-render the tray and wake the tier watcher every poll for nothing.
# Listeners (the keep-warm policy) still get every reading.
STATUS_STEP_MB = 64
MB = 1024 * 1024
# NVML errors that mean "there is no usable NVIDIA GPU here" (names as in pynvml).
_NO_GPU_ERRORS = (
    "NVMLError_LibraryNotFound",
    "NVMLError_DriverNotLoaded",
    "NVMLError_GpuNotFound",
    "NVMLError_FunctionNotFound",
    "NVMLError_NotSupported",
    "NVMLError_LibRmVersionMismatch",
)


@dataclass(frozen=True)
class GpuMemory:
    """One GPU's memory in MB (MiB, as nvidia-smi shows)."""

    index: int
    name: str
    total_mb: int
    free_mb: int
    used_mb: int


@dataclass(frozen=True)
class VramReading:
    """One poll of every GPU; `primary` is the GPU XTTS uses (CUDA_VISIBLE_DEVICES' first, else 0)."""

    gpus: tuple[GpuMemory, ...]
    at: float  # the watcher's clock when read
    primary_index: int = 0

    @property
    def primary(self) -> GpuMemory:
        for gpu in self.gpus:
            if gpu.index == self.primary_index:
                return gpu
        return self.gpus[0]

    @property
    def name(self) -> str:
        return self.primary.name

    @property
    def total_mb(self) -> int:
        return self.primary.total_mb

    @property
    def free_mb(self) -> int:
        return self.primary.free_mb

    @property
    def used_mb(self) -> int:
        return self.primary.used_mb


ReadingListener = Callable[[VramReading], None]


def _primary_index() -> int:
    first = os.environ.get("CUDA_VISIBLE_DEVICES", "").split(",")[0].strip()
    return int(first) if first.isdigit() else 0


def _load_pynvml() -> Any:
    import pynvml  # nvidia-ml-py

    return pynvml


def _is_no_gpu_error(exc: BaseException) -> bool:
    return any(cls.__name__ in _NO_GPU_ERRORS for cls in type(exc).__mro__)


class VramWatcher:
    """Polls NVML every `settings.vram_poll_interval_s` on a daemon thread and publishes VRAM to Status.

    `nvml` is the pynvml module (injected only to test without importing it); `clock` stamps readings.
    The interval is read from the settings provider before each wait (a reload applies from the next poll).
    """

    settings = SettingsField()

    def __init__(
        self,
        settings: Settings | SettingsSource,
        status: StatusBus,
        nvml: Any = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.settings = settings
        self._status = status
        self._nvml = nvml
        self._clock = clock
        self._lock = threading.Lock()
        self._worker = Worker("vram-watcher", self._step)
        self._listeners: Listeners[ReadingListener] = Listeners()
        self._reading: VramReading | None = None
        self._initialised = False
        self._available: bool | None = None  # None: not tried yet
        self._note = ""
        self._handles: list[Any] = []
        self._error_logged = False
        self._published_free_mb: int | None = None

    # --- public view ---
    @property
    def available(self) -> bool | None:
        """True once NVML answered, False when there is no usable NVIDIA GPU, None before the first poll."""
        return self._available

    @property
    def note(self) -> str:
        """Why there is no reading (e.g. "no NVIDIA GPU"), else ""."""
        return self._note

    def snapshot(self) -> VramReading | None:
        """The latest reading (None without a GPU or before the first poll)."""
        return self._reading

    def headroom(self, required_mb: int) -> bool:
        """True when the latest reading has at least `required_mb` free on the primary GPU."""
        reading = self._reading
        return reading is not None and reading.free_mb >= required_mb

    def subscribe(self, listener: ReadingListener) -> Callable[[], None]:
        """Call listener(reading) after every successful poll (on the watcher's thread); returns unsubscribe."""
        return self._listeners.add(listener)

    # --- lifecycle ---
    def start(self) -> None:
        """Start polling on a daemon thread (idempotent)."""
        self._worker.start()

    @property
    def polling(self) -> bool:
        """True while the polling thread runs."""
        return self._worker.running

    def poll_soon(self) -> None:
        """Poll now (e.g. new settings: the next wait uses the new interval)."""
        self._worker.wake()

    def stop(self, timeout: float = 2.0) -> None:
        """Stop polling and release NVML."""
        self._worker.stop(timeout)
        with self._lock:
            if self._initialised:
                try:
                    self._nvml.nvmlShutdown()
                except Exception as exc:
                    log.debug("nvmlShutdown failed: %s", exc)
                self._initialised = False
                self._handles = []

    def _step(self) -> float | None:
        self.poll_once()
        if self._available is False:
            log.info("VRAM watcher stopped polling: %s", self._note)
            self._worker.end()
            return None
        # NVML has no event for memory use: the policy must notice a game taking VRAM within vram_pressure_s, so
        # this polls every vram_poll_interval_s (2 s: one wake; without an NVIDIA GPU it stopped above)
        return self.settings.vram_poll_interval_s

    # --- polling ---
    def poll_once(self) -> VramReading | None:
        """Read NVML now, publish to Status and listeners; returns the reading (None if unavailable)."""
        with self._lock:
            reading = self._read()
            listeners = self._listeners.snapshot() if reading is not None else []
        if reading is None:
            self._published_free_mb = None
            self._status.update(gpu_name="", vram_total_mb=None, vram_free_mb=None, gpu_note=self._note)
            return None
        shown = self._published_free_mb
        if shown is None or abs(reading.free_mb - shown) >= STATUS_STEP_MB:
            shown = self._published_free_mb = reading.free_mb
        self._status.update(gpu_name=reading.name, vram_total_mb=reading.total_mb, vram_free_mb=shown, gpu_note="")
        for listener in listeners:
            try:
                listener(reading)
            except Exception:  # a broken listener must not stop the watcher
                log.exception("VRAM listener %r failed", listener)
        return reading

    def _init(self) -> bool:
        """NVML init once; sets available/note. Caller holds the lock."""
        if self._initialised:
            return True
        if self._available is False:
            return False
        try:
            if self._nvml is None:
                self._nvml = _load_pynvml()
            self._nvml.nvmlInit()
            count = int(self._nvml.nvmlDeviceGetCount())
            handles = [self._nvml.nvmlDeviceGetHandleByIndex(i) for i in range(count)]
        except ImportError as exc:
            return self._no_gpu(f"nvidia-ml-py is not installed ({exc})")
        except Exception as exc:
            if _is_no_gpu_error(exc):
                return self._no_gpu(f"{type(exc).__name__}: {exc}")
            self._available = None
            self._note = f"GPU unreadable: {exc}"
            if not self._error_logged:
                log.warning("NVML init failed: %s (will retry)", exc)
                self._error_logged = True
            return False
        if not handles:
            self._shutdown_quietly()
            return self._no_gpu("NVML reports 0 GPUs")
        self._initialised = True
        self._handles = handles
        self._available = True
        self._error_logged = False
        return True

    def _no_gpu(self, why: str) -> bool:
        if self.settings.use_local_cloning:
            log.info("%s: %s; XTTS runs on the CPU only if xtts_allow_cpu, else the other voices speak", NO_GPU_NOTE, why)
        else:
            log.info("%s: %s", NO_GPU_NOTE, why)
        self._available = False
        self._note = NO_GPU_NOTE
        self._reading = None
        return False

    def _shutdown_quietly(self) -> None:
        try:
            self._nvml.nvmlShutdown()
        except Exception:
            pass

    def _read(self) -> VramReading | None:
        if not self._init():
            self._reading = None
            return None
        try:
            gpus = []
            for index, handle in enumerate(self._handles):
                name = self._nvml.nvmlDeviceGetName(handle)
                if isinstance(name, bytes):
                    name = name.decode("utf-8", "replace")
                mem = self._nvml.nvmlDeviceGetMemoryInfo(handle)
                gpus.append(
                    GpuMemory(index, str(name), int(mem.total) // MB, int(mem.free) // MB, int(mem.used) // MB)
                )
        except Exception as exc:
            self._note = f"GPU unreadable: {exc}"
            self._reading = None
            if not self._error_logged:
                log.warning("reading VRAM failed: %s", exc)
                self._error_logged = True
            return None
        if self._error_logged:
            log.info("VRAM readable again")
            self._error_logged = False
        self._note = ""
        self._reading = VramReading(tuple(gpus), self._clock(), _primary_index())
        return self._reading
