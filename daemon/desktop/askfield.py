"""The question box's text field: a Tk Text that wraps and grows with the question (up to MAX_LINES, then it
scrolls), showing a grey placeholder while empty. Used on the box's Tk thread only."""

from __future__ import annotations

from typing import Any

MAX_LINES = 4
PLACEHOLDER_FG, TEXT_FG = "#77767b", "#000000"


class QuestionField:
    """`widget` is the Tk Text; `text()` / `set(text)` read and replace the question (never the placeholder)."""

    def __init__(self, parent: Any, tk: Any, placeholder: str) -> None:
        self.placeholder = placeholder
        self.widget = tk.Text(parent, font=("TkDefaultFont", 13), width=40, height=1, wrap="word", undo=True,
                              relief="flat", highlightthickness=1, padx=6, pady=4)
        self._showing_placeholder = False
        self.widget.bind("<KeyPress>", self._typed, add="+")
        self.widget.bind("<<Modified>>", self._grow, add="+")
        self.widget.bind("<Configure>", self._grow, add="+")  # laid out (or resized): the wrapping is known

    def text(self) -> str:
        return "" if self._showing_placeholder else str(self.widget.get("1.0", "end-1c"))

    def set(self, text: str) -> None:
        w = self.widget
        self._showing_placeholder = False
        w.configure(fg=TEXT_FG)
        w.delete("1.0", "end")
        w.insert("1.0", text)
        w.mark_set("insert", "end-1c")
        if not text:
            self._show_placeholder()
        self._grow()

    def _show_placeholder(self) -> None:
        w = self.widget
        w.delete("1.0", "end")
        w.insert("1.0", self.placeholder)
        w.configure(fg=PLACEHOLDER_FG)
        w.mark_set("insert", "1.0")
        self._showing_placeholder = True

    def _typed(self, event: Any) -> None:
        """The first character typed replaces the placeholder; emptied again, it comes back."""
        if self._showing_placeholder and ((event.char and event.char.isprintable()) or event.keysym == "BackSpace"):
            self._showing_placeholder = False
            self.widget.delete("1.0", "end")
            self.widget.configure(fg=TEXT_FG)
        elif not self._showing_placeholder and event.keysym in ("BackSpace", "Delete"):
            self.widget.after_idle(self._empty_to_placeholder)

    def _empty_to_placeholder(self) -> None:
        if not self._showing_placeholder and not self.text():
            self._show_placeholder()

    def _grow(self, _event: Any = None) -> None:
        """One line per line of wrapped text, up to MAX_LINES."""
        w = self.widget
        w.edit_modified(False)
        try:
            lines = int(w.count("1.0", "end", "displaylines")[0])
        except Exception:
            lines = 1
        want = max(1, min(MAX_LINES, lines))
        if int(w.cget("height")) != want:
            w.configure(height=want)
