"""The question box: a small always-on-top Tk text box near the mouse pointer, on its own thread.

    box = QuestionBox(on_submit=lambda question, t_hotkey: assistant.ask(question, t_hotkey=t_hotkey))
    box.start()            # starts the Tk thread; raises PromptError when no display can be opened
    box.open()             # any thread: show (or re-focus) the box; the hotkey's time is passed to on_submit
    box.hide()             # any thread
    box.stop()

Listening (asking by voice): `box.listen(t, on_enter, on_cancel)` shows the box with LISTEN_NOTE; then
`box.show_text(text)` shows what was heard so far, `box.finish(text)` keeps the question in the history and hides
the box, `box.note(text)` says why nothing was asked (the box then works as the typed box). While listening,
Enter calls `on_enter` (send now) and Esc calls `on_cancel`.

Enter asks (the box hides and `on_submit(question, t_hotkey)` runs on the Tk thread: keep it quick), Esc
cancels, Up/Down walk through earlier questions. The window title is TITLE ("VoxTray — Ask"), so tests and
window managers can find it. Tk is only ever touched from its own thread: other threads post requests to a
queue that the Tk thread polls every POLL_MS.
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

from daemon.errors import VoxTrayError

log = logging.getLogger(__name__)

TITLE = "VoxTray — Ask"
POLL_MS = 20
HISTORY_MAX = 50
WIDTH = 460
HINT = "Ask (Enter to ask, Esc to cancel, Up for earlier questions)"
LISTEN_NOTE = "Listening… speak now (Enter or a pause sends, Esc cancels)"
_CONTROL = 0x0004  # Tk event.state: Control held (the same bit on X11 and Windows)


class PromptError(VoxTrayError):
    """The question box cannot open (no display / Tk missing)."""


Submit = Callable[[str, "float | None"], None]
T = TypeVar("T")
Rect = tuple[int, int, int, int]  # left, top, right, bottom

_shared: QuestionBox | None = None  # the running box: other dialogs use its Tk thread (one Tk per process)


def shared_box() -> QuestionBox | None:
    """The question box whose Tk thread other dialogs must use, if one runs."""
    return _shared


def place(pointer: tuple[int, int], monitor: Rect, size: tuple[int, int], gap: int = 16) -> tuple[int, int]:
    """Top-left corner for a box of `size` just below the pointer, kept inside the pointer's monitor (whose
    coordinates may be negative: a monitor left of or above the primary one)."""
    (px, py), (left, top, right, bottom), (w, h) = pointer, monitor, size
    x = max(left, min(px - w // 2, right - w))
    y = max(top, min(py + gap, bottom - h))
    return x, y


def monitor_of(point: tuple[int, int], fallback: Rect) -> Rect:
    """The work area of the monitor under `point` (Windows; elsewhere `fallback`, the whole screen)."""
    if sys.platform != "win32":
        return fallback
    import ctypes
    from ctypes import wintypes

    class MONITORINFO(ctypes.Structure):
        _fields_ = [("cbSize", wintypes.DWORD), ("rcMonitor", wintypes.RECT), ("rcWork", wintypes.RECT),
                    ("dwFlags", wintypes.DWORD)]

    user32 = ctypes.windll.user32
    user32.MonitorFromPoint.restype = wintypes.HMONITOR
    user32.MonitorFromPoint.argtypes = [wintypes.POINT, wintypes.DWORD]
    user32.GetMonitorInfoW.argtypes = [wintypes.HMONITOR, ctypes.POINTER(MONITORINFO)]
    monitor = user32.MonitorFromPoint(wintypes.POINT(*point), 2)  # MONITOR_DEFAULTTONEAREST
    info = MONITORINFO(cbSize=ctypes.sizeof(MONITORINFO))
    if not monitor or not user32.GetMonitorInfoW(monitor, ctypes.byref(info)):
        return fallback
    work = info.rcWork
    return work.left, work.top, work.right, work.bottom


def force_foreground(hwnd: int) -> bool:
    """Bring `hwnd` to the foreground with keyboard focus, even when another program's window has it: Windows
    only lets the foreground thread do that, so join its input queue for the moment of the switch."""
    if sys.platform != "win32":
        return False
    import ctypes

    user32, kernel32 = ctypes.windll.user32, ctypes.windll.kernel32
    foreground = user32.GetForegroundWindow()
    if foreground == hwnd:
        return True
    ours = kernel32.GetCurrentThreadId()
    theirs = user32.GetWindowThreadProcessId(foreground, None) if foreground else 0
    attached = bool(theirs and theirs != ours and user32.AttachThreadInput(ours, theirs, True))
    try:
        user32.ShowWindow(hwnd, 5)  # SW_SHOW
        user32.BringWindowToTop(hwnd)
        ok = bool(user32.SetForegroundWindow(hwnd))
        user32.SetFocus(hwnd)
    finally:
        if attached:
            user32.AttachThreadInput(ours, theirs, False)
    return ok


class QuestionBox:
    """The question box; every public method is safe to call from any thread."""

    def __init__(self, on_submit: Submit, *, history: list[str] | None = None) -> None:
        self.on_submit = on_submit
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
        self._requests.put(("open", time.monotonic() if t_hotkey is None else t_hotkey))

    def hide(self) -> None:
        self._requests.put(("hide", None))

    def listen(self, t_hotkey: float | None, on_enter: Callable[[], None], on_cancel: Callable[[], None],
               note: str = LISTEN_NOTE) -> None:
        """Show the box for a spoken question: Enter calls on_enter, Esc on_cancel (on the Tk thread)."""
        self._requests.put(("listen", (time.monotonic() if t_hotkey is None else t_hotkey, on_enter, on_cancel,
                                       note)))

    def show_text(self, text: str) -> None:
        """Show what was heard so far (while listening)."""
        self._requests.put(("text", text))

    def note(self, text: str) -> None:
        """Stop listening and say why in the box, which stays open as the typed box."""
        self._requests.put(("note", text))

    def finish(self, question: str) -> None:
        """The spoken question was asked: keep it in the history and hide the box."""
        self._requests.put(("finish", question))

    @property
    def is_open(self) -> bool:
        return self._visible.is_set()

    def stop(self) -> None:
        global _shared
        if self._thread is None:
            return
        if _shared is self:
            _shared = None
        self._requests.put(("quit", None))
        self._thread.join(timeout=3.0)
        self._thread = None

    def call(self, fn: Callable[[Any], T], timeout: float | None = None) -> T:
        """Run `fn(root)` on the Tk thread (e.g. a file dialog parented to the box's Tk) and return its result."""
        future: Future[T] = Future()
        self._requests.put(("call", (fn, future)))  # type: ignore[arg-type]
        return future.result(timeout)

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
            root.after(POLL_MS, self._poll)
            root.mainloop()
        finally:
            self._visible.clear()
            try:
                root.destroy()
            except Exception:
                pass
            # Tcl objects must die on the thread that made them: drop every reference and collect here.
            self._tk = self._entry = self._label = None
            del root
            gc.collect()

    def _build(self, root: Any, tk: Any) -> None:
        root.withdraw()
        root.title(TITLE)
        root.resizable(False, False)
        root.attributes("-topmost", True)
        root.protocol("WM_DELETE_WINDOW", self._cancel)
        frame = tk.Frame(root, padx=10, pady=8)
        frame.pack(fill="both", expand=True)
        label = tk.Label(frame, text=HINT, anchor="w", font=("TkDefaultFont", 9))
        label.pack(fill="x")
        self._label = label
        entry = tk.Entry(frame, font=("TkDefaultFont", 13), width=40)
        entry.pack(fill="x", pady=(4, 0))
        entry.bind("<Return>", self._enter)
        entry.bind("<KP_Enter>", self._enter)
        entry.bind("<Escape>", lambda _e: self._cancel())
        entry.bind("<Up>", lambda _e: self._browse(-1))
        entry.bind("<Down>", lambda _e: self._browse(+1))
        self._entry = entry

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
                    self._entry.delete(0, "end")
                    self._entry.insert(0, arg)
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
        root.after(POLL_MS, self._poll)

    def _show(self, t_hotkey: float | None, note: str = HINT, clear: bool = False) -> None:
        root, entry = self._tk, self._entry
        self._t_hotkey = t_hotkey
        self._cursor = len(self.history)
        self._label.configure(text=note)
        if clear:
            entry.delete(0, "end")
        if not self._visible.is_set():
            entry.delete(0, "end")
            pointer = root.winfo_pointerxy()
            scale = max(1.0, root.winfo_fpixels("1i") / 96.0)  # 125-200 % displays (the process is DPI aware)
            w, h = int(WIDTH * scale), int(72 * scale)
            screen = (0, 0, root.winfo_screenwidth(), root.winfo_screenheight())
            x, y = place(pointer, monitor_of(pointer, screen), (w, h))
            root.geometry(f"{w}x{h}+{x}+{y}")  # "+-1200" is valid: a monitor left of the primary
            root.deiconify()
        root.lift()
        root.attributes("-topmost", True)
        entry.focus_force()
        self._visible.set()
        root.after(30, self._grab_focus)

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
        return None

    def _remember(self, question: str) -> None:
        if question and (not self.history or self.history[-1] != question):
            self.history.append(question)
            del self.history[:-HISTORY_MAX]

    def _submit(self) -> None:
        question = self._entry.get().strip()
        if not question:
            return
        self._remember(question)
        self._hide()
        try:
            self.on_submit(question, self._t_hotkey)
        except Exception:
            log.exception("asking the question failed")

    def _browse(self, step: int) -> None:
        if not self.history:
            return
        entry = self._entry
        if self._cursor == len(self.history):
            self._draft = entry.get()
        self._cursor = max(0, min(len(self.history), self._cursor + step))
        text = self.history[self._cursor] if self._cursor < len(self.history) else self._draft
        entry.delete(0, "end")
        entry.insert(0, text)
        entry.icursor("end")
