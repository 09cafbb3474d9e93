"""The question box for real: Tk under Xvfb, found and typed into with xdotool (XTEST key events)."""

from __future__ import annotations

import os
import queue
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

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


def _height(display, wid: str) -> int:
    out = display.xdotool("getwindowgeometry", "--shell", wid).stdout
    return int(dict(line.split("=", 1) for line in out.split())["HEIGHT"])


def test_a_long_question_wraps_and_the_box_grows_with_the_status_chip_under_it(ask_display, x11_artifacts) -> None:
    got: queue.Queue = queue.Queue()
    b = QuestionBox(lambda q, t: got.put(q), chip=lambda: "⚠ No LLM set up · system voice")
    b.start()
    try:
        wid = open_and_find(b, ask_display)
        one_line = _height(ask_display, wid)
        shots = x11_artifacts / "box"
        shots.mkdir(parents=True, exist_ok=True)
        subprocess.run(["import", "-display", ask_display.name, "-window", wid, str(shots / "box-empty.png")],
                       check=True, timeout=30)
        question = ("Could you explain, in two or three sentences, why the sky is blue during the day but red "
                    "and orange at sunset, and whether the same happens on Mars?")
        ask_display.xdotool("type", "--delay", "2", question)
        time.sleep(0.3)
        grown = _height(ask_display, wid)
        subprocess.run(["import", "-display", ask_display.name, "-window", wid, str(shots / "box-long.png")],
                       check=True, timeout=30)
        assert grown > one_line + 20, f"the box did not grow with the text ({one_line} -> {grown} px)"
        ask_display.xdotool("key", "Return")
        assert got.get(timeout=5) == question, "the whole question, its start included, is asked"
    finally:
        b.stop()


def test_the_box_closes_when_left_empty_and_stays_while_something_is_typed(box, ask_display) -> None:
    b, got = box
    other = subprocess.Popen([sys.executable, "-c", "import tkinter; t = tkinter.Tk(); t.title('Other app'); "
                              "t.geometry('300x200+0+0'); t.mainloop()"], env=dict(os.environ, DISPLAY=ask_display.name))
    try:
        them = ask_display.find_window("Other app", timeout=15)
        assert them
        them = ask_display.xdotool("search", "--name", "Other app").stdout.split()[0]  # its top-level window
        open_and_find(b, ask_display)
        ask_display.xdotool("type", "--delay", "5", "half a question")
        ask_display.xdotool("windowfocus", "--sync", them)  # the user clicks into another program
        assert ask_display.xdotool("getwindowfocus").stdout.strip() == them
        time.sleep(0.5)
        assert b.is_open, "something is typed: the box stays"
        open_and_find(b, ask_display)
        ask_display.xdotool("key", "Escape")
        assert ask_display.wait_gone(NAME)
        open_and_find(b, ask_display)  # opens empty
        time.sleep(0.5)  # (the box re-takes the focus 30 ms after opening: a person clicks away later than that)
        ask_display.xdotool("windowfocus", "--sync", them)
        assert ask_display.wait_gone(NAME, timeout=3), "left empty: the box closes"
        assert got.empty()
    finally:
        other.kill()
        other.wait()


def test_the_hidden_box_sleeps_and_opens_at_once(box, ask_display) -> None:
    """#22: the box's Tk thread does not poll while hidden (a loopback connection Tcl watches wakes it), and a
    request still reaches it at once."""
    b, _got = box
    open_and_find(b, ask_display)
    b.hide()
    assert ask_display.wait_gone(NAME)
    time.sleep(0.5)
    tid = next(t.native_id for t in threading.enumerate() if t.name == "question-box")

    def switches() -> int:
        status = Path(f"/proc/self/task/{tid}/status").read_text().splitlines()
        return sum(int(line.split()[1]) for line in status if "ctxt_switches" in line)

    before = switches()
    time.sleep(3.0)
    assert switches() - before <= 2, "the hidden box's thread woke up while nothing was asked of it"
    t0 = time.monotonic()
    b.open()
    while not b.is_open and time.monotonic() - t0 < 2:
        time.sleep(0.001)
    assert b.is_open and time.monotonic() - t0 < 0.2, "the box opens at once, not at the next poll"
