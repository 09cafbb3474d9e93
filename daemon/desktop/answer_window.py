"""The "Show the last answer" window: the question, the answer as text with what was not read aloud (code blocks,
links' addresses, ...) greyed and in italics, and Copy (the whole answer as the LLM wrote it) / Close.

The tray runs `show_answer` on a thread of its own (it blocks until the window is closed); the window itself lives
on the question box's Tk thread like every VoxTray dialog (dialogs.with_tk). It makes no Tk variables or images,
so nothing of Tk's is left for another thread to collect.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from daemon.desktop.dialogs import TITLE_PREFIX, WRAP, centre, with_tk

log = logging.getLogger(__name__)

ANSWER_TITLE = TITLE_PREFIX + "Last answer"
NOT_READ = "not read aloud"
GREY = "#6e6d73"


@dataclass(frozen=True)
class ShownAnswer:
    """What the window shows: `parts` are the answer's text in runs of (text, read aloud?), joined = `text`."""

    question: str
    text: str
    parts: tuple[tuple[str, bool], ...]
    time: float  # seconds since the epoch
    reading: bool = False  # a text read aloud, not an answer
    cancelled: bool = False
    truncated: bool = False


def when(seconds: float, now: float | None = None) -> str:
    """"at 14:02" today, else "on 3 May at 14:02"."""
    then, today = time.localtime(seconds), time.localtime(now)
    clock = f"{then.tm_hour:02d}:{then.tm_min:02d}"
    if then[:3] == today[:3]:
        return f"at {clock}"
    return f"on {then.tm_mday} {time.strftime('%b', then)} at {clock}"


def heading(answer: ShownAnswer | None, ask_hint: str) -> str:
    if answer is None:
        return f"No answer yet — ask with {ask_hint}" if ask_hint else "No answer yet — ask from the tray menu (Ask…)"
    return f"{'Read aloud' if answer.reading else 'You asked'} {when(answer.time)}"


def footnote(answer: ShownAnswer) -> str:
    """What the window says under the answer about how much of it was heard."""
    notes = []
    if any(not spoken for _, spoken in answer.parts):
        notes.append(f"Grey italic text was {NOT_READ} (code, links, tables, symbols).")
    if answer.cancelled:
        notes.append("Stopped before the end: the rest was not read aloud.")
    elif answer.truncated:
        notes.append("Too long to read whole: the end was not read aloud.")
    return " ".join(notes)


class AnswerWindow:
    """The window's widgets; built and used on Tk's thread only. `view` is a copy of what it shows, plain data
    updated in place on Tk's thread, for tests to read from any thread (keep the dict, not the window: a Tk object
    must never be collected on another thread)."""

    def __init__(self, parent: Any, answer: ShownAnswer | None, ask_hint: str) -> None:
        import tkinter as tk
        from tkinter import ttk

        self.answer = answer
        self.view: dict[str, Any] = {}
        self.closed = False
        win = self.win = tk.Toplevel(parent)
        win.withdraw()
        win.title(ANSWER_TITLE)
        win.attributes("-topmost", True)
        outer = ttk.Frame(win, padding=(16, 12))
        outer.pack(fill="both", expand=True)
        self.head = ttk.Label(outer, text=heading(answer, ask_hint), font=("TkDefaultFont", 11, "bold"),
                              wraplength=WRAP, justify="left")
        self.head.pack(anchor="w")
        self.question = ttk.Label(outer, text=answer.question if answer else "", wraplength="420p", justify="left")
        self.text: Any = None
        self.note = ttk.Label(outer, text=footnote(answer) if answer else "", foreground=GREY, wraplength="420p",
                              justify="left")
        if answer is not None:
            if answer.question:
                self.question.pack(anchor="w", pady=(4, 8))
            self.text = self._answer_text(outer, answer)
            self.note.pack(anchor="w", pady=(6, 0))
        buttons = ttk.Frame(outer)
        buttons.pack(fill="x", pady=(10, 0))
        close = ttk.Button(buttons, text="Close", command=self.close, default="active")
        close.pack(side="right")
        self.copied = ttk.Label(buttons, text="", foreground=GREY)
        if answer is not None:
            ttk.Button(buttons, text="Copy", underline=0, command=self.copy).pack(side="left")
            self.copied.pack(side="left", padx=8)
            win.bind("<Alt-c>", lambda _e: self.copy())
        win.bind("<Escape>", lambda _e: self.close())
        win.bind("<Return>", lambda _e: self.close())
        win.protocol("WM_DELETE_WINDOW", self.close)
        centre(win)
        win.lift()
        win.focus_force()  # opened from the tray: it comes to the front and takes the keyboard
        close.focus_set()
        self._sync()

    def _answer_text(self, outer: Any, answer: ShownAnswer) -> Any:
        """A read-only Text with the answer: spoken runs plain, left-out runs grey italic (a long one, such as a
        code block, under a "not read aloud" line of its own)."""
        import tkinter as tk
        from tkinter import ttk

        frame = ttk.Frame(outer)
        frame.pack(fill="both", expand=True)
        lines = answer.text.count("\n") + 1
        text = tk.Text(frame, wrap="word", width=72, height=max(4, min(18, lines + 2)), padx=6, pady=4,
                       relief="flat", borderwidth=1, highlightthickness=1, font=("TkDefaultFont", 10))
        bar = ttk.Scrollbar(frame, orient="vertical", command=text.yview)
        text.configure(yscrollcommand=bar.set)
        bar.pack(side="right", fill="y")
        text.pack(side="left", fill="both", expand=True)
        text.tag_configure("skipped", foreground=GREY, font=("TkFixedFont", 9, "italic"))
        text.tag_configure("note", foreground=GREY, font=("TkDefaultFont", 8, "italic"))
        for piece, spoken in answer.parts:
            if not spoken and piece.count("\n") > 1:  # a block (code, a table's rule lines): say so above it
                if text.get("end-2c", "end-1c") not in ("", "\n"):
                    text.insert("end", "\n")
                text.insert("end", f"— {NOT_READ} —\n", ("note",))
            text.insert("end", piece, ("spoken" if spoken else "skipped",))
        text.configure(state="disabled")  # read-only, still selectable
        return text

    def copy(self) -> None:
        """The whole answer, as the LLM wrote it (code and links included), onto the clipboard."""
        if self.answer is None:
            return
        self.win.clipboard_clear()
        self.win.clipboard_append(self.answer.text)
        self.copied.configure(text="Copied to the clipboard")
        log.info("the last answer was copied (%d characters)", len(self.answer.text))
        self._sync()

    def close(self) -> None:
        if not self.closed:
            self.closed = True
            self._sync()
            self.win.destroy()

    def _tagged(self, tag: str) -> list[str]:
        ranges = self.text.tag_ranges(tag) if self.text is not None else ()
        return [self.text.get(a, b) for a, b in zip(ranges[::2], ranges[1::2], strict=True)]

    def _sync(self) -> None:
        self.view.update({
            "title": str(self.win.title()), "head": str(self.head.cget("text")),
            "question": str(self.question.cget("text")), "spoken": self._tagged("spoken"),
            "skipped": self._tagged("skipped"), "notes": self._tagged("note"), "footnote": str(self.note.cget("text")),
            "copied": str(self.copied.cget("text")), "closed": self.closed,
        })


def show_answer(answer: ShownAnswer | None, ask_hint: str = "",
                on_open: Callable[[AnswerWindow], None] | None = None) -> None:
    """Show the window and block until it is closed; `answer` None says there is none yet (`ask_hint`: the ask
    hotkey as menus show it). `on_open` (tests) gets the AnswerWindow once it is on the screen (keep its `view`)."""

    def dialog(parent: Any) -> None:
        window = AnswerWindow(parent, answer, ask_hint)
        if on_open is not None:
            on_open(window)
        window.win.wait_window()
        window.closed = True

    with_tk(dialog)
