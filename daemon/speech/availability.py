"""Which engines may speak now, kept true in the background, for the router and the tray.

- `usable(name)`: switched on, not down (its breaker, speech/health.py), ready, GPU headroom, fast enough;
- a prober thread brings a down engine back once its backoff has passed and a probe succeeds;
- the tier watcher publishes the tier the next sentence would get, at once and whenever readiness changes.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable

from daemon.speech.engines.base import Engine
from daemon.speech.health import Breaker, RtfTracker
from daemon.status import StatusBus, Tier

log = logging.getLogger(__name__)

WATCH_S = 0.25  # how often the tier watcher re-reads readiness (cheap flags: engine.ready(), GPU headroom)

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
        self._wake = threading.Condition(self._lock)
        self._closed = False
        self._prober: threading.Thread | None = None
        self._watcher: threading.Thread | None = None
        self._poke = threading.Event()

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

    def trip(self, name: str, reason: str) -> None:
        """Mark `name` down (a last-resort engine is only logged) and let the prober bring it back later."""
        if self.engines[name].last_resort:
            log.warning("%s", reason)
            return
        backoff = self.breakers[name].trip(reason)
        log.warning("%s; marked down, next probe in %.0f s", reason, backoff)
        with self._lock:
            self._ensure_prober()
            self._wake.notify_all()
        self._poke.set()

    # ----- the tier the tray shows -----
    def start_watch(self, order: Callable[[], list[str]], preview: Preview) -> None:
        """Publish the tier `preview()` names, at once and whenever readiness changes (XTTS loaded or unloaded,
        GPU headroom, an engine marked down or healthy again). Engines that can probe (edge-tts: is the service
        reachable?) are probed first, in `order()`, so the icon never shows a voice that cannot speak."""
        if self._watcher is None:
            self._watcher = threading.Thread(target=self._watch_loop, args=(order, preview), name="tier-watch",
                                             daemon=True)
            self._watcher.start()

    def _watch_loop(self, order: Callable[[], list[str]], preview: Preview) -> None:
        try:
            for probed in order():
                if not self._closed and self.engines[probed].can_probe:
                    self._probe(probed)  # unreachable: marked down, re-probed with backoff
            while not self._closed:
                name, why = preview()
                if name is None:
                    self.publish_tier(Tier.NONE, why)
                else:
                    self.publish(name, why)
                self._poke.wait(WATCH_S)
                self._poke.clear()
        except Exception:  # the icon must keep telling the truth: log, and keep the thread's job going
            log.exception("tier watcher failed")
            if not self._closed:
                threading.Timer(1.0, self._restart_watch, args=(order, preview)).start()

    def _restart_watch(self, order: Callable[[], list[str]], preview: Preview) -> None:
        self._watcher = None
        self.start_watch(order, preview)

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
    def _ensure_prober(self) -> None:
        if self._probe_enabled and (self._prober is None or not self._prober.is_alive()) and not self._closed:
            self._prober = threading.Thread(target=self._probe_loop, name="router-probe", daemon=True)
            self._prober.start()

    def _probe_loop(self) -> None:
        while True:
            with self._lock:
                if self._closed:
                    return
                now = time.monotonic()
                due = [n for n, b in self.breakers.items() if b.probe_due(now)]
                waiting = [b.down_until for b in self.breakers.values() if b.down]
                if not due:
                    if not waiting:
                        self._wake.wait(timeout=1.0)
                    else:
                        self._wake.wait(timeout=max(0.01, min(waiting) - now))
                    continue
            for name in due:
                self._probe(name)

    def _probe(self, name: str) -> None:
        engine = self.engines[name]
        try:
            probed = engine.probe()
            ok = bool(engine.ready()) if probed is None else probed
            if ok and engine.gpu_bound and self.headroom is not None:
                ok = self.headroom()
        except Exception as exc:
            log.debug("probe of %s failed: %s", name, exc)
            ok = False
        if ok:
            was_down = self.breakers[name].down
            self.breakers[name].reset()
            self.rtf[name].clear()
            if was_down:
                log.info("%s is healthy again; the next utterance may use it", engine.label)
            self._poke.set()
        else:
            self.trip(name, self.breakers[name].reason or "probe failed")

    def close(self) -> None:
        """Stop the background prober and the tier watcher."""
        with self._lock:
            self._closed = True
            self._wake.notify_all()
        self._poke.set()
        for thread in (self._prober, self._watcher):
            if thread is not None and thread is not threading.current_thread():
                thread.join(timeout=2.0)
