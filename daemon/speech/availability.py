"""Which engines may speak now, kept true in the background, for the router and the tray.

- `usable(name)`: switched on, not down (its breaker, speech/health.py), ready, GPU headroom, fast enough;
- a prober worker brings a down engine back once its backoff has passed and a probe succeeds;
- the tier watcher (a worker) publishes the tier the next sentence would get, at once and whenever readiness changes:
  woken by every Status change (XTTS loaded or unloaded, VRAM readings, the model's set-up), a breaker tripping or
  healing, and `readiness_changed()` (a settings reload); otherwise it looks again only every WATCH_S.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable

from daemon.speech.engines.base import Engine
from daemon.speech.health import Breaker, RtfTracker
from daemon.status import Status, StatusBus, Tier
from daemon.worker import Worker

log = logging.getLogger(__name__)

# Readiness changes wake the watcher at once (status changes, probes, trips, reloads). This periodic look is a
# safety net for what changes without telling anyone: an engine's own ready() flag, GPU headroom between readings.
WATCH_S = 2.0

Preview = Callable[[], tuple[str | None, str]]  # the engine the next utterance would get, and why


class Availability:
    """Health of each engine (breaker, real-time factor), its background prober and the tier watcher."""

    def __init__(
        self,
        engines: dict[str, Engine],
        status: StatusBus,
        headroom: Callable[[], bool] | None,
        max_rtf: Callable[[], float],
        *,
        backoff_initial_s: float = 5.0,
        backoff_max_s: float = 300.0,
        probe: bool = True,
    ) -> None:
        self.engines = engines
        self.status = status
        self.headroom = headroom
        self._max_rtf = max_rtf
        self.breakers = {n: Breaker(backoff_initial_s, backoff_max_s) for n in engines}
        self.rtf = {n: RtfTracker() for n in engines}
        self._probe_enabled = probe
        self._lock = threading.Lock()
        self._closed = False
        self._prober = Worker("router-probe", self._probe_step, retry_s=1.0)
        self._watcher: Worker | None = None
        self._watch_args: tuple[Callable[[], list[str]], Preview] | None = None
        self._first_probes_done = False
        self._unsubscribe: Callable[[], None] | None = None

    @property
    def watching(self) -> bool:
        """The tier watcher runs (it publishes the tier; without it the router publishes its choices)."""
        return self._watcher is not None

    def usable(self, name: str, *, judge: bool = True) -> tuple[bool, str]:
        """Can `name` speak the next utterance? Returns (ok, why not). `judge=False`: only look (never trip)."""
        engine = self.engines[name]
        on, why_off = engine.enabled()
        if not on:
            return False, why_off
        breaker = self.breakers[name]
        if breaker.down and not engine.last_resort:
            return False, f"down ({breaker.reason})"
        try:
            if not engine.ready():
                return False, "not ready"
        except Exception as exc:
            return False, f"not ready ({exc})"
        if engine.gpu_bound:
            if self.headroom is not None and not self.headroom():
                return False, "the GPU has no headroom"
            limit = self._max_rtf()
            if self.rtf[name].sustained_above(limit):
                reason = f"too slow (real-time factor {self.rtf[name].latest:.1f} > {limit:g})"
                if judge:
                    self.trip(name, reason)
                return False, reason
        return True, ""

    def trip(self, name: str, reason: str, detail: str = "") -> None:
        """Mark `name` down (a last-resort engine is only logged) and let the prober bring it back later.

        `reason` is shown (tray, notifications); `detail` (e.g. the probe's exception) only goes to the log."""
        label = self.engines[name].label
        said = reason if reason.startswith(label) else f"{label}: {reason}"  # the log always names the engine
        if detail:
            said = f"{said} ({detail})"
        if self.engines[name].last_resort:
            log.warning("%s", said)
            return
        backoff = self.breakers[name].trip(reason)
        log.warning("%s; marked down, next probe in %.0f s", said, backoff)
        with self._lock:
            if self._probe_enabled and not self._closed:
                self._prober.start()
        self._prober.wake()
        self._poke()

    # ----- the tier the tray shows -----
    def start_watch(self, order: Callable[[], list[str]], preview: Preview) -> None:
        """Publish the tier `preview()` names, at once and whenever readiness changes (XTTS loaded or unloaded,
        GPU headroom, an engine marked down or healthy again). Engines that can probe (edge-tts: is the service
        reachable?) are probed first, in `order()`, so the icon never shows a voice that cannot speak."""
        with self._lock:
            if self._watcher is not None or self._closed:
                return
            self._watch_args = (order, preview)
            self._watcher = Worker("tier-watch", self._watch_step, retry_s=1.0)  # a failing step: logged, retried
        self._unsubscribe = self.status.subscribe(self._on_status)
        self._watcher.start()

    def _on_status(self, old: Status, new: Status) -> None:
        if (old.tier, old.tier_reason) == (new.tier, new.tier_reason):  # not the watcher's own publication
            self._poke()

    def readiness_changed(self) -> None:
        """Something the tier depends on changed (e.g. settings): publish the tier again now."""
        self._poke()

    def _poke(self) -> None:
        """Readiness changed: the watcher re-reads it now."""
        watcher = self._watcher
        if watcher is not None:
            watcher.wake()

    def _watch_step(self) -> float | None:
        assert self._watch_args is not None
        order, preview = self._watch_args
        if not self._first_probes_done:
            for probed in order():
                if not self._closed and self.engines[probed].can_probe:
                    self._probe(probed)  # unreachable: marked down, re-probed with backoff
            self._first_probes_done = True
        name, why = preview()
        if name is None:
            self.publish_tier(Tier.NONE, why)
        else:
            self.publish(name, why)
        return WATCH_S

    def publish(self, name: str, reason: str) -> None:
        """Publish `name`'s tier and the reason."""
        self.publish_tier(self.engines[name].status_tier, reason)

    def publish_tier(self, tier: Tier, reason: str) -> None:
        """Publish the tier and its reason (nothing happens when both are unchanged)."""
        current = self.status.current
        if current.tier == tier and current.tier_reason == reason:
            return
        self.status.update(tier=tier, tier_reason=reason)
        if current.tier != tier:
            log.info("voice tier -> %s (%s)", tier.value, reason)

    # ----- background probe -----
    def _probe_step(self) -> float | None:
        """Probe every engine whose backoff has passed; sleep until the next one is due (or until woken)."""
        now = time.monotonic()
        with self._lock:
            due = [n for n, b in self.breakers.items() if b.probe_due(now)]
        for name in due:
            if self._prober.stopping:
                return None
            self._probe(name)
        with self._lock:
            waiting = [b.down_until for b in self.breakers.values() if b.down]
        if not waiting:
            return None  # nothing down: asleep until trip() wakes it
        return max(0.01, min(waiting) - time.monotonic())

    def _probe(self, name: str) -> None:
        engine = self.engines[name]
        try:
            probed = engine.probe()
            ok = bool(engine.ready()) if probed is None else probed
            if ok and engine.gpu_bound and self.headroom is not None:
                ok = self.headroom()
        except Exception as exc:
            detail = str(exc)[:200] or type(exc).__name__
            ok = False
        else:
            detail = ""
        if ok:
            was_down = self.breakers[name].down
            self.breakers[name].reset()
            self.rtf[name].clear()
            if was_down:
                log.info("%s is healthy again; the next utterance may use it", engine.label)
            self._poke()
        else:
            self.trip(name, self.breakers[name].reason or "probe failed", detail)

    def close(self) -> None:
        """Stop the background prober and the tier watcher."""
        with self._lock:
            self._closed = True
            watcher = self._watcher
        if self._unsubscribe is not None:
            self._unsubscribe()
        for worker in (self._prober, watcher):
            if worker is not None:
                worker.stop()
