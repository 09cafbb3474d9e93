"""The tray's "Show the last answer" on a private X11 desktop: a real answer with a code block, asked through the
real Assistant (loopback Ollama stand-in, the product's speech stack with the system voice), kept by the daemon's
Commands, is shown with the question, what was read aloud and the code block greyed as not read aloud; Copy puts
the whole answer on the CLIPBOARD (read back with python-xlib); Esc closes. From the tray (the real Tray in a child
process, its TrayActions the recording FAKE of tests/tray_child.py) the item opens the window on a thread of its own,
which says how to ask when there is no answer yet.
"""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any

import pytest

from daemon import settings as settings_mod
from daemon.commands import Commands
from daemon.desktop.answer_window import ANSWER_TITLE, NOT_READ, AnswerWindow, show_answer
from daemon.desktop.traymenu import SHOW_ANSWER_ITEM
from daemon.desktop.x11selection import read_selection
from daemon.live import LiveSettings
from daemon.settings import Settings
from daemon.status import StatusBus
from tests import test_tray_x11
from tests.fixtures.x11 import X11Session, wait_for
from tests.test_tray_dialogs_x11 import press, window, windows
from tests.test_tray_x11 import TrayChild

pytestmark = [pytest.mark.x11, pytest.mark.slow]
tray_child = test_tray_x11.tray_child  # the fixture: the real tray in a child process

QUESTION = "How do I print three numbers in Python?"
CODE = "```python\nfor i in range(3):\n    print(i)\n```\n"
TOKENS = ["Use ", "a ", "loop. ", "It ", "prints ", "zero, ", "one ", "and ", "two.\n", "```python\n",
          "for i in range(3):\n", "    print(i)\n", "```\n", "Details ", "at ", "https://docs.python.org/3/ ", "online."]


def test_the_last_answer_shows_what_was_read_and_the_skipped_code_and_copy_fills_the_clipboard(
        x11: X11Session, llm_server: Any, answer_rig: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
        x11_artifacts: Path) -> None:
    monkeypatch.setenv("DISPLAY", x11.display)
    server = llm_server(api="ollama", tokens=TOKENS)
    path = tmp_path / "settings.json"
    settings_mod.save(Settings(), path)
    commands = Commands(LiveSettings(path, settings_mod.load(path)), StatusBus(), lambda: None, quit=lambda: None)
    rig = answer_rig(server.url)
    rig.assistant.answers = commands.answers  # as app.build() wires it
    rig.ask(QUESTION)
    assert commands.answers.wait_saved(10)
    answer = "".join(TOKENS)
    spoken_aloud = " ".join(rig.engine.calls)  # the sentences the system voice was given
    shown = commands.last_answer()
    assert shown is not None and shown.question == QUESTION and shown.text == answer

    opened: list[dict[str, Any]] = []  # the window's view (never the window: Tk objects die on Tk's thread only)

    def keep_view(w: AnswerWindow) -> None:
        opened.append(w.view)

    thread = threading.Thread(target=lambda: show_answer(shown, "Ctrl+Alt+Space", on_open=keep_view),
                              name="last-answer", daemon=True)
    thread.start()
    try:
        shows_the_answer(x11, opened, answer, spoken_aloud, x11_artifacts)
    finally:  # a failed check must not leave the window open (its Tk would end the run when the X server goes)
        if window(x11, ANSWER_TITLE) is not None:
            press(x11, ANSWER_TITLE, "Escape")
        thread.join(10)
    assert not thread.is_alive() and window(x11, ANSWER_TITLE) is None


def shows_the_answer(x11: X11Session, opened: list[dict[str, Any]], answer: str, spoken_aloud: str,
                     x11_artifacts: Path) -> None:
    wid = wait_for(lambda: window(x11, ANSWER_TITLE), 20, "the answer window on the screen")
    view = wait_for(lambda: opened[0] if opened else None, 10, "the window's view")
    assert view["head"].startswith("You asked at ")
    assert view["question"] == QUESTION
    assert "".join(view["spoken"]).startswith("Use a loop. It prints zero, one and two.")
    assert "Details at " in "".join(view["spoken"]) and "online." in "".join(view["spoken"])
    assert view["skipped"] == [CODE, "https://docs.python.org/3/"]
    assert view["notes"] == [f"— {NOT_READ} —\n"], "the code block is introduced as not read aloud"
    assert NOT_READ in view["footnote"]
    assert "loop" in spoken_aloud and "range" not in spoken_aloud and "docs.python" not in spoken_aloud
    (x11_artifacts / "tray").mkdir(exist_ok=True)
    x11.run("import", "-window", wid, str(x11_artifacts / "tray" / "last-answer.png"))

    press(x11, ANSWER_TITLE, "alt+c")  # Copy (its underlined letter)
    wait_for(lambda: view["copied"], 10, "the copy to be done")
    assert read_selection("CLIPBOARD", timeout_s=5, display=x11.display) == answer, "the whole answer, code included"
    press(x11, ANSWER_TITLE, "Escape")


def test_the_tray_item_opens_the_window_off_the_tray_thread_and_says_how_to_ask_when_there_is_no_answer(
        x11: X11Session, tray_child: TrayChild, x11_artifacts: Path) -> None:
    tray_child.send("invoke", path=[SHOW_ANSWER_ITEM])
    wid = wait_for(lambda: window(x11, ANSWER_TITLE), 20, "the answer window")
    call = tray_child.expect(event="call", name="last_answer")
    assert call["thread"] == "last-answer", "read and shown on the window's own thread, never the tray's"
    (x11_artifacts / "tray").mkdir(exist_ok=True)
    x11.run("import", "-window", wid, str(x11_artifacts / "tray" / "no-answer-yet.png"))
    tray_child.send("invoke", path=[SHOW_ANSWER_ITEM])  # a second click while it is open: still one window
    tray_child.expect(event="done", op="invoke")
    assert len(windows(x11, ANSWER_TITLE)) == 1
    press(x11, ANSWER_TITLE, "Escape")
    wait_for(lambda: window(x11, ANSWER_TITLE) is None, 10, "the window to close on Esc")
