"""pynput global hotkeys for real under Xvfb; the key presses come from xdotool (XTEST)."""

from __future__ import annotations

import threading
import time

from daemon.desktop.hotkeys import HotkeyListener


def test_xdotool_key_presses_fire_the_bound_actions(ask_display) -> None:
    asked, stopped = threading.Event(), threading.Event()
    listener = HotkeyListener({"ctrl+alt+space": asked.set, "ctrl+alt+backspace": stopped.set}, backend="pynput")
    listener.start()
    try:
        t0 = time.monotonic()
        ask_display.xdotool("key", "ctrl+alt+space")
        assert asked.wait(3) and not stopped.is_set()
        assert time.monotonic() - t0 < 1.0
        ask_display.xdotool("key", "ctrl+alt+BackSpace")
        assert stopped.wait(3)
        asked.clear()
        ask_display.xdotool("key", "ctrl+space")  # not a bound combo
        ask_display.xdotool("key", "alt+space")
        assert not asked.wait(0.3)
    finally:
        listener.stop()
