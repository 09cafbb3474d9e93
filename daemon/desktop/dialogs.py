"""Small Tk dialogs the tray opens: pick a voice file, get the cloned voice's model (licence + download, or a
model folder); the helpers every window shares (with_tk, centre, one title style). The LLM's window is
desktop/llm_dialog.py, the set-up check desktop/setup_report.py. Each runs on the question box's Tk thread when it
runs (one Tk per process) and blocks its caller until closed, so callers run them off the tray's thread.

Window titles are constants so tests (xdotool) and window managers can find them.
"""

from __future__ import annotations

import gc
import logging
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

from daemon.download.manifest import GET_MODEL

log = logging.getLogger(__name__)

T = TypeVar("T")
AUDIO_TYPES = [("Audio", "*.wav *.mp3 *.flac *.ogg *.m4a *.opus"), ("All files", "*.*")]
TITLE_PREFIX = "VoxTray — "  # one title style for every window VoxTray opens
MODEL_TITLE = TITLE_PREFIX + GET_MODEL
PICK_TITLE = TITLE_PREFIX + "Pick the folder holding XTTS v2 (config.json, model.pth, vocab.json)"
WRAP = "345p"  # in points: Tk scales them with the screen's DPI (pixels would make it narrow at 150 %)


def with_tk(fn: Callable[[Any], T]) -> T:
    """Run `fn(parent)` with a hidden Tk parent window: on the question box's Tk thread when it runs (one Tk per
    process: a second Tk interpreter on another thread breaks both on Windows), else in a private Tk here."""
    from daemon.desktop.prompt import shared_box

    def dialog(root: Any) -> T:
        import tkinter

        parent = tkinter.Toplevel(root)
        parent.withdraw()
        try:
            parent.attributes("-topmost", True)
            return fn(parent)
        finally:
            parent.destroy()

    box = shared_box()
    if box is not None:
        return box.call(dialog)
    import tkinter

    root = tkinter.Tk()
    root.withdraw()
    try:
        return dialog(root)
    finally:
        root.destroy()
        # Tcl objects must die on the thread that made them (else "Tcl_AsyncDelete: async handler deleted by the
        # wrong thread" ends the process later, on whichever thread collects them): drop them and collect here.
        del root
        if sys.platform == "win32":  # (only there: on Linux a full collection on this thread could run PyGObject
            gc.collect()             # finalizers of the GTK tray's objects here and hang the dialog's thread)


def centre(win: Any) -> None:
    """Place a Tk window in the middle of the screen the pointer is on (the screen the user is looking at)."""
    win.withdraw()  # placed before it is shown: never seen at the corner first
    win.update_idletasks()
    width, height = win.winfo_reqwidth(), win.winfo_reqheight()
    screen_w, screen_h = win.winfo_screenwidth(), win.winfo_screenheight()
    x = max(0, (screen_w - width) // 2)
    y = max(0, (screen_h - height) // 3)  # a little above the middle, as dialogs sit
    win.geometry(f"+{x}+{y}")
    win.deiconify()


def ask_folder(parent: Any, title: str) -> str:
    """A folder picker that opens in the home folder with hidden folders hidden (Windows: the native one)."""
    from tkinter import filedialog

    try:  # Tk's own picker on X11: hidden folders (.cache, .config…) off, and no toggle clutter
        parent.tk.call("set", "::tk::dialog::file::showHiddenVar", "0")
        parent.tk.call("set", "::tk::dialog::file::showHiddenBtn", "1")
    except Exception:  # not loaded yet on some Tk builds: harmless
        log.debug("could not hide hidden folders in the picker", exc_info=True)
    return str(filedialog.askdirectory(parent=parent, title=title, mustexist=True, initialdir=str(Path.home())))


def pick_audio_file() -> Path | None:
    """Ask for an audio file with Tk's native dialog."""
    from tkinter import filedialog

    chosen = with_tk(lambda parent: filedialog.askopenfilename(
        parent=parent, title="Add a voice (10-20 s of clean speech)", filetypes=AUDIO_TYPES))
    return Path(chosen) if chosen else None


@dataclass(frozen=True)
class ModelOffer:
    """What the model dialog tells before anything is downloaded."""

    size_text: str  # e.g. "about 1.9 GB"
    folder: Path  # where it will be stored
    free_text: str  # e.g. "120 GB free there"
    license_name: str
    license_url: str
    license_summary: str


ModelChoice = tuple[str, Path | None]  # ("accept", None) | ("folder", path); None = cancelled


def ask_model_choice(offer: ModelOffer, validate: Callable[[Path], list[str]],
                     open_link: Callable[[str], None]) -> ModelChoice | None:
    """The first-run dialog: what will be downloaded, the licence in one paragraph with its link, and
    Accept and download / Use a model folder… / Cancel. A picked folder is validated here (problems shown, the
    dialog stays open)."""

    def dialog(parent: Any) -> ModelChoice | None:
        import tkinter as tk
        from tkinter import messagebox

        result: list[ModelChoice | None] = [None]
        win = tk.Toplevel(parent)
        win.title(MODEL_TITLE)
        win.resizable(False, False)
        win.attributes("-topmost", True)
        body = tk.Frame(win, padx=16, pady=12)
        body.pack(fill="both")
        tk.Label(body, text="Speak in your cloned voice", font=("TkDefaultFont", 12, "bold")).pack(anchor="w")
        tk.Label(body, justify="left", wraplength=WRAP, text=(
            f"VoxTray clones voices with Coqui XTTS v2. It needs a one-time download of {offer.size_text}, "
            f"stored in {offer.folder} ({offer.free_text}). The download runs in the background (progress in the "
            "tray icon's tooltip and menu), resumes after a network drop or a restart, and is checked before use."
        )).pack(anchor="w", pady=(6, 10))
        tk.Label(body, text=f"Licence: {offer.license_name}", font=("TkDefaultFont", 10, "bold")).pack(anchor="w")
        tk.Label(body, justify="left", wraplength=WRAP, text=offer.license_summary).pack(anchor="w", pady=(2, 2))
        link = tk.Label(body, text=offer.license_url, fg="#1a5fb4", cursor="hand2",
                        font=("TkDefaultFont", 9, "underline"))
        link.pack(anchor="w")
        def follow(_event: object) -> None:
            try:
                open_link(offer.license_url)
            except Exception as exc:  # no browser: say where to read it instead of failing silently
                log.warning("could not open %s: %s", offer.license_url, exc)
                messagebox.showinfo(MODEL_TITLE, f"No web browser could be opened here. The licence is at\n\n"
                                    f"{offer.license_url}", parent=win)

        link.bind("<Button-1>", follow)
        buttons = tk.Frame(body, pady=12)
        buttons.pack(fill="x")

        def finish(choice: ModelChoice | None) -> None:
            result[0] = choice
            win.destroy()

        def pick_folder() -> None:
            chosen = ask_folder(win, PICK_TITLE)
            if not chosen:
                return
            problems = validate(Path(chosen))
            if problems:
                messagebox.showerror(MODEL_TITLE, f"{chosen} is not an XTTS v2 model folder:\n\n"
                                     + "\n".join(problems), parent=win)
                return
            finish(("folder", Path(chosen)))

        # The safe choice is the default: Enter on a freshly opened dialog cancels, so a stray key never accepts a
        # licence and starts a 1.9 GB download. Enter runs the button that has the focus (Tab moves it).
        accept = tk.Button(buttons, text="Accept and download", underline=0, command=lambda: finish(("accept", None)))
        accept.pack(side="left")
        folder = tk.Button(buttons, text="Use a model folder…", underline=0, command=pick_folder)
        folder.pack(side="left", padx=8)
        cancel = tk.Button(buttons, text="Cancel", underline=0, default="active", command=lambda: finish(None))
        cancel.pack(side="right")
        def mark(focused: Any) -> None:  # the ring shows which button Enter runs
            for button in (accept, folder, cancel):
                button.configure(default="active" if button is focused else "normal")

        for button in (accept, folder, cancel):
            button.bind("<Return>", lambda _e, b=button: b.invoke())  # type: ignore[misc]
            button.bind("<FocusIn>", lambda _e, b=button: mark(b))  # type: ignore[misc]
        win.bind("<Escape>", lambda _e: finish(None))
        win.bind("<Alt-a>", lambda _e: finish(("accept", None)))  # the underlined letters
        win.bind("<Alt-u>", lambda _e: pick_folder())
        win.bind("<Alt-c>", lambda _e: finish(None))
        win.protocol("WM_DELETE_WINDOW", lambda: finish(None))
        centre(win)
        win.lift()
        cancel.focus_force()
        win.wait_window()
        return result[0]

    return with_tk(dialog)
