"""The question box for real: Tk under Xvfb, found and typed into with xdotool (XTEST key events)."""

from __future__ import annotations

import queue
import time
from collections.abc import Iterator

import pytest

from daemon.desktop.prompt import TITLE, PromptError, QuestionBox

NAME = "VoxTray"  # xdotool search --name is a regex over the title; TITLE is "VoxTray — Ask"


@pytest.fixture
def box(ask_display) -> Iterator[tuple[QuestionBox, queue.Queue]]:
    got: queue.Queue = queue.Queue()
    b = QuestionBox(lambda q, t: got.put((q, t)))
    b.start()
    yield b, got
    b.stop()


def open_and_find(b: QuestionBox, display, t_hotkey: float | None = None) -> str:
    b.open(t_hotkey)
    wid = display.find_window(NAME)
    assert wid, "the question box did not appear"
    deadline = time.monotonic() + 3  # keyboard focus arrives with the window being mapped
    while display.xdotool("getwindowfocus").stdout.strip() != wid and time.monotonic() < deadline:
        time.sleep(0.02)
    return wid


def test_enter_asks_the_typed_question_and_hides_the_box(box, ask_display) -> None:
    b, got = box
    wid = open_and_find(b, ask_display, t_hotkey=123.0)
    assert ask_display.xdotool("getwindowname", wid).stdout.strip() == TITLE
    ask_display.xdotool("type", "--delay", "5", "Why is the sky blue?")
    ask_display.xdotool("key", "Return")
    assert got.get(timeout=5) == ("Why is the sky blue?", 123.0)
    assert ask_display.wait_gone(NAME) and not b.is_open


def test_escape_cancels_without_asking(box, ask_display) -> None:
    b, got = box
    open_and_find(b, ask_display)
    ask_display.xdotool("type", "--delay", "5", "never mind")
    ask_display.xdotool("key", "Escape")
    assert ask_display.wait_gone(NAME)
    assert got.empty() and not b.is_open


def test_up_recalls_earlier_questions(box, ask_display) -> None:
    b, got = box
    for q in ("first question", "second question"):
        open_and_find(b, ask_display)
        ask_display.xdotool("type", "--delay", "5", q)
        ask_display.xdotool("key", "Return")
        assert got.get(timeout=5)[0] == q
        assert ask_display.wait_gone(NAME)
    open_and_find(b, ask_display)
    ask_display.xdotool("key", "Up", "Up", "Down")  # back two, forward one: "second question"
    ask_display.xdotool("type", "--delay", "5", " again")
    ask_display.xdotool("key", "Return")
    assert got.get(timeout=5)[0] == "second question again"
    assert b.history == ["first question", "second question", "second question again"]


def test_empty_question_is_not_asked(box, ask_display) -> None:
    b, got = box
    open_and_find(b, ask_display)
    ask_display.xdotool("key", "Return")
    time.sleep(0.2)  # nothing may arrive: a short bounded negative check
    assert got.empty() and b.is_open


def test_no_display_is_a_clear_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("DISPLAY", raising=False)
    with pytest.raises(PromptError, match="needs a desktop session"):
        QuestionBox(lambda q, t: None).start()
