"""Notifications derived from real StatusBus transitions, with the real rate limiter and timer.

The `send` sink is a recorder (the desktop side is proven with dunst in test_tray_x11.py).
"""

from __future__ import annotations

import logging
import threading

import pytest

from daemon.desktop.notify import Notifier
from daemon.status import StatusBus, Tier
from tests.fixtures.x11 import wait_for


class Sink:
    def __init__(self) -> None:
        self.sent: list[tuple[str, str]] = []
        self.kinds: list[str] = []
        self.options: list[dict[str, object]] = []
        self.lock = threading.Lock()

    def __call__(self, title: str, text: str, *, kind: str, tier: Tier, **options: object) -> None:
        with self.lock:
            self.sent.append((title, text))
            self.kinds.append(kind)
            self.options.append(options)

    def titles(self) -> list[str]:
        with self.lock:
            return [t for t, _ in self.sent]


def make(cooldown: float = 0.0, **kw: object) -> tuple[StatusBus, Sink, Notifier]:
    bus, sink = StatusBus(), Sink()
    return bus, sink, Notifier(bus, sink, cooldown_s=cooldown, **kw).start()  # type: ignore[arg-type]


def test_start_on_xtts_is_silent_then_fallback_and_return_are_told_with_the_reason() -> None:
    bus, sink, n = make()
    bus.update(tier=Tier.XTTS, voice="bob.wav")
    assert sink.sent == []
    bus.update(tier=Tier.EDGE, tier_reason="XTTS ran out of GPU memory")
    bus.update(tier=Tier.SYSTEM, tier_reason="edge-tts unreachable (no network)")
    bus.update(tier=Tier.NONE, tier_reason="espeak-ng missing")
    bus.update(tier=Tier.XTTS, tier_reason="")
    n.close()
    assert sink.sent == [
        ("Fell back to edge-tts", "XTTS ran out of GPU memory"),
        ("Fell back to the system voice", "edge-tts unreachable (no network)"),
        ("Nothing can speak", "espeak-ng missing. See Open log in the tray menu."),
        ("Back on the cloned voice", "XTTS is speaking again (bob.wav)."),
    ]


def test_start_up_tells_only_that_nothing_can_speak_so_the_welcome_is_not_buried() -> None:
    """#24: at start-up the first voice is the plan, not a fall-back; the welcome (a message) stays its own kind."""
    for first in (Tier.EDGE, Tier.SYSTEM, Tier.XTTS):
        bus, sink, n = make()
        bus.update(model_setup="needed", setup_note="The cloned voice needs a one-time download")
        bus.update(tier=first, tier_reason="XTTS: not ready; edge-tts: down (probe failed)")
        bus.update(message="Connected: Ollama 0.6.2, model llama3")  # a later message is its own kind
        n.close()
        assert sink.titles() == ["Welcome to VoxTray", "VoxTray"] and sink.kinds == ["setup", "message"], first
        assert "Get the cloned voice (XTTS v2)…" in sink.sent[0][1], "the text names the menu item (no buttons)"
        assert sink.options[0] == {"sticky": True, "actions": (("get-model", "Get the cloned voice (XTTS v2)…"),)}
        assert sink.options[1] == {}, "other notifications expire"
    bus, sink, n = make()
    bus.update(tier=Tier.NONE, tier_reason="espeak-ng missing")
    bus.update(tier=Tier.EDGE, tier_reason="edge-tts is back")
    n.close()
    assert sink.titles() == ["Nothing can speak", "Fell back to edge-tts"] and sink.kinds == ["tier", "tier"]


def test_llm_unreachable_and_back_and_ollama_stopped_messages() -> None:
    bus, sink, n = make()
    bus.update(llm_url="https://x.trycloudflare.com", llm_ok=True)
    bus.update(llm_ok=False, llm_note="HTTP 502 from the tunnel")
    bus.update(llm_ok=True, llm_note="")
    bus.update(message="Stopped Ollama (pid 4242) to free VRAM for XTTS")
    bus.update(message="")
    n.close()
    assert sink.titles() == ["LLM unreachable", "LLM reachable again", "VoxTray"]
    assert sink.kinds == ["llm", "llm", "message"]
    assert sink.sent[0][1].startswith("HTTP 502 from the tunnel. Check that the Colab notebook")
    assert sink.sent[2][1] == "Stopped Ollama (pid 4242) to free VRAM for XTTS"


def test_titles_come_from_the_event_and_no_url_is_not_unreachable() -> None:
    bus, sink, n = make()
    bus.update(llm_url="http://127.0.0.1:11434", llm_ok=True)
    bus.update(llm_ok=False, llm_note="Ollama answered HTTP 500.")  # an LLM error that mentions Ollama
    n.close()
    assert sink.titles() == ["LLM unreachable"]
    assert sink.sent[0][1].startswith("Ollama answered HTTP 500. Check") and ".." not in sink.sent[0][1]
    bus, sink, n = make()
    bus.update(llm_url="", llm_ok=False, llm_note="remote_llm_url is empty")
    n.close()
    assert sink.titles() == ["No LLM set up"]


def test_a_flap_inside_the_cooldown_says_nothing_more() -> None:
    bus, sink, n = make(cooldown=0.3)
    bus.update(tier=Tier.XTTS)
    bus.update(tier=Tier.EDGE, tier_reason="GPU busy")
    bus.update(tier=Tier.XTTS)  # inside the cooldown
    bus.update(tier=Tier.EDGE)  # and back: the user was last told "edge", which is true again
    threading.Event().wait(0.6)  # proving an absence: past the cooldown, a deferred notification would be out
    n.close()
    assert sink.titles() == ["Fell back to edge-tts"]


def test_changes_inside_the_cooldown_are_summarised_when_it_ends() -> None:
    bus, sink, n = make(cooldown=0.3)
    bus.update(tier=Tier.XTTS)
    bus.update(tier=Tier.EDGE, tier_reason="GPU busy")
    bus.update(tier=Tier.XTTS)
    bus.update(tier=Tier.SYSTEM, tier_reason="offline")
    assert sink.titles() == ["Fell back to edge-tts"]
    wait_for(lambda: len(sink.titles()) == 2, 3, "the deferred notification")
    n.close()
    assert sink.sent[1] == ("Fell back to the system voice", "offline")


def test_disabled_notifications_are_only_logged_and_close_cancels_pending() -> None:
    bus, sink, n = make(enabled=lambda: False)
    bus.update(tier=Tier.XTTS)
    bus.update(tier=Tier.EDGE)
    n.close()
    assert sink.sent == []
    bus, sink, n = make(cooldown=0.2)
    bus.update(tier=Tier.XTTS)
    bus.update(tier=Tier.EDGE)
    bus.update(tier=Tier.SYSTEM)  # pending
    n.close()
    bus.update(tier=Tier.NONE)
    threading.Event().wait(0.4)
    assert sink.titles() == ["Fell back to edge-tts"]
    assert not any(t.name == "voxtray-notify" for t in threading.enumerate())


def test_a_failing_sink_is_caught_and_logged_by_the_notifier_and_the_next_notification_goes_out(
    caplog: pytest.LogCaptureFixture,
) -> None:
    """The notifier handles its sink's failure itself (the bus never sees it) and keeps telling."""
    bus, sink = StatusBus(), Sink()

    def fails_once(title: str, text: str, *, kind: str, tier: Tier) -> None:
        if not failed:
            failed.append(title)
            raise RuntimeError("no notification daemon")
        sink(title, text, kind=kind, tier=tier)

    failed: list[str] = []
    n = Notifier(bus, fails_once, cooldown_s=0).start()
    with caplog.at_level(logging.INFO):
        assert bus.update(tier=Tier.XTTS) and bus.update(tier=Tier.EDGE)
        wait_for(lambda: failed, 5, "the first notification to fail")
        bus.update(llm_url="http://127.0.0.1:9", llm_ok=False, llm_note="connection refused")
        wait_for(sink.titles, 5, "the next notification, after the failing one")
    n.close()
    assert failed == ["Fell back to edge-tts"] and sink.titles() == ["LLM unreachable"]
    assert any(r.name == "daemon.desktop.notify" and r.exc_info for r in caplog.records), "logged by the notifier"
    assert not [r for r in caplog.records if r.name == "daemon.status"], "the failure reached the bus"
