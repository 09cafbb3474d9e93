"""The Ollama guard: frees VRAM for XTTS from a local Ollama.

First it asks the Ollama API to unload every loaded model (`/api/ps`, then `keep_alive: 0`) and re-measures;
only if that is not enough and `ollama_stop_processes` allows it, it stops THIS user's processes whose names
are in `ollama_process_names` (terminate, wait, kill). It never touches any other process.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from daemon.gpu import ollama_api, procs
from daemon.gpu.procs import ProcInfo
from daemon.live import SettingsField, SettingsSource
from daemon.settings import Settings

log = logging.getLogger(__name__)

Measure = Callable[[], "int | None"]


@dataclass
class GuardReport:
    """What the guard did (or, from `plan`, would do) to free `needed_mb` of VRAM."""

    needed_mb: int
    free_before_mb: int | None = None
    free_after_mb: int | None = None
    loaded_models: list[str] = field(default_factory=list)
    unloaded_models: list[str] = field(default_factory=list)
    api_note: str = ""
    stopped: list[ProcInfo] = field(default_factory=list)
    killed: list[ProcInfo] = field(default_factory=list)
    survived: list[ProcInfo] = field(default_factory=list)
    candidates: list[ProcInfo] = field(default_factory=list)  # this user's matching processes (plan)
    other_users: list[ProcInfo] = field(default_factory=list)  # matching, another user's: never touched
    steps: list[str] = field(default_factory=list)  # plain-language log of decisions
    dry_run: bool = False

    @property
    def enough(self) -> bool | None:
        """True/False when the final free VRAM is known, None without a measurement."""
        free = self.free_after_mb if self.free_after_mb is not None else self.free_before_mb
        return None if free is None else free >= self.needed_mb

    @property
    def acted(self) -> bool:
        """True when anything was unloaded or stopped."""
        return bool(self.unloaded_models or self.stopped or self.killed)

    def summary(self) -> str:
        """One line for a tray notification and the log."""
        parts = []
        if self.unloaded_models:
            parts.append("unloaded Ollama model(s) " + ", ".join(self.unloaded_models))
        if self.stopped:
            parts.append("stopped " + ", ".join(map(str, self.stopped)))
        if self.killed:
            parts.append("killed " + ", ".join(map(str, self.killed)) + " (it ignored terminate)")
        if self.survived:
            parts.append("could not stop " + ", ".join(map(str, self.survived)))
        text = "; ".join(parts) if parts else "nothing to free"
        if self.free_before_mb is not None and self.free_after_mb is not None:
            text += f". Free VRAM {self.free_before_mb} -> {self.free_after_mb} MB (XTTS needs {self.needed_mb} MB)"
        return text[0].upper() + text[1:]


class OllamaGuard:
    """Frees VRAM from a local Ollama, as far as settings allow. Thread-safe enough for one caller at a time.

    `settle_s`: how long to keep re-measuring after an unload/stop before judging; `poll_s`: between measures.
    Reads its settings through the provider at every call (a reload applies at once).
    """

    settings = SettingsField()

    def __init__(
        self,
        settings: Settings | SettingsSource,
        *,
        settle_s: float = 5.0,
        poll_s: float = 0.25,
        terminate_timeout_s: float = 5.0,
        kill_timeout_s: float = 3.0,
        http_timeout_s: float = 3.0,
    ) -> None:
        self.settings = settings
        self.settle_s = settle_s
        self.poll_s = poll_s
        self.terminate_timeout_s = terminate_timeout_s
        self.kill_timeout_s = kill_timeout_s
        self.http_timeout_s = http_timeout_s

    # --- dry run ---
    def plan(self, needed_mb: int, free_mb: int | None) -> GuardReport:
        """What `free_vram` would do now, touching nothing (reads /api/ps and the process list)."""
        s = self.settings
        report = GuardReport(needed_mb, free_before_mb=free_mb, dry_run=True)
        self._list_models(report)
        mine, others = procs.find(s.ollama_process_names)
        report.candidates = [procs.describe(p) for p in mine]
        report.other_users = others
        if free_mb is not None and free_mb >= needed_mb:
            report.steps.append(f"nothing: {free_mb} MB free >= {needed_mb} MB needed")
            return report
        if not s.ollama_unload:
            report.steps.append("would not unload Ollama models (ollama_unload is off)")
        elif report.loaded_models:
            report.steps.append("would unload via the Ollama API: " + ", ".join(report.loaded_models))
        else:
            report.steps.append("no Ollama models to unload" + (" (API not reachable)" if report.api_note else ""))
        if free_mb is None:
            report.steps.append("would not stop processes: VRAM cannot be measured")
        elif not s.ollama_stop_processes:
            report.steps.append("would not stop processes (ollama_stop_processes is off)")
        elif report.candidates:
            report.steps.append(
                "if still short: would terminate, then kill, " + ", ".join(map(str, report.candidates))
            )
        else:
            report.steps.append("no matching processes of this user to stop")
        return report

    # --- the real thing ---
    def free_vram(self, needed_mb: int, measure: Measure) -> GuardReport:
        """Make `needed_mb` of VRAM free if Ollama holds it; `measure()` returns free MB now (None: unknown)."""
        s = self.settings
        report = GuardReport(needed_mb, free_before_mb=measure())
        if report.free_before_mb is not None and report.free_before_mb >= needed_mb:
            report.steps.append("enough VRAM already free")
            return report
        free = report.free_before_mb
        if s.ollama_unload:
            self._list_models(report)
            for model in report.loaded_models:
                try:
                    ollama_api.unload(s.ollama_url, model, timeout=max(self.http_timeout_s, 10.0))
                    report.unloaded_models.append(model)
                except ollama_api.OllamaApiError as exc:
                    report.steps.append(f"unloading {model} failed: {exc}")
                    log.warning("unloading Ollama model %s failed: %s", model, exc)
            if report.unloaded_models:
                report.steps.append("unloaded via the API: " + ", ".join(report.unloaded_models))
                free = self._settle(needed_mb, measure)
        else:
            report.steps.append("Ollama unloading is off (ollama_unload)")
        report.free_after_mb = free
        if free is None:
            report.steps.append("VRAM cannot be measured: processes left alone")
        elif free >= needed_mb:
            report.steps.append("enough VRAM after unloading: processes left alone")
        elif not s.ollama_stop_processes:
            report.steps.append("still short; stopping processes is off (ollama_stop_processes)")
        else:
            self._stop_processes(report)
            if report.stopped or report.killed:
                report.free_after_mb = self._settle(needed_mb, measure)
        log.info("Ollama guard: %s", report.summary())
        return report

    # --- helpers ---
    def _list_models(self, report: GuardReport) -> None:
        try:
            models = ollama_api.loaded_models(self.settings.ollama_url, self.http_timeout_s)
            report.loaded_models = [m.name for m in models]
        except ollama_api.OllamaApiError as exc:
            report.api_note = str(exc)
            log.info("Ollama API: %s", exc)

    def _stop_processes(self, report: GuardReport) -> None:
        mine, others = procs.find(self.settings.ollama_process_names)
        report.candidates = [procs.describe(p) for p in mine]
        report.other_users = others
        for info in others:
            log.info("leaving %s alone: it belongs to user %s", info, info.user)
        if not mine:
            report.steps.append("still short, and no matching processes of this user")
            return
        result = procs.stop(mine, self.terminate_timeout_s, self.kill_timeout_s)
        report.stopped, report.killed = list(result.stopped), list(result.killed)
        report.survived = list(result.survived)
        report.steps.append("stopped this user's Ollama processes")

    def _settle(self, needed_mb: int, measure: Measure) -> int | None:
        """Re-measure until `needed_mb` is free or `settle_s` passes (drivers release memory lazily)."""
        deadline = time.monotonic() + self.settle_s
        free = measure()
        while free is not None and free < needed_mb and time.monotonic() < deadline:
            time.sleep(self.poll_s)
            free = measure()
        return free
