"""The tray's "Set up the LLM…" window: server address, token and model, with Test / Save / Cancel.

    ask_llm_setup(actions)     # blocks until closed; actions: LLMSetupActions (daemon/commands.py implements it)

The address is a plain URL (Ollama http://localhost:11434, OpenAI-compatible http://HOST:8080/v1) or a pasted
voxtray://connect?... line, which fills the URL, token and model. Test probes on a worker thread (never on Tk's:
the window keeps answering) and shows "Checking…", then the result or the error in red, inside the window, with
everything typed kept; it fills the model list. Save probes first unless these values were just tested, saves,
and closes; on failure it stays open with the error. Cancel (the default button, also Esc or closing the window)
saves nothing. A stored token is never shown: the token field says one is kept while it is left empty.
"""

from __future__ import annotations

import logging
import queue
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Protocol

from daemon.desktop.dialogs import with_tk

log = logging.getLogger(__name__)

LLM_TITLE = "VoxTray — Set up the LLM"
WIDTH_CHARS = 46  # the entries' width in characters: scales with the font, so with the screen's DPI
WRAP = "330p"  # in points: Tk scales them with the screen's DPI
PAD = "9p"
POLL_MS = 50
ERROR_FG = "#c01c28"
OK_FG = "#1c7c3a"
CHECKING = "Checking…"
SAVING = "Saving…"
TOKEN_OPTIONAL = "Optional: only for servers that ask for an API key (the bridge link fills it)."
TOKEN_KEPT = "A token is saved for this address: leave this empty to keep it."
MODEL_HINT = "Test lists the server's models; empty = the first one it lists."


@dataclass(frozen=True)
class LLMValues:
    """What the window opens with: the saved address and model, and whether a token is stored (never the token)."""

    address: str = ""
    model: str = ""
    has_token: bool = False


@dataclass(frozen=True)
class Tested:
    """A successful probe: the line to show, the server's models, the model it answered with. `probe` is the
    daemon's own record of it, handed back to `save_llm` so a save right after a test does not probe again."""

    summary: str
    models: list[str]
    model: str
    probe: object = field(default=None, repr=False, compare=False)


class LLMSetupActions(Protocol):
    """What the window needs from the daemon; each may raise VoxTrayError whose text is shown in the window."""

    def llm_values(self) -> LLMValues: ...
    def read_llm_link(self, text: str) -> tuple[str, str, str]: ...
    def test_llm(self, address: str, token: str, model: str) -> Tested: ...
    def save_llm(self, address: str, token: str, model: str, tested: Tested | None) -> str: ...


def _sentence(exc: BaseException) -> str:
    """An error as the window shows it: the message's one sentence, capitalised; never a traceback."""
    from daemon.errors import VoxTrayError

    if isinstance(exc, VoxTrayError):
        text = str(exc).strip() or type(exc).__name__
    else:
        log.error("LLM set-up: unexpected error", exc_info=exc)
        text = f"that did not work ({type(exc).__name__}: {str(exc)[:200]}); see Open log."
    return text[:1].upper() + text[1:]


class LLMDialog:
    """The window's widgets and state; built and used on Tk's thread only. `view` is a copy of what it shows,
    refreshed on Tk's thread, for tests and logs to read from any thread."""

    def __init__(self, parent: Any, actions: LLMSetupActions, values: LLMValues) -> None:
        import tkinter as tk
        from tkinter import ttk

        self.actions = actions
        self.values = values
        self.saved: str | None = None  # the summary once saved
        self.closed = False
        self.view: dict[str, Any] = {}
        self._tested: tuple[tuple[str, str, str], Tested] | None = None
        self._busy: str = ""  # "test" | "save" while a worker runs
        self._cancel = threading.Event()
        self._results: queue.SimpleQueue[tuple[str, tuple[str, str, str], Tested | str | BaseException]] = \
            queue.SimpleQueue()

        win = self.win = tk.Toplevel(parent)
        win.withdraw()
        win.title(LLM_TITLE)
        win.resizable(False, False)
        win.attributes("-topmost", True)
        body = ttk.Frame(win, padding=(PAD, PAD, PAD, PAD))
        body.grid(sticky="nsew")
        heading = ttk.Label(body, text="Connect VoxTray to a language model", font=("TkDefaultFont", 12, "bold"))
        heading.grid(row=0, column=0, columnspan=2, sticky="w")
        self.intro = ttk.Label(body, justify="left", wraplength=WRAP, text=(
            "Type the address of a local Ollama (http://localhost:11434) or of an OpenAI-compatible server such "
            "as llama.cpp (http://HOST:8080/v1), or paste the voxtray://connect?... line the Colab notebook "
            "printed."))
        self.intro.grid(row=1, column=0, columnspan=2, sticky="w", pady=("4p", PAD))

        self.address = tk.StringVar(win, value=self.values.address)
        self.token = tk.StringVar(win, value="")
        self.model = tk.StringVar(win, value=self.values.model)
        small = ("TkDefaultFont", 8)

        def label(row: int, text: str, under: int) -> None:  # the underlined letter is its Alt shortcut
            ttk.Label(body, text=text, underline=under).grid(row=row, column=0, sticky="e", padx=(0, "6p"),
                                                              pady="2p")

        label(2, "Server address:", 7)
        self.address_entry = ttk.Entry(body, textvariable=self.address, width=WIDTH_CHARS)
        self.address_entry.grid(row=2, column=1, sticky="ew", pady="2p")
        label(3, "Token:", 1)
        self.token_entry = ttk.Entry(body, textvariable=self.token, width=WIDTH_CHARS, show="•")
        self.token_entry.grid(row=3, column=1, sticky="ew", pady=("2p", 0))
        self.token_hint = ttk.Label(body, text=TOKEN_OPTIONAL, font=small, foreground="#5e5c64")
        self.token_hint.grid(row=4, column=1, sticky="w")
        label(5, "Model:", 0)
        self.model_box = ttk.Combobox(body, textvariable=self.model, width=WIDTH_CHARS - 2,
                                      values=[self.values.model] if self.values.model else [])
        self.model_box.grid(row=5, column=1, sticky="ew", pady=("2p", 0))
        ttk.Label(body, text=MODEL_HINT, font=small, foreground="#5e5c64").grid(row=6, column=1, sticky="w")
        self.status = ttk.Label(body, text="", justify="left", wraplength=WRAP)
        self.status.grid(row=7, column=0, columnspan=2, sticky="w", pady=(PAD, 0))
        body.columnconfigure(1, weight=1)
        self.body = body

        buttons = ttk.Frame(body)
        buttons.grid(row=8, column=0, columnspan=2, sticky="ew", pady=(PAD, 0))
        # made in the order Tab walks them (Test, Save, Cancel); packed right to left on their side
        self.test_button = ttk.Button(buttons, text="Test", underline=0, command=self.test)
        self.save_button = ttk.Button(buttons, text="Save", underline=0, command=self.save)
        self.cancel_button = ttk.Button(buttons, text="Cancel", underline=0, default="active", command=self.cancel)
        self.test_button.pack(side="left")
        self.cancel_button.pack(side="right")
        self.save_button.pack(side="right", padx=(0, "6p"))

        for button in (self.test_button, self.save_button, self.cancel_button):
            button.bind("<Return>", lambda e: e.widget.invoke())  # Enter on a focused button presses it
        for entry in (self.address_entry, self.token_entry, self.model_box):
            entry.bind("<Return>", lambda _e: self.test())  # Enter in a field tests (never saves, never closes)
        win.bind("<Escape>", lambda _e: self.cancel())
        win.bind("<Alt-t>", lambda _e: self.test())
        win.bind("<Alt-s>", lambda _e: self.save())
        win.bind("<Alt-c>", lambda _e: self.cancel())
        win.bind("<Alt-a>", lambda _e: self.address_entry.focus_set())
        win.bind("<Alt-o>", lambda _e: self.token_entry.focus_set())
        win.bind("<Alt-m>", lambda _e: self.model_box.focus_set())
        win.protocol("WM_DELETE_WINDOW", self.cancel)
        self.address_entry.bind("<<Paste>>", lambda _e: win.after_idle(self._expand_link, False))
        self.address_entry.bind("<FocusOut>", lambda _e: self._expand_link(False))
        self.address.trace_add("write", lambda *_a: self._token_hint())

        self._from_clipboard()
        self._token_hint()
        self._centre()
        win.deiconify()
        win.lift()
        self.address_entry.focus_force()  # opened from the tray: it comes to the front and takes the keyboard
        self.address_entry.icursor("end")
        self._sync()
        win.after(POLL_MS, self._poll)

    # --- what the buttons do ----------------------------------------------------------------------------------
    def test(self) -> None:
        if self._busy or not self._expand_link(True):
            return
        self._run("test")

    def save(self) -> None:
        if self._busy or not self._expand_link(True):
            return
        self._run("save")

    def cancel(self) -> None:
        self._cancel.set()
        self._close()

    # --- helpers ------------------------------------------------------------------------------------------------
    def _key(self) -> tuple[str, str, str]:
        return (self.address.get().strip(), self.token.get().strip(), self.model.get().strip())

    def _run(self, what: str) -> None:
        key = self._key()
        tested = self._tested[1] if self._tested and self._tested[0] == key else None
        self._busy = what
        for button in (self.test_button, self.save_button):
            button.state(["disabled"])
        self._show(SAVING if what == "save" and tested else CHECKING, "")

        def work() -> None:
            try:
                done = tested
                if done is None:
                    done = self.actions.test_llm(*key)
                    if what == "test" or self._cancel.is_set():
                        self._results.put((what, key, done))
                        return
                    self._results.put(("tested", key, done))
                if self._cancel.is_set():
                    return
                self._results.put(("saved", key, self.actions.save_llm(*key, done)))
            except BaseException as exc:  # shown in the window; the worker never dies silently
                self._results.put((what, key, exc))

        threading.Thread(target=work, name=f"llm-{what}", daemon=True).start()

    def _poll(self) -> None:
        if self.closed:
            return
        while True:
            try:
                kind, key, got = self._results.get_nowait()
            except queue.Empty:
                break
            self._result(kind, key, got)
        self._sync()
        self.win.after(POLL_MS, self._poll)

    def _result(self, kind: str, key: tuple[str, str, str], got: Tested | str | BaseException) -> None:
        if isinstance(got, BaseException):
            self._done()
            self._show(_sentence(got), ERROR_FG)
        elif isinstance(got, Tested):
            self.model_box.configure(values=got.models)
            if key == self._key():
                if not key[2]:
                    self.model.set(got.model)  # the model it answered with: a save pins it
                self._tested = (self._key(), got)
            if kind == "tested":
                self._show(f"{got.summary}. {SAVING}", OK_FG)
            else:
                self._done()
                self._show(f"Works: {got.summary}.", OK_FG)
        else:
            self.saved = got
            self._close()

    def _done(self) -> None:
        self._busy = ""
        for button in (self.test_button, self.save_button):
            button.state(["!disabled"])

    def _show(self, text: str, colour: str) -> None:
        self.status.configure(text=text, foreground=colour)
        self._sync()

    def _expand_link(self, report: bool) -> bool:
        """A voxtray:// line in the address field fills the URL, token and model; False (and the error shown when
        `report`) when it cannot be read."""
        text = self.address.get().strip()
        if not text.lower().startswith("voxtray:"):
            return True
        try:
            url, token, model = self.actions.read_llm_link(text)
        except Exception as exc:
            if report:
                self._show(_sentence(exc), ERROR_FG)
            return False
        self.address.set(url)
        self.token.set(token)
        if model:
            self.model.set(model)
        self._show("The link filled in the address, token and model: Test or Save.", "")
        return True

    def _from_clipboard(self) -> None:
        import tkinter

        try:
            clip = str(self.win.clipboard_get()).strip()
        except tkinter.TclError:
            clip = ""
        if clip.lower().startswith("voxtray://") and len(clip) < 8192:
            self.address.set(clip)
            self._expand_link(True)

    def _token_hint(self) -> None:
        same = self.address.get().strip().rstrip("/") == self.values.address.strip().rstrip("/")
        kept = self.values.has_token and same and bool(self.values.address)
        self.token_hint.configure(text=TOKEN_KEPT if kept else TOKEN_OPTIONAL)

    def _centre(self) -> None:
        """Wrap the texts at the fields' width, keep room for a three-line message (so the window does not grow
        when one shows), and put the window in the middle of the screen."""
        from tkinter import font

        win = self.win
        win.update_idletasks()
        pad = int(win.winfo_fpixels(PAD))
        width = max(self.body.winfo_reqwidth() - 2 * pad, int(win.winfo_fpixels(WRAP)))
        self.intro.configure(wraplength=width)
        self.status.configure(wraplength=width)
        lines = font.nametofont("TkDefaultFont", root=win).metrics("linespace")
        self.body.rowconfigure(7, minsize=3 * lines + pad)
        win.update_idletasks()
        w, h = win.winfo_reqwidth(), win.winfo_reqheight()
        x = max(0, (win.winfo_screenwidth() - w) // 2)
        y = max(0, (win.winfo_screenheight() - h) // 2)
        win.geometry(f"+{x}+{y}")

    def _close(self) -> None:
        if not self.closed:
            self.closed = True
            self._sync()
            self.win.destroy()

    def _sync(self) -> None:
        if self.closed:
            self.view = {**self.view, "closed": True, "saved": self.saved}
            return
        self.view = {
            "address": self.address.get(), "token_typed": bool(self.token.get()), "model": self.model.get(),
            "models": list(self.win.tk.splitlist(self.model_box.cget("values"))), "status": str(self.status.cget("text")),
            "status_colour": str(self.status.cget("foreground")), "busy": self._busy,
            "token_hint": str(self.token_hint.cget("text")), "closed": False, "saved": self.saved,
        }


def ask_llm_setup(actions: LLMSetupActions, *, on_open: Callable[[LLMDialog], None] | None = None) -> str | None:
    """Show the window and block until it is closed; the summary when saved, else None. `on_open` (tests) gets the
    LLMDialog as soon as it is shown."""
    values = actions.llm_values()  # here, not on Tk's thread: it may ask the OS keyring whether a token is stored

    def dialog(parent: Any) -> str | None:
        window = LLMDialog(parent, actions, values)
        if on_open is not None:
            on_open(window)
        window.win.wait_window()
        window.closed = True
        return window.saved

    return with_tk(dialog)
