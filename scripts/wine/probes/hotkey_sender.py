"""Probe (FINDINGS.md b): type Ctrl+Alt+V with SendInput (what a user's keyboard produces), from its own process."""

import ctypes
import sys
from ctypes import wintypes

user32 = ctypes.WinDLL("user32", use_last_error=True)
INPUT_KEYBOARD, KEYEVENTF_KEYUP = 1, 0x2
VK_CONTROL, VK_MENU, VK_V = 0x11, 0x12, 0x56


class KEYBDINPUT(ctypes.Structure):
    _fields_ = [("wVk", wintypes.WORD), ("wScan", wintypes.WORD), ("dwFlags", wintypes.DWORD),
                ("time", wintypes.DWORD), ("dwExtraInfo", ctypes.c_size_t)]


class MOUSEINPUT(ctypes.Structure):  # the union's largest member: sizes INPUT correctly (40 bytes on x64)
    _fields_ = [("dx", wintypes.LONG), ("dy", wintypes.LONG), ("mouseData", wintypes.DWORD),
                ("dwFlags", wintypes.DWORD), ("time", wintypes.DWORD), ("dwExtraInfo", ctypes.c_size_t)]


class INPUT(ctypes.Structure):
    class _U(ctypes.Union):
        _fields_ = [("ki", KEYBDINPUT), ("mi", MOUSEINPUT)]

    _anonymous_ = ("u",)
    _fields_ = [("type", wintypes.DWORD), ("u", _U)]


def key(vk: int, up: bool = False) -> INPUT:
    scan = user32.MapVirtualKeyW(vk, 0)
    return INPUT(type=INPUT_KEYBOARD, ki=KEYBDINPUT(vk, scan, KEYEVENTF_KEYUP if up else 0, 0, 0))


seq = [key(VK_CONTROL), key(VK_MENU), key(VK_V), key(VK_V, True), key(VK_MENU, True), key(VK_CONTROL, True)]
arr = (INPUT * len(seq))(*seq)
sent = user32.SendInput(len(seq), arr, ctypes.sizeof(INPUT))
print("sent", sent, "of", len(seq), "error", ctypes.get_last_error(), flush=True)
sys.exit(0 if sent == len(seq) else 1)
