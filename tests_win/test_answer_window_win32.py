""""Show the last answer" on the real Windows Tk (under Wine): the window opens on a worker thread with its own Tk
(as in a daemon whose hotkeys are off), takes the keyboard, Alt+C copies the whole answer (code included) onto the
Windows clipboard (read back with the product's winclipboard), Esc closes, and the copied text stays on the
clipboard after the window and its Tk are gone. The empty case says how to ask.
"""

from __future__ import annotations

import os
import subprocess
import sys
import threading
from typing import Any

from daemon.desktop import winclipboard
from daemon.desktop.answer_window import ANSWER_TITLE, AnswerWindow, ShownAnswer, show_answer
from tests_win.conftest import ROOT
from tests_win.winutil import find, wait_for

TEXT = "Use a loop, José.\n```python\nfor i in range(3):\n    print(i)\n```\nSee https://docs.python.org/3/ online."
ANSWER = ShownAnswer("How do I print three numbers?", TEXT,
                     (("Use a loop, José.\n", True), ("```python\nfor i in range(3):\n    print(i)\n```\n", False),
                      ("See ", True), ("https://docs.python.org/3/", False), (" online.", True)), 1.7e9)


def keys(combo: str) -> None:
    subprocess.run([sys.executable, "-m", "tests_win.sendinput", "combo", combo], cwd=ROOT,
                   stdin=subprocess.DEVNULL, capture_output=True, timeout=60, check=True)


def shown() -> bool:
    return bool(find(lambda w: w.pid == os.getpid() and w.title == ANSWER_TITLE and w.visible))


def open_window(answer: ShownAnswer | None) -> tuple[threading.Thread, list[dict[str, Any]]]:
    views: list[dict[str, Any]] = []  # the window's view only: Tk objects must die on Tk's thread

    def keep(window: AnswerWindow) -> None:
        views.append(window.view)

    thread = threading.Thread(target=lambda: show_answer(answer, "Ctrl+Alt+Space", on_open=keep), daemon=True)
    thread.start()
    wait_for(lambda: shown(), 60, "the answer window")
    wait_for(lambda: views, 30, "the window's view")
    return thread, views


def test_copy_puts_the_whole_answer_on_the_windows_clipboard_and_esc_closes() -> None:
    thread, views = open_window(ANSWER)
    view = views[0]
    assert view["question"] == ANSWER.question
    assert view["skipped"] == ["```python\nfor i in range(3):\n    print(i)\n```\n", "https://docs.python.org/3/"]
    keys("alt+c")
    wait_for(lambda: view["copied"], 30, "Alt+C to copy")
    assert winclipboard.clipboard_text().replace("\r\n", "\n") == TEXT
    keys("esc")
    thread.join(30)
    assert not thread.is_alive(), "Esc did not close the window"
    assert winclipboard.clipboard_text().replace("\r\n", "\n") == TEXT, "still on the clipboard once Tk is gone"


def test_with_no_answer_yet_the_window_says_how_to_ask() -> None:
    thread, views = open_window(None)
    assert views[0]["head"] == "No answer yet — ask with Ctrl+Alt+Space"
    keys("esc")
    thread.join(30)
    assert not thread.is_alive(), "Esc did not close the window"
