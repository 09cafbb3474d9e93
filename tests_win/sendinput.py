"""Type on the Windows keyboard from a separate process, as a user's keyboard would: SendInput.

    python -m tests_win.sendinput combo ctrl+alt+space
    python -m tests_win.sendinput type "Why is the sky blue?" --enter

Keys go through wineserver to whatever has the focus (and to RegisterHotKey hotkeys); a hotkey needs no focus.
Characters use the current layout's virtual keys (VkKeyScanW), with Shift where the layout needs it.
"""

from __future__ import annotations

import ctypes
import sys
import time
from ctypes import wintypes

user32 = ctypes.WinDLL("user32", use_last_error=True)
INPUT_KEYBOARD, KEYEVENTF_KEYUP = 1, 0x2
VK = {"ctrl": 0x11, "alt": 0x12, "shift": 0x10, "win": 0x5B, "space": 0x20, "enter": 0x0D, "esc": 0x1B,
      "backspace": 0x08, "tab": 0x09, "insert": 0x2D, **{f"f{i}": 0x6F + i for i in range(1, 25)}}


class KEYBDINPUT(ctypes.Structure):
    _fields_ = [("wVk", wintypes.WORD), ("wScan", wintypes.WORD), ("dwFlags", wintypes.DWORD),
                ("time", wintypes.DWORD), ("dwExtraInfo", ctypes.c_size_t)]


class MOUSEINPUT(ctypes.Structure):  # the union's largest member: makes sizeof(INPUT) 40 on x64
    _fields_ = [("dx", wintypes.LONG), ("dy", wintypes.LONG), ("mouseData", wintypes.DWORD),
                ("dwFlags", wintypes.DWORD), ("time", wintypes.DWORD), ("dwExtraInfo", ctypes.c_size_t)]


class INPUT(ctypes.Structure):
    class _U(ctypes.Union):
        _fields_ = [("ki", KEYBDINPUT), ("mi", MOUSEINPUT)]

    _anonymous_ = ("u",)
    _fields_ = [("type", wintypes.DWORD), ("u", _U)]


def _event(vk: int, up: bool) -> INPUT:
    scan = user32.MapVirtualKeyW(vk, 0)
    return INPUT(type=INPUT_KEYBOARD, ki=KEYBDINPUT(wVk=vk, wScan=scan, dwFlags=KEYEVENTF_KEYUP if up else 0))


def send(events: list[INPUT]) -> None:
    array = (INPUT * len(events))(*events)
    sent = user32.SendInput(len(events), array, ctypes.sizeof(INPUT))
    assert sent == len(events), f"SendInput sent {sent} of {len(events)} ({ctypes.get_last_error()})"


def press(vks: list[int]) -> None:
    """Hold each key in order, then release them in reverse."""
    send([_event(vk, False) for vk in vks] + [_event(vk, True) for vk in reversed(vks)])


def combo(text: str) -> None:
    vks = []
    for part in text.lower().split("+"):
        vks.append(VK.get(part) or ord(part.upper()))
    press(vks)


def type_text(text: str) -> None:
    for ch in text:
        code = user32.VkKeyScanW(ord(ch))
        assert code != -1, f"{ch!r} is not on this keyboard layout"
        vk, shift = code & 0xFF, code >> 8
        press(([VK["shift"]] if shift & 1 else []) + [vk])
        time.sleep(0.01)


def main(argv: list[str]) -> int:
    verb, arg = argv[0], argv[1]
    if verb == "combo":
        combo(arg)
    elif verb == "type":
        type_text(arg)
        if "--enter" in argv:
            time.sleep(0.1)
            press([VK["enter"]])
    else:
        raise SystemExit(f"unknown verb {verb}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
