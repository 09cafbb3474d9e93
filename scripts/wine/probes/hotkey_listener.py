"""Probe (FINDINGS.md b): a process that registers a global hotkey (Ctrl+Alt+V) in its own message-loop thread.

Prints "ready" once registered, "fired <n>" for each WM_HOTKEY, and exits after the first one or 20 s.
With `--keyboard` it uses the `keyboard` package instead (a WH_KEYBOARD_LL hook, as VoxTray does on Windows).
"""

import ctypes
import sys
import threading
import time
from ctypes import wintypes

user32 = ctypes.WinDLL("user32", use_last_error=True)
MOD_ALT, MOD_CONTROL, MOD_NOREPEAT, WM_HOTKEY, VK_V = 0x1, 0x2, 0x4000, 0x0312, 0x56
done = threading.Event()


def loop() -> None:
    if not user32.RegisterHotKey(None, 1, MOD_CONTROL | MOD_ALT | MOD_NOREPEAT, VK_V):
        print("RegisterHotKey failed", ctypes.get_last_error(), flush=True)
        done.set()
        return
    print("ready", flush=True)
    msg = wintypes.MSG()
    while user32.GetMessageW(ctypes.byref(msg), None, 0, 0) > 0:
        if msg.message == WM_HOTKEY:
            print("fired", msg.wParam, flush=True)
            break
    user32.UnregisterHotKey(None, 1)
    done.set()


if "--keyboard" in sys.argv:
    import keyboard

    keyboard.add_hotkey("ctrl+alt+v", lambda: (print("fired keyboard", flush=True), done.set()))
    print("ready", flush=True)
else:
    threading.Thread(target=loop, daemon=True).start()
done.wait(20)
time.sleep(0.2)
