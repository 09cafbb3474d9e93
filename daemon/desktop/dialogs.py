"""Small Tk dialogs the tray opens: pick a voice file, get the cloned voice's model (licence + download, or a
model folder), and the set-up report (the LLM's window is desktop/llm_dialog.py). Each runs on the question box's
Tk thread when it runs (one Tk per process) and blocks its caller until closed, so callers run them off the tray's
thread.

Window titles are constants so tests (xdotool) and window managers can find them.
"""

from __future__ import annotations

import gc
import logging
import queue
import sys
import threading
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

from daemon.download.manifest import GET_MODEL

log = logging.getLogger(__name__)

T = TypeVar("T")
AUDIO_TYPES = [("Audio", "*.wav *.mp3 *.flac *.ogg *.m4a *.opus"), ("All files", "*.*")]
MODEL_TITLE = GET_MODEL
REPORT_TITLE = "VoxTray — Check set-up"
PICK_TITLE = "Pick the folder holding XTTS v2 (config.json, model.pth, vocab.json)"
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
        from tkinter import filedialog, messagebox

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
            chosen = filedialog.askdirectory(parent=win, title=PICK_TITLE, mustexist=True)
            if not chosen:
                return
            problems = validate(Path(chosen))
            if problems:
                messagebox.showerror(MODEL_TITLE, f"{chosen} is not an XTTS v2 model folder:\n\n"
                                     + "\n".join(problems), parent=win)
                return
            finish(("folder", Path(chosen)))

        accept = tk.Button(buttons, text="Accept and download", default="active", underline=0,
                           command=lambda: finish(("accept", None)))
        accept.pack(side="left")
        tk.Button(buttons, text="Use a model folder…", underline=0, command=pick_folder).pack(side="left", padx=8)
        tk.Button(buttons, text="Cancel", underline=0, command=lambda: finish(None)).pack(side="right")
        win.bind("<Return>", lambda _e: finish(("accept", None)))
        win.bind("<Escape>", lambda _e: finish(None))
        win.bind("<Alt-a>", lambda _e: finish(("accept", None)))  # the underlined letters
        win.bind("<Alt-u>", lambda _e: pick_folder())
        win.bind("<Alt-c>", lambda _e: finish(None))
        win.protocol("WM_DELETE_WINDOW", lambda: finish(None))
        win.lift()
        accept.focus_force()
        win.wait_window()
        return result[0]

    return with_tk(dialog)


Report = list[tuple[str, str, str, str]]  # (name, state "ok"/"warn"/"FAIL", detail, fix)
MARKS = {"ok": "✔", "warn": "!", "FAIL": "✖", "skip": "–"}


def show_setup_report(run: Callable[[], Report]) -> None:
    """"Check set-up…": a window that says "Checking…", runs `run` on a worker thread (never on Tk's), then lists
    each check with its fix; "Check again" re-runs it. Blocks until the window is closed."""

    def dialog(parent: Any) -> None:
        import tkinter as tk

        win = tk.Toplevel(parent)
        win.title(REPORT_TITLE)
        win.attributes("-topmost", True)
        text = tk.Text(win, width=88, height=22, wrap="word", padx=10, pady=8)
        text.tag_configure("FAIL", foreground="#c01c28")
        text.tag_configure("warn", foreground="#9c6a00")
        text.tag_configure("fix", lmargin1=28, lmargin2=28)
        text.pack(fill="both", expand=True)
        buttons = tk.Frame(win, pady=6)
        buttons.pack(fill="x")
        results: queue.SimpleQueue[Report | str] = queue.SimpleQueue()

        def show(lines: list[tuple[str, str]]) -> None:
            text.configure(state="normal")
            text.delete("1.0", "end")
            for line, tag in lines:
                text.insert("end", line + "\n", tag)
            text.configure(state="disabled")

        def check() -> None:
            show([("Checking the set-up…", "")])

            def work() -> None:
                try:
                    results.put(run())
                except Exception as exc:  # the report says it; the worker never dies silently
                    log.exception("the set-up check failed")
                    results.put(f"The check itself failed ({type(exc).__name__}: {exc}); see Open log.")

            threading.Thread(target=work, name="setup-check", daemon=True).start()
            win.after(100, poll)

        def poll() -> None:
            try:
                got = results.get_nowait()
            except queue.Empty:
                win.after(100, poll)
                return
            show(report_lines(got) if isinstance(got, list) else [(got, "FAIL")])

        tk.Button(buttons, text="Check again", command=check).pack(side="left", padx=8)
        tk.Button(buttons, text="Close", command=win.destroy).pack(side="right", padx=8)
        win.bind("<Escape>", lambda _e: win.destroy())
        check()
        win.lift()
        win.focus_force()  # opened from the tray: it comes to the front and takes the keyboard
        win.wait_window()

    with_tk(dialog)


def report_lines(report: Report) -> list[tuple[str, str]]:
    """(line, tag) pairs: each check with its mark, and its fix under it when it is not ok."""
    lines: list[tuple[str, str]] = []
    for name, state, detail, fix in report:
        lines.append((f"{MARKS.get(state, '?')} {name}: {detail}", state if state != "ok" else ""))
        if fix and state != "ok":
            lines.append((f"→ {fix}", "fix"))
    fails = sum(state == "FAIL" for _n, state, _d, _f in report)
    warns = sum(state == "warn" for _n, state, _d, _f in report)
    lines.append(("", ""))
    lines.append(("Everything needed works." if not fails and not warns
                  else f"{fails} problem(s), {warns} warning(s).", ""))
    return lines
