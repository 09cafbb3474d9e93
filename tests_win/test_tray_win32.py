"""The real Tray with pystray's win32 backend (Shell_NotifyIcon under Wine, docked into trayer): Windows' text
limits, the action thread outliving a failing command, the multi-size icon picked at the small-icon size."""

from __future__ import annotations

import ctypes
import os
import threading
import time
from ctypes import wintypes
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from PIL import Image

from daemon.desktop import traywin32
from daemon.desktop.tray import Tray
from daemon.errors import VoxTrayError
from daemon.settings import Settings
from daemon.status import StatusBus, Tier
from tests_win import winutil
from tests_win.daemon_proc import PYSTRAY_WM_NOTIFY, WM_RBUTTONUP, choose
from tests_win.winutil import wait_for


class Actions:
    """Stand-in TrayActions (the app's real ones run in test_daemon_pythonw.py): records calls."""

    def __init__(self, tray_ref: list[Tray]) -> None:
        self.calls: list[str] = []
        self._tray = tray_ref

    def __getattr__(self, name: str) -> Any:
        def call(*args: Any) -> Any:
            self.calls.append(name)
            if name == "quit":
                self._tray[0].stop()
            answers: dict[str, Any] = {"voices": [], "engine_problems": {}, "output_devices": ((), ""),
                                       "last_answer": None}
            return answers.get(name, False)

        return call


def run_tray() -> tuple[Tray, Actions, threading.Thread, StatusBus]:
    ref: list[Tray] = []
    actions = Actions(ref)
    bus = StatusBus()
    settings = Settings(engine="auto", hotkey_ask="ctrl+alt+space", hotkey_talk="", hotkey_stop="ctrl+alt+x")
    tray = Tray(bus, actions, lambda: settings)  # type: ignore[arg-type]
    ref.append(tray)
    ready = threading.Event()
    thread = threading.Thread(target=tray.run, kwargs={"on_ready": ready.set}, daemon=True)
    thread.start()
    assert ready.wait(30), "the tray did not start"
    return tray, actions, thread, bus


def test_long_texts_never_break_the_tray_and_the_action_thread_survives(caplog: pytest.LogCaptureFixture) -> None:
    tray, actions, thread, bus = run_tray()
    try:
        long = "The LLM at https://example.trycloudflare.com answered with an error page: " + "x" * 600 + " 🎙️"
        tray.notify("A title much longer than the sixty-four UTF-16 units Windows allows for a balloon title", long)
        bus.update(message=long)  # the tooltip is capped at 127 units

        def failing() -> None:
            raise VoxTrayError(long)  # its message becomes a notification, far past the 256-unit limit

        tray.submit(failing)
        tray.submit(lambda: actions.calls.append("after the failure"))
        wait_for(lambda: "after the failure" in actions.calls, 10, "the next menu command to run")
        assert not [r for r in caplog.records if "could not show the notification" in r.getMessage()], \
            "texts are cut to Windows' limits, so every notification is shown"

        def broken_notify(*_a: object) -> None:
            raise OSError("Shell_NotifyIcon failed")  # e.g. Explorer restarting

        tray._icon.notify = broken_notify
        tray.submit(failing)
        tray.submit(lambda: actions.calls.append("after a failed notification"))
        wait_for(lambda: "after a failed notification" in actions.calls, 10, "a command after a failed notification")
        tray.handlers.quit()
        thread.join(20)
        assert not thread.is_alive(), "Quit (a menu command after the failures) stopped the tray"
        assert "quit" in actions.calls
    finally:
        tray.stop()


class ICONINFO(ctypes.Structure):
    _fields_ = [("fIcon", wintypes.BOOL), ("xHotspot", wintypes.DWORD), ("yHotspot", wintypes.DWORD),
                ("hbmMask", wintypes.HBITMAP), ("hbmColor", wintypes.HBITMAP)]


class BITMAP(ctypes.Structure):
    _fields_ = [("bmType", wintypes.LONG), ("bmWidth", wintypes.LONG), ("bmHeight", wintypes.LONG),
                ("bmWidthBytes", wintypes.LONG), ("bmPlanes", wintypes.WORD), ("bmBitsPixel", wintypes.WORD),
                ("bmBits", ctypes.c_void_p)]


def icon_width(hicon: int) -> int | None:
    """Width of an icon handle's bitmap; None when the handle is gone (the render thread replaced the icon)."""
    user32, gdi32 = ctypes.windll.user32, ctypes.windll.gdi32
    user32.GetIconInfo.argtypes = [wintypes.HICON, ctypes.POINTER(ICONINFO)]
    gdi32.GetObjectW.argtypes = [wintypes.HANDLE, ctypes.c_int, ctypes.c_void_p]
    info = ICONINFO()
    if not hicon or not user32.GetIconInfo(hicon, ctypes.byref(info)):
        return None
    bmp = BITMAP()
    assert gdi32.GetObjectW(info.hbmColor, ctypes.sizeof(BITMAP), ctypes.byref(bmp))
    gdi32.DeleteObject(info.hbmColor)
    gdi32.DeleteObject(info.hbmMask)
    return int(bmp.bmWidth)


def test_the_icon_is_a_multi_size_ico_loaded_at_the_small_icon_size(tmp_path: Path) -> None:
    tray, _actions, thread, bus = run_tray()
    try:
        bus.update(tier=Tier.EDGE)
        icon: Any = tray._icon
        width = wait_for(lambda: icon_width(icon._icon_handle), 10, "a live icon handle")
        assert width == traywin32.small_icon_size()
        frames = icon.icon.info["voxtray_frames"]
        ico = tmp_path / "voxtray.ico"
        traywin32.write_ico(frames, str(ico))
        with Image.open(ico) as img:
            assert set(img.info["sizes"]) == {(s, s) for s in traywin32.ICON_SIZES}
            img.size = (16, 16)  # the 16 px frame must be the one drawn at 16 px, not a shrunk 64 px one
            img.load()
            assert np.array_equal(np.asarray(img.convert("RGBA")), np.asarray(frames[16].convert("RGBA")))
    finally:
        tray.stop()
        thread.join(20)


def test_a_menu_open_while_the_status_changes_still_runs_the_chosen_item() -> None:
    """The render thread rebuilds the menu on every status change (during start-up, several a second); pystray
    destroyed the HMENU the open popup was tracking, so the user's click (here: Quit) was lost."""
    tray, actions, thread, bus = run_tray()
    try:
        icon = wait_for(lambda: [w for w in winutil.find(lambda w: w.pid == os.getpid())
                                 if w.cls.endswith("SystemTrayIcon") and w.title != traywin32.MENU_WINDOW_TITLE],
                        30, "our tray window")[0]  # (its title reads as '' from another thread of this process)
        winutil.post(icon.hwnd, PYSTRAY_WM_NOTIFY, 0, WM_RBUTTONUP)
        menu = wait_for(lambda: winutil.find(lambda w: w.pid == os.getpid() and w.cls == "#32768" and w.visible),
                        15, "the tray menu to open")[0]
        before = tray.menu
        bus.update(llm_url="http://127.0.0.1:9", llm_ok=False, llm_note="changed while the menu is open")
        wait_for(lambda: tray.menu is not before, 10, "the render thread to rebuild the menu")
        time.sleep(0.3)  # the rebuilt menu reaches pystray
        choose(menu.hwnd, "Quit")
        wait_for(lambda: "quit" in actions.calls, 10, "Quit, chosen in the open menu, to run")
    finally:
        tray.stop()
        thread.join(10)
