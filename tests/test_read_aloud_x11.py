"""Read aloud on X11 with real selections: a real Tk program (a child process) selects text in an entry (PRIMARY)
and copies other text (CLIPBOARD); xdotool presses the read hotkey; pynput fires; the selection is read with
python-xlib and reaches the real Assistant, Pipeline and Router. An owner that never answers costs the bound.

Faked: the voice is a ToneEngine (tests/fixtures/tones.py) so the test can read exactly which sentences were
handed to it and stop mid-text; the tray item runs with the daemon's real parts (system voice, no sound card).
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from daemon.app import App
from daemon.assistant import Assistant
from daemon.brain.client import LLMClient
from daemon.brain.conversation import Conversation
from daemon.desktop.ask_flow import AskFlow
from daemon.desktop.read_aloud import FROM_CLIPBOARD, NOTHING, ReadAloud
from daemon.desktop.selection import Grab, selected_text
from daemon.desktop.x11selection import read_selection
from daemon.settings import Settings, load
from daemon.speech.pipeline import Pipeline
from daemon.speech.router import Router
from daemon.status import StatusBus
from tests.fixtures.tones import MemorySink, ToneEngine
from tests.procs import stop_process
from tests.waits import wait_for

SELECTED = "Sentence 1 is selected in the other app. Sentence 2 has **markdown** and ünïcode — too."
COPIED = "Sentence 3 was copied earlier."
TK_APP = """import sys, tkinter as tk
root = tk.Tk(); root.title("Other app")
selected, copied = sys.argv[1], sys.argv[2] * int(sys.argv[3])
if copied:
    root.clipboard_clear(); root.clipboard_append(copied)
entry = tk.Entry(root, width=80); entry.pack(); entry.insert(0, selected)
if selected:
    entry.selection_range(0, "end")  # an entry's selection is the X PRIMARY selection
root.update(); print("ready", flush=True); root.mainloop()
"""
SILENT_OWNER = """import sys, time
from Xlib import X, display
d = display.Display(); w = d.screen().root.create_window(0, 0, 1, 1, 0, X.CopyFromParent)
w.set_selection_owner(d.intern_atom("PRIMARY"), X.CurrentTime); d.sync()
print("ready", flush=True); time.sleep(60)  # owns PRIMARY and never answers a request
"""


@pytest.fixture
def other_app(ask_display) -> Iterator[Callable[..., subprocess.Popen[str]]]:
    """Start a program owning the selections (a Tk app, or `code`); each is stopped by its pid afterwards."""
    procs: list[subprocess.Popen[str]] = []

    def start(selected: str = "", copied: str = "", code: str = TK_APP, times: int = 1) -> subprocess.Popen[str]:
        for old in procs:
            stop_process(old)
        proc = subprocess.Popen([sys.executable, "-c", code, selected, copied, str(times)], stdout=subprocess.PIPE, text=True)
        procs.append(proc)
        assert proc.stdout is not None and proc.stdout.readline().strip() == "ready"
        return proc

    yield start
    for proc in procs:
        stop_process(proc)


def test_primary_else_clipboard_else_nothing_and_large_clipboards(other_app) -> None:
    other_app(SELECTED, COPIED)
    assert read_selection("PRIMARY") == SELECTED
    assert selected_text() == Grab(SELECTED, "selection")
    other_app("", COPIED)  # nothing selected: the clipboard, said so by its source
    assert selected_text() == Grab(COPIED, "clipboard")
    line = "Ünïcode line of a long text.\n"
    other_app("", line, times=40_000)  # 1.2 MB: the owner sends it in INCR chunks
    assert read_selection("CLIPBOARD") == line * 40_000
    other_app()
    assert selected_text().empty


def test_an_owner_that_never_answers_costs_the_bound_not_a_hang(other_app) -> None:
    other_app(code=SILENT_OWNER)
    t = time.monotonic()
    assert read_selection("PRIMARY", timeout_s=0.4) is None
    assert time.monotonic() - t < 1.5


def _reading(settings: Settings, chunk_delay: float = 0.0) -> tuple[Assistant, ToneEngine, StatusBus]:
    status = StatusBus()
    engine = ToneEngine("system", 3, chunk_delay=chunk_delay)
    pipeline = Pipeline(Router({"system": engine}, settings, status, probe=False), MemorySink(), settings, status)
    return Assistant(LLMClient(settings), Conversation(6), pipeline, status), engine, status


def test_read_hotkey_reads_the_selection_and_the_stop_hotkey_ends_it(ask_display, other_app) -> None:
    settings = Settings(hotkey_read="ctrl+alt+insert", sentence_gap_s=0)
    assistant, engine, _ = _reading(settings, chunk_delay=0.15)
    told: list[str] = []
    reading = ReadAloud(settings, assistant, tell=told.append)
    flow = AskFlow(settings, assistant, backend="pynput", read=reading.press)
    flow.start()
    try:
        other_app(SELECTED, COPIED)
        ask_display.xdotool("key", "ctrl+alt+Insert")
        wait_for(lambda: len(engine.spoken) >= 2 and assistant.wait_idle(0.05), 20, "the selection read aloud")
        assert engine.spoken == ["Sentence 1 is selected in the other app.", "Sentence 2 has markdown and ünïcode — too."]
        assert told == [], "a selection needs no notification"

        long_text = " ".join(f"Sentence {i} of a long text goes on." for i in range(1, 60))
        other_app(long_text)
        engine.spoken.clear()
        ask_display.xdotool("key", "ctrl+alt+Insert")
        wait_for(lambda: engine.spoken, 20, "the long text's first sentence")
        ask_display.xdotool("key", "ctrl+alt+BackSpace")
        assert assistant.wait_idle(2.0), "the stop hotkey ends the reading at once"
        stopped_at = len(engine.spoken)
        time.sleep(0.5)
        assert len(engine.spoken) == stopped_at < 5

        other_app("", COPIED)
        ask_display.xdotool("key", "ctrl+alt+Insert")
        wait_for(lambda: engine.spoken[stopped_at:] == [COPIED] and assistant.wait_idle(0.05), 20, "the clipboard read")
        assert told == [FROM_CLIPBOARD]
        other_app()
        ask_display.xdotool("key", "ctrl+alt+Insert")
        wait_for(lambda: told == [FROM_CLIPBOARD, NOTHING], 10, "the nothing-to-read notice")
    finally:
        flow.stop()
        reading.close()
        assistant.close()


def test_read_max_chars_bounds_a_reading(other_app) -> None:
    settings = Settings(read_max_chars=100, sentence_gap_s=0)
    assistant, engine, _ = _reading(settings)
    reading = ReadAloud(settings, assistant, tell=lambda _: None)
    try:
        other_app(" ".join(f"Sentence {i} is one of many in this text." for i in range(1, 20)))
        reading.press()
        wait_for(lambda: engine.spoken and assistant.wait_idle(0.05), 20, "the bounded reading")
        assert engine.spoken[-1] == "The rest is too long to read aloud." and len(engine.spoken) == 3
        assert assistant.last_timings is not None and "read_max_chars" in assistant.last_timings.error
    finally:
        reading.close()
        assistant.close()


def test_tray_read_aloud_reads_the_selection_through_the_daemons_parts(tmp_path: Path, other_app,
                                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(AskFlow, "start", lambda self: None)  # the tray item, not the hotkey
    path = tmp_path / "settings.json"
    path.write_text(json.dumps({"use_local_cloning": False, "engine": "system", "llm_health_interval_s": 0}))
    app = App(load(path, check=False), path, headless=True)
    app.start()
    try:
        parts = app.parts
        assert parts is not None
        heard: list[str] = []
        speak = parts.speech.router.speak_sentence
        monkeypatch.setattr(parts.speech.router, "speak_sentence", lambda text, *a: heard.append(text) or speak(text, *a))
        other_app("Read this from the tray, please.")
        app.commands.read_aloud()
        wait_for(lambda: heard and parts.assistant.wait_idle(0.05), 30, "the tray's reading")
        assert heard == ["Read this from the tray, please."]
    finally:
        app.shutdown()
