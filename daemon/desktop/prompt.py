"""The question box: a small always-on-top launcher near the mouse pointer, on its own Tk thread.

    box = QuestionBox(on_submit=lambda question, t_hotkey: ..., chip=lambda: "LLM ready · cloned voice")
    box.start(); box.open(); box.hide(); box.stop()   # open/hide/listen/...: any thread

Enter asks (the box hides; `on_submit(question, t_hotkey)` runs on the Tk thread: keep it quick), Esc cancels,
Up/Down recall earlier questions, Shift+Enter is a new line. The text wraps and the box grows (desktop/askfield.py);
the hint is a placeholder inside it; the status chip under it (`chip()`, read at each open) says whether the
LLM and which voice are ready. Clicking elsewhere closes it unless something is typed. Asking by voice:
`listen(t, on_enter, on_cancel)`, then `show_text` (heard so far), `finish` (asked: hide) or `note` (why not).
Title TITLE, so tests and window managers find it; it keeps a thin title bar: X11 window managers give no
keyboard focus to a window without one, and Windows' foreground rules need a real top-level window.

Tk is only touched on its own thread: other threads queue requests and wake it through a loopback connection
that Tcl watches (desktop/tkwake.py), so nothing polls while the box waits.
"""

from __future__ import annotations

import gc
import logging
import queue
import sys
import threading
import time
from collections.abc import Callable
from concurrent.futures import Future
from typing import Any, TypeVar

from daemon.desktop.askfield import QuestionField
from daemon.desktop.placement import force_foreground, monitor_of, place
from daemon.desktop.tkwake import TkWaker
from daemon.errors import VoxTrayError

log = logging.getLogger(__name__)

TITLE = "VoxTray — Ask"
POLL_MS, REST_POLL_MS = 20, 200  # only without a waker (see _start_waking)
HISTORY_MAX = 50
WIDTH = 480
HINT = "Ask anything… (Enter asks, Esc cancels)"
CHIP_FG = "#5e5c64"
LISTEN_NOTE = "Listening… speak now (Enter or a pause sends, Esc cancels)"
_CONTROL = 0x0004  # Tk event.state: Control held (the same bit on X11 and Windows)


class PromptError(VoxTrayError):
    """The question box cannot open (no display / Tk missing)."""


Submit = Callable[[str, "float | None"], None]
T = TypeVar("T")

_shared: QuestionBox | None = None  # the running box: other dialogs use its Tk thread (one Tk per process)


def shared_box() -> QuestionBox | None:
    """The question box whose Tk thread other dialogs must use, if one runs."""
    return _shared


class QuestionBox:
    """The question box; every public method is safe to call from any thread."""

    def __init__(self, on_submit: Submit, *, history: list[str] | None = None,
                 chip: Callable[[], str] | None = None) -> None:
        """`chip()`: the status line under the question (e.g. "LLM ready · cloned voice"), read at each open."""
        self.on_submit = on_submit
        self.chip = chip
        self.history: list[str] = list(history or [])[-HISTORY_MAX:]
        self._requests: queue.Queue[tuple[str, Any]] = queue.Queue()
        self._thread: threading.Thread | None = None
        self._ready = threading.Event()
        self._error: str | None = None
        self._visible = threading.Event()
        self._t_hotkey: float | None = None
        self._cursor = 0  # index into history while browsing with Up/Down
        self._draft = ""
        self._tk: Any = None
        self._entry: Any = None
        self._label: Any = None
        self._field: Any = None
        self._shown_at = 0.0
        self._waker: TkWaker | None = None
        self._listening: tuple[Callable[[], None], Callable[[], None]] | None = None  # (on_enter, on_cancel)

    # ---- public (any thread) -----------------------------------------------------------------------
    def start(self, timeout: float = 10.0) -> None:
        if self._thread is not None:
            return
        self._thread = threading.Thread(target=self._run, name="question-box", daemon=True)
        self._thread.start()
        if not self._ready.wait(timeout):
            raise PromptError("the question box did not start in time (Tk is not answering).")
        if self._error:
            self._thread = None
            raise PromptError(self._error)

    def open(self, t_hotkey: float | None = None) -> None:
        """Show the box (or bring it back to the front); `t_hotkey` defaults to now."""
        self._post("open", time.monotonic() if t_hotkey is None else t_hotkey)

    def hide(self) -> None:
        self._post("hide", None)

    def listen(self, t_hotkey: float | None, on_enter: Callable[[], None], on_cancel: Callable[[], None],
               note: str = LISTEN_NOTE) -> None:
        """Show the box for a spoken question: Enter calls on_enter, Esc on_cancel (on the Tk thread)."""
        self._post("listen", (time.monotonic() if t_hotkey is None else t_hotkey, on_enter, on_cancel, note))

    def show_text(self, text: str) -> None:
        """Show what was heard so far (while listening)."""
        self._post("text", text)

    def note(self, text: str) -> None:
        """Stop listening and say why in the box, which stays open as the typed box."""
        self._post("note", text)

    def finish(self, question: str) -> None:
        """The spoken question was asked: keep it in the history and hide the box."""
        self._post("finish", question)

    @property
    def is_open(self) -> bool:
        return self._visible.is_set()

    def stop(self) -> None:
        global _shared
        if self._thread is None:
            return
        if _shared is self:
            _shared = None
        self._post("quit", None)
        self._thread.join(timeout=3.0)
        self._thread = None

    def call(self, fn: Callable[[Any], T], timeout: float | None = None) -> T:
        """Run `fn(root)` on the Tk thread (e.g. a file dialog parented to the box's Tk) and return its result."""
        future: Future[T] = Future()
        self._post("call", (fn, future))
        return future.result(timeout)

    def _post(self, verb: str, arg: Any) -> None:
        """Queue a request for the Tk thread and wake it."""
        self._requests.put((verb, arg))
        waker = self._waker
        if waker is not None:
            waker.wake()  # (before Tk is up, _run looks at the queue once it is)

    # ---- Tk thread ---------------------------------------------------------------------------------
    def _run(self) -> None:
        try:
            import tkinter as tk

            root = tk.Tk(className="voxtray")
        except Exception as exc:  # ImportError, TclError (no display)
            self._error = (f"the question box cannot open a window ({exc}); it needs a desktop session"
                           " (and on Linux the python3-tk package).")
            self._ready.set()
            return
        self._tk = root
        global _shared
        try:
            self._build(root, tk)
            _shared = self
            self._ready.set()
            self._start_waking(root)
            root.mainloop()
        finally:
            self._visible.clear()
            try:
                root.destroy()
            except Exception:
                pass
            self._stop_waking(root)
            # Tcl objects must die on the thread that made them: drop every reference and collect here.
            self._tk = self._entry = self._label = self._field = None
            del root
            gc.collect()

    def _start_waking(self, root: Any) -> None:
        """Requests wake the Tk thread at once (desktop/tkwake.py); nothing polls while the box waits."""
        try:
            self._waker = TkWaker(root, self._poll)
        except Exception as exc:  # no loopback socket (very locked-down machine): look at the queue regularly
            log.warning("the question box polls its requests (%s)", exc)
        root.after_idle(self._poll)  # anything queued before Tk was up

    def _stop_waking(self, root: Any) -> None:
        waker, self._waker = self._waker, None
        if waker is not None:
            waker.close()

    def _build(self, root: Any, tk: Any) -> None:
        root.withdraw()
        root.title(TITLE)
        root.resizable(False, False)
        root.attributes("-topmost", True)
        if sys.platform == "win32":
            root.attributes("-toolwindow", True)  # a thin title bar: no minimise/maximise, no taskbar button
        else:
            try:
                root.attributes("-type", "dialog")
            except Exception:
                log.debug("no window type for the question box", exc_info=True)
        root.protocol("WM_DELETE_WINDOW", self._cancel)
        frame = tk.Frame(root, padx=10, pady=8)
        frame.pack(fill="both", expand=True)
        field = self._field = QuestionField(frame, tk, HINT)
        entry = field.widget
        entry.pack(fill="x")
        entry.bind("<Return>", self._enter)
        entry.bind("<KP_Enter>", self._enter)
        entry.bind("<Shift-Return>", lambda _e: None)  # Text's own: a new line
        entry.bind("<Escape>", lambda _e: self._cancel())
        entry.bind("<Up>", lambda _e: self._browse(-1))
        entry.bind("<Down>", lambda _e: self._browse(+1))
        root.bind("<FocusOut>", self._focus_out, add="+")
        self._entry = entry
        label = tk.Label(frame, text="", anchor="w", font=("TkDefaultFont", 9), fg=CHIP_FG, justify="left",
                         wraplength=int(WIDTH * 0.9))
        label.pack(fill="x", pady=(6, 0))
        self._label = label

    def _focus_out(self, _event: Any) -> None:
        """Clicked elsewhere: close soon, unless the focus is back in the box by then, something is typed or a
        question is being heard."""
        root = self._tk
        if root is not None:
            root.after(150, self._close_if_left)

    def _close_if_left(self) -> None:
        root = self._tk
        if root is None or not self._visible.is_set() or self._listening is not None or self._field.text().strip():
            return
        settle = self._shown_at + 0.4 - time.monotonic()
        if settle > 0:  # just opened: a FocusOut from the last hide may still be arriving; look again then
            root.after(int(settle * 1000) + 1, self._close_if_left)
            return
        if root.focus_get() is None:  # the keyboard is in another program
            log.debug("question box left empty: closing")
            self._hide()

    def _poll(self) -> None:
        root = self._tk
        while True:
            try:
                verb, arg = self._requests.get_nowait()
            except queue.Empty:
                break
            if verb == "open":
                self._listening = None
                self._show(arg)
            elif verb == "listen":
                t_hotkey, on_enter, on_cancel, note = arg
                self._listening = (on_enter, on_cancel)
                self._show(t_hotkey, note, clear=True)
            elif verb == "text":
                if self._listening is not None and self._entry is not None:
                    self._field.set(arg)
            elif verb == "note":
                self._listening = None
                if self._label is not None:
                    self._label.configure(text=arg)
            elif verb == "finish":
                self._listening = None
                self._remember(arg)
                self._hide()
            elif verb == "hide":
                self._hide()
            elif verb == "call":
                fn, future = arg  # type: ignore[misc]
                try:
                    future.set_result(fn(root))
                except BaseException as exc:
                    future.set_exception(exc)
            elif verb == "quit":
                root.quit()
                return
        if self._waker is None:  # no waker: poll, quickly only while the box is open
            root.after(POLL_MS if self._visible.is_set() else REST_POLL_MS, self._poll)

    def _show(self, t_hotkey: float | None, note: str = "", clear: bool = False) -> None:
        root = self._tk
        self._t_hotkey = t_hotkey
        self._cursor = len(self.history)
        self._shown_at = time.monotonic()
        self._label.configure(text=note or self._chip())
        if clear or not self._visible.is_set():
            self._field.set("")
        if not self._visible.is_set():
            pointer = root.winfo_pointerxy()
            scale = max(1.0, root.winfo_fpixels("1i") / 96.0)  # 125-200 % displays (the process is DPI aware)
            w, h = int(WIDTH * scale), int(96 * scale)
            screen = (0, 0, root.winfo_screenwidth(), root.winfo_screenheight())
            x, y = place(pointer, monitor_of(pointer, screen), (w, h))
            root.geometry(f"+{x}+{y}")  # "+-1200" is valid: a monitor left of the primary; the size follows the text
            root.deiconify()
        root.lift()
        root.attributes("-topmost", True)
        self._entry.focus_force()
        self._visible.set()
        root.after(30, self._grab_focus)

    def _chip(self) -> str:
        try:
            return self.chip() if self.chip is not None else ""
        except Exception:
            log.exception("the question box's status line failed")
            return ""

    def _grab_focus(self) -> None:
        """Windows refuses focus to background processes unless asked this way."""
        root, entry = self._tk, self._entry
        if root is None or not self._visible.is_set():
            return
        if sys.platform == "win32":
            try:
                if not force_foreground(int(root.wm_frame(), 16)):
                    log.debug("the question box could not take the foreground")
            except Exception:
                log.debug("taking the foreground failed", exc_info=True)
        entry.focus_force()

    def _hide(self) -> None:
        if self._tk is not None:
            self._tk.withdraw()
        self._visible.clear()

    def _cancel(self) -> None:
        log.debug("question box cancelled")
        listening, self._listening = self._listening, None
        self._hide()
        if listening is not None:
            listening[1]()

    def _enter(self, event: Any) -> str | None:
        if getattr(event, "state", 0) & _CONTROL:  # a held talk combo (ctrl+alt+enter) repeating: not an Enter
            return "break"
        if self._listening is not None:
            self._listening[0]()
            return "break"
        self._submit()
        return "break"  # (Text would add a new line)

    def _remember(self, question: str) -> None:
        if question and (not self.history or self.history[-1] != question):
            self.history.append(question)
            del self.history[:-HISTORY_MAX]

    def _submit(self) -> None:
        question = self._field.text().strip()
        if not question:
            return
        self._remember(question)
        self._hide()
        try:
            self.on_submit(question, self._t_hotkey)
        except Exception:
            log.exception("asking the question failed")

    def _browse(self, step: int) -> str:
        """Up/Down: the previous/next question asked (instead of moving between wrapped lines)."""
        if not self.history:
            return "break"
        if self._cursor == len(self.history):
            self._draft = self._field.text()
        self._cursor = max(0, min(len(self.history), self._cursor + step))
        self._field.set(self.history[self._cursor] if self._cursor < len(self.history) else self._draft)
        return "break"
