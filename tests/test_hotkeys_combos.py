"""Hotkey combos: parsing, validation messages, and how each backend spells them (pure functions)."""

from __future__ import annotations

import re

import pytest

from daemon.desktop.hotkeys import HotkeyListener, parse_combo
from daemon.errors import SettingsError


@pytest.mark.parametrize(
    ("text", "canonical", "pynput", "keyboard"),
    [
        ("ctrl+alt+space", "ctrl+alt+space", "<ctrl>+<alt>+<space>", "ctrl+alt+space"),
        ("Alt + Ctrl + X", "ctrl+alt+x", "<ctrl>+<alt>+x", "ctrl+alt+x"),
        ("control+shift+F9", "ctrl+shift+f9", "<ctrl>+<shift>+<f9>", "ctrl+shift+f9"),
        ("win+page down", "win+page_down", "<cmd>+<page_down>", "windows+page down"),
        ("f8", "f8", "<f8>", "f8"),
        ("ctrl+escape", "ctrl+esc", "<ctrl>+<esc>", "ctrl+esc"),
    ],
)
def test_combo_is_parsed_into_each_backends_spelling(text: str, canonical: str, pynput: str, keyboard: str) -> None:
    combo = parse_combo(text)
    assert str(combo) == canonical and combo.for_pynput() == pynput and combo.for_keyboard() == keyboard


@pytest.mark.parametrize(
    ("text", "why"),
    [
        ("", "it is empty"),
        ("ctrl+alt", "no key, only modifiers"),
        ("ctrl+a+b", "exactly one key"),
        ("ctrl++x", "empty part"),
        ("ctrl+ctrl+x", "appears twice"),
        ("ctrl+banana", "'banana' is not a key name"),
        ("x", "at least one modifier"),
    ],
)
def test_bad_combo_names_the_setting_and_shows_an_example(text: str, why: str) -> None:
    with pytest.raises(SettingsError) as info:
        parse_combo(text, "hotkey_ask")
    msg = str(info.value)
    assert "'hotkey_ask' is not a valid hotkey" in msg and why in msg and "e.g. 'ctrl+alt+space'" in msg


def test_two_actions_on_the_same_combo_are_refused() -> None:
    with pytest.raises(SettingsError, match=re.escape("both 'ctrl+alt+x'")):
        HotkeyListener({"ctrl+alt+x": lambda: None, "Alt+Ctrl+X": lambda: None})


def test_linux_without_display_says_x11_is_needed(monkeypatch: pytest.MonkeyPatch) -> None:
    from daemon.desktop.hotkeys import HotkeyError

    monkeypatch.delenv("DISPLAY", raising=False)
    monkeypatch.setattr("sys.platform", "linux")
    listener = HotkeyListener({"ctrl+alt+space": lambda: None}, backend="pynput")
    with pytest.raises(HotkeyError, match="need an X11 session"):
        listener.start()
