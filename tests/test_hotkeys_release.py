"""Hold-to-talk: the release of a held combo.

Windows (RegisterHotKey reports presses only): after WM_HOTKEY the combo's keys are polled with
GetAsyncKeyState until one is up. user32 is FAKED at its ctypes boundary (FakeUser32 from the win32 boundary
tests, plus a keyboard state); the real RegisterHotKey runs in the Windows lane. X11: pynput for real under Xvfb,
xdotool holding and letting go of the keys.
"""

from __future__ import annotations

import threading
import time
from typing import Any

from daemon.desktop import winhotkeys
from daemon.desktop.hotkeys import HotkeyListener
from tests.test_hotkeys_win32_boundary import FakeUser32


class KeyboardUser32(FakeUser32):
    """FakeUser32 with a physical keyboard: the keys held down, read by GetAsyncKeyState."""

    def __init__(self) -> None:
        super().__init__()
        self.down: set[int] = set()
        self.polls = 0

    def GetAsyncKeyState(self, vk: int) -> int:
        self.polls += 1
        return -0x8000 if vk in self.down else 0  # a SHORT: the high bit set while the key is down


def test_win32_release_of_a_held_combo_is_seen_by_polling_its_keys() -> None:
    fake = KeyboardUser32()
    events: list[tuple[str, float]] = []
    pressed, released = threading.Event(), threading.Event()
    listener = HotkeyListener({"ctrl+alt+enter": lambda: (events.append(("press", time.monotonic())), pressed.set()),
                               "ctrl+alt+backspace": lambda: None},
                              backend="win32", user32=fake, last_error=fake.last_error,
                              releases={"ctrl+alt+enter": lambda: (events.append(("release", time.monotonic())),
                                                                   released.set())})
    assert listener.supports_release
    listener.start()
    try:
        fake.down = {0x11, 0x12, 0x0D}  # ctrl, alt (VK_MENU), enter held
        assert fake.press("ctrl+alt+enter") and pressed.wait(2)
        time.sleep(0.2)
        assert not released.is_set() and fake.polls > 0  # still held: polled, no release
        fake.down.discard(0x12)  # the user lets go of alt first: that ends the hold too
        t_up = time.monotonic()
        assert released.wait(2)
        assert events[-1][1] - t_up < 0.1  # seen within a few polls
        assert [e for e, _ in events] == ["press", "release"]
        # The other hotkey has no release callback: nothing is polled for it.
        polls = fake.polls
        fake.down = {0x11, 0x12, 0x08}
        assert fake.press("ctrl+alt+backspace")
        time.sleep(0.1)
        assert fake.polls == polls
    finally:
        listener.stop()
    assert not any(t.name == "hotkeys-release" for t in threading.enumerate() if t.is_alive())


def test_win32_a_hold_still_in_progress_ends_its_poller_on_stop() -> None:
    fake = KeyboardUser32()
    released = threading.Event()
    listener = HotkeyListener({"shift+f9": lambda: None}, backend="win32", user32=fake, last_error=fake.last_error,
                              releases={"shift+f9": released.set})
    listener.start()
    fake.down = {0x10, 0x78}
    assert fake.press("shift+f9")
    time.sleep(0.1)
    listener.stop()
    time.sleep(0.1)
    assert not released.is_set()
    assert not any(t.name == "hotkeys-release" for t in threading.enumerate() if t.is_alive())


def test_release_groups_take_either_win_key() -> None:
    assert winhotkeys.release_groups(("ctrl", "win"), 0x20) == [(0x20,), (0x11,), (0x5B, 0x5C)]
    stop = threading.Event()
    state: dict[int, int] = {0x20: -0x8000, 0x11: -0x8000, 0x5C: -0x8000}  # the RIGHT win key held
    user32: Any = type("U", (), {"GetAsyncKeyState": staticmethod(lambda vk: state.get(vk, 0))})()
    done: list[bool] = []
    thread = threading.Thread(target=lambda: done.append(winhotkeys.wait_release(
        winhotkeys.release_groups(("ctrl", "win"), 0x20), user32, stop, poll_s=0.005)))
    thread.start()
    time.sleep(0.05)
    assert not done
    state.pop(0x20)
    thread.join(1)
    assert done == [True]


def test_keyboard_backend_cannot_see_releases() -> None:
    assert not HotkeyListener({"ctrl+alt+enter": lambda: None}, backend="keyboard").supports_release


def test_pynput_sees_the_release_of_a_held_combo_not_autorepeat(ask_display) -> None:
    events: list[str] = []
    pressed, released = threading.Event(), threading.Event()
    listener = HotkeyListener({"ctrl+alt+enter": lambda: (events.append("press"), pressed.set())}, backend="pynput",
                              releases={"ctrl+alt+enter": lambda: (events.append("release"), released.set())})
    listener.start()
    try:
        ask_display.xdotool("keydown", "ctrl+alt+Return")
        assert pressed.wait(3)
        for _ in range(3):  # what X autorepeat sends for a held key: a release, at once followed by a press
            ask_display.xdotool("keyup", "Return", "keydown", "Return")
            time.sleep(0.15)
        assert not released.is_set()
        ask_display.xdotool("keyup", "Return")
        assert released.wait(3)
        ask_display.xdotool("keyup", "alt", "ctrl")
        time.sleep(0.2)
        assert events.count("release") == 1 and events[0] == "press" and events[-1] == "release", events
    finally:
        listener.stop()
