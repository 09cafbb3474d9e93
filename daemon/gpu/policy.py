"""The keep-warm policy: load XTTS when the GPU has room, unload it under VRAM pressure, reload after.

Decisions come from VRAM readings (the watcher's thread) with hysteresis: free VRAM must stay below
`vram_low_water_mb` for `vram_pressure_s` to unload, and above max(`vram_high_water_mb`, need + low water)
for the (backed-off) hold time to reload. Loading and unloading run on the policy's own worker thread.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from typing import Protocol

from daemon.gpu.ollama import OllamaGuard
from daemon.gpu.vram import VramReading, VramWatcher
from daemon.live import SettingsField, SettingsSource
from daemon.settings import Settings
from daemon.status import StatusBus
from daemon.worker import JobQueue

log = logging.getLogger(__name__)

MAX_BACKOFF = 8  # the reload hold time grows up to 8 x vram_pressure_s when XTTS keeps getting pushed out


class WarmEngine(Protocol):
    """What the policy needs from the XTTS engine (daemon.speech.xtts.engine.XttsEngine provides it).

    `load()` blocks until the model is warm (raises on failure); `unload()` frees its VRAM;
    `loaded` says whether it is in memory; `vram_used_mb` is what it took (None/0 when unknown).
    """

    @property
    def loaded(self) -> bool: ...

    @property
    def vram_used_mb(self) -> float | None: ...

    def load(self) -> None: ...

    def unload(self) -> None: ...


# Why XTTS is not loaded, when the policy may bring it back.
PRESSURE, NO_ROOM = "pressure", "no room"


class KeepWarmPolicy:
    """Keeps XTTS loaded while the GPU can hold it; see the module docstring for the rules."""

    settings = SettingsField()

    def __init__(
        self,
        settings: Settings | SettingsSource,
        watcher: VramWatcher,
        engine: WarmEngine,
        guard: OllamaGuard,
        status: StatusBus,
        notify: Callable[[str], None] | None = None,
        *,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.settings = settings
        self._watcher = watcher
        self._engine = engine
        self._guard = guard
        self._status = status
        self._notify_cb = notify
        self._clock = clock
        self._lock = threading.Lock()
        self._idle = threading.Condition(self._lock)
        self._jobs = JobQueue("xtts-keep-warm")
        self._pending = 0
        self._managed = False
        self._unsubscribe: Callable[[], None] | None = None
        self._low_since: float | None = None
        self._high_since: float | None = None
        self._held_off: str | None = None  # PRESSURE / NO_ROOM: the policy will reload; None: it will not
        self._backoff = 1
        self._last_reload_at: float | None = None
        self._measured_need_mb: int | None = None
        self.actions: list[str] = []  # "load" / "unload" history, for the CLI and tests

    # --- public ---
    @property
    def need_mb(self) -> int:
        """VRAM XTTS needs: measured after the first load, else the xtts_vram_required_mb setting."""
        return self._measured_need_mb or self.settings.xtts_vram_required_mb

    @property
    def held_off(self) -> str | None:
        """Why XTTS is out and waiting for VRAM (PRESSURE / NO_ROOM), or None."""
        return self._held_off

    @property
    def reload_hold_s(self) -> float:
        """How long free VRAM must stay above the reload mark (grows when XTTS keeps being pushed out)."""
        return self.settings.vram_pressure_s * self._backoff

    def headroom(self) -> bool:
        """For the router: may XTTS speak now? False when the GPU's free VRAM is under the low-water mark
        (Windows drivers spill to system RAM and get several times slower instead of failing); True without
        a reading (no NVML: the engine decides) or when XTTS runs on the CPU."""
        reading = self._watcher.snapshot()
        if reading is None or self.settings.xtts_device == "cpu":
            return True
        return reading.free_mb >= self.settings.vram_low_water_mb

    def start(self, load: bool = True) -> None:
        """Subscribe to the watcher and, on the worker thread, make room and load XTTS (unless `load` is False:
        the model is not there yet; `load_now()` once it is)."""
        if not self.settings.use_local_cloning:
            self._status.update(model_state="disabled")
            log.info("use_local_cloning is off: XTTS is not loaded")
            return
        self._managed = True
        self._jobs.start()
        self._unsubscribe = self._watcher.subscribe(self._on_reading)
        if load:
            self._submit(self._initial_load)

    def load_now(self) -> None:
        """The model just arrived (downloaded or picked): make room and load XTTS, as at start."""
        if not self._managed:
            log.info("XTTS is not managed here (use_local_cloning is off): not loading it")
            return
        self._submit(self._initial_load)

    def stop(self, timeout: float = 5.0) -> None:
        """Stop reacting to readings and finish the worker (does not unload XTTS)."""
        if self._unsubscribe:
            self._unsubscribe()
            self._unsubscribe = None
        if self._managed:
            self._jobs.stop(timeout)
            self._managed = False

    def wait_idle(self, timeout: float) -> bool:
        """Block until no load/unload is queued or running; False on timeout."""
        with self._idle:
            return self._idle.wait_for(lambda: self._pending == 0, timeout)

    def on_oom(self) -> None:
        """The router saw CUDA out-of-memory in XTTS: unload now and wait for VRAM like under pressure."""
        if not self.settings.keep_warm:
            log.warning("XTTS hit CUDA out of memory; keep_warm is off, so it stays loaded")
            return
        log.warning("XTTS hit CUDA out of memory: unloading it until VRAM frees up")
        with self._lock:
            if not self._engine.loaded or self._pending:
                return
            self._low_since = None
            self._submit_locked(lambda: self._unload("XTTS ran out of GPU memory"))

    # --- decisions (watcher thread) ---
    def _on_reading(self, reading: VramReading) -> None:
        s = self.settings
        if not s.keep_warm or s.xtts_device == "cpu":
            return
        now, free = self._clock(), reading.free_mb
        with self._lock:
            if self._pending:  # a load/unload is under way: its own VRAM change is no signal
                self._low_since = self._high_since = None
                return
            if self._engine.loaded:
                self._high_since = None
                if free >= s.vram_low_water_mb:
                    self._low_since = None
                    return
                self._low_since = now if self._low_since is None else self._low_since
                if now - self._low_since >= s.vram_pressure_s:
                    self._low_since = None
                    why = f"another program took the GPU memory (only {free} MB free)"
                    self._submit_locked(lambda: self._unload(why))
                return
            self._low_since = None
            if self._held_off is None:
                return
            if free < max(s.vram_high_water_mb, self.need_mb + s.vram_low_water_mb):
                self._high_since = None
                return
            self._high_since = now if self._high_since is None else self._high_since
            if now - self._high_since >= self.reload_hold_s:
                self._high_since = None
                self._submit_locked(lambda: self._load(f"VRAM is free again ({free} MB)"))

    # --- actions (worker thread) ---
    def _initial_load(self) -> None:
        s = self.settings
        if s.xtts_device == "cpu":
            self._load("")
            return
        reading = self._watcher.snapshot() or self._watcher.poll_once()
        if reading is None:
            if self._watcher.available is False and not s.xtts_allow_cpu:
                self._status.update(model_state="disabled")
                log.info("no NVIDIA GPU and xtts_allow_cpu is off: XTTS stays unloaded, the other voices speak")
                return
            self._load("")  # no GPU but CPU allowed, or NVML unreadable: let the engine decide
            return
        free: int | None = reading.free_mb
        need = self.need_mb
        if free is not None and free < need and (s.ollama_unload or s.ollama_stop_processes):
            report = self._guard.free_vram(need, self._measure)
            if report.acted:
                self._notify("Freed VRAM for XTTS: " + report.summary())
            free = report.free_after_mb if report.free_after_mb is not None else report.free_before_mb
        if free is not None and free < need:
            with self._lock:
                self._held_off = NO_ROOM if s.keep_warm else None
            self._status.update(model_state="unloaded")
            self._notify(
                f"XTTS not loaded: {free} MB of VRAM free, it needs {need} MB. Close programs using the GPU"
                + ("" if s.ollama_stop_processes else " (or set ollama_stop_processes to let VoxTray stop Ollama)")
                + ("; it loads when VRAM frees up." if s.keep_warm else ".")
            )
            return
        self._load("")

    def _measure(self) -> int | None:
        reading = self._watcher.poll_once()
        return reading.free_mb if reading is not None else None

    def _load(self, why: str) -> None:
        self._status.update(model_state="loading")
        try:
            self._engine.load()
        except Exception as exc:
            log.error("loading XTTS failed: %s", exc)
            with self._lock:
                self._held_off = None  # a broken model is not a VRAM problem: the router handles it
            self._status.update(model_state="failed")
            return
        with self._lock:
            self._held_off = None
            # Only a reload by this policy counts towards backing off (the start-up load does not).
            self._last_reload_at = self._clock() if why else None
            used = self._engine.vram_used_mb
            if used and used > 0:
                self._measured_need_mb = int(used)
            self.actions.append("load")
        self._status.update(model_state="warm")
        log.info("XTTS loaded%s", f": {why}" if why else "")
        if why:
            self._notify(f"XTTS voice back: {why}.")

    def _unload(self, why: str) -> None:
        try:
            self._engine.unload()
        except Exception:
            log.exception("unloading XTTS failed")
        with self._lock:
            self._held_off = PRESSURE
            recent = self._last_reload_at is not None and (
                self._clock() - self._last_reload_at < 10 * max(self.settings.vram_pressure_s, 6.0)
            )
            self._backoff = min(self._backoff * 2, MAX_BACKOFF) if recent else 1
            self.actions.append("unload")
        self._status.update(model_state="unloaded")
        log.warning("XTTS unloaded: %s (reload hold now %.0f s)", why, self.reload_hold_s)
        self._notify(f"XTTS unloaded: {why}. The fallback voice speaks until VRAM frees up.")

    # --- plumbing ---
    def _notify(self, text: str) -> None:
        if self._notify_cb is None:
            return
        try:
            self._notify_cb(text)
        except Exception:
            log.exception("notification failed")

    def _submit(self, job: Callable[[], None]) -> None:
        with self._lock:
            self._submit_locked(job)

    def _submit_locked(self, job: Callable[[], None]) -> None:
        self._pending += 1
        self._jobs.submit(lambda: self._run(job))

    def _run(self, job: Callable[[], None]) -> None:
        try:
            job()
        finally:
            with self._idle:
                self._pending -= 1
                self._idle.notify_all()
