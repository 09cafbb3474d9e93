"""The "Check set-up…" window: a checklist in everyday words with a summary, progress while it checks, and
buttons that do the fixes (get the model, set up the LLM, open the log, copy the details).

The checks themselves are daemon/doctor.py (the `doctor` CLI prints the same results as text); this module owns
how the tray shows them. `run(progress)` runs on a worker thread, never on Tk's.
"""

from __future__ import annotations

import logging
import queue
import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from daemon.desktop.dialogs import TITLE_PREFIX, centre, with_tk

log = logging.getLogger(__name__)

REPORT_TITLE = TITLE_PREFIX + "Check set-up"
Report = list[tuple[str, str, str, str]]  # (check name, state "ok"/"warn"/"FAIL"/"skip", detail, fix)
Progress = Callable[[int, int, str], None]  # (checks done, checks in all, the one starting now)
Fix = tuple[str, Callable[[], None]]  # (button label, what it does)

# The doctor's check names, as a user would say them, in the order that matters to a user.
EVERYDAY: dict[str, str] = {
    "remote LLM": "The LLM (answers)",
    "XTTS model": "Cloned voice model",
    "audio output": "Speakers",
    "microphone": "Microphone",
    "voices": "Voice clips",
    "edge-tts": "Online voice (edge-tts)",
    "hotkeys": "Hotkeys",
    "speech model": "Speech recognition",
    "GPU (NVML)": "Graphics card",
    "torch": "Cloned voice engine (torch)",
    "VC++ runtime": "Visual C++ runtime",
    "long paths": "Long paths",
    "Python": "Python",
}
MARKS = {"ok": "✔", "warn": "!", "FAIL": "✖", "skip": "–"}
COLOURS = {"ok": "#26a269", "warn": "#9c6a00", "FAIL": "#c01c28", "skip": "#77767b"}
SEVERITY = {"FAIL": 0, "warn": 1, "ok": 2, "skip": 3}


@dataclass(frozen=True)
class Row:
    name: str  # everyday name
    check: str  # the doctor's name (the key of `fixes`)
    state: str
    detail: str
    fix: str


def checklist(report: Report) -> list[Row]:
    """Problems first (failures, then warnings), each group in the order that matters to a user."""
    order = list(EVERYDAY)

    def key(item: tuple[str, str, str, str]) -> tuple[int, int]:
        name, state = item[0], item[1]
        return SEVERITY.get(state, 1), order.index(name) if name in order else len(order)

    return [Row(EVERYDAY.get(name, name), name, state, detail, fix if state != "ok" else "")
            for name, state, detail, fix in sorted(report, key=key)]


def summary(report: Report) -> str:
    """One line that says where things stand."""
    rows = checklist(report)
    fails = [r.name for r in rows if r.state == "FAIL"]
    warns = [r.name for r in rows if r.state == "warn"]
    if not fails and not warns:
        return "Everything VoxTray needs works."
    if fails:
        more = f" and {len(fails) - 1} more" if len(fails) > 1 else ""
        looks = f", {len(warns)} to look at" if warns else ""
        return f"{len(fails)} to fix ({fails[0]}{more}){looks}: start with the first one below."
    return f"VoxTray works; {len(warns)} to look at below ({', '.join(warns[:2])}{'…' if len(warns) > 2 else ''})."


def as_text(report: Report) -> str:
    """The report as plain text (Copy details): for a bug report or a forum post."""
    lines = [summary(report), ""]
    for row in checklist(report):
        lines.append(f"{MARKS.get(row.state, '?')} {row.name}: {row.detail}")
        if row.fix:
            lines.append(f"    → {row.fix}")
    return "\n".join(lines)


def show_setup_report(run: Callable[[Progress], Report], fixes: dict[str, Fix] | None = None,
                      extra: tuple[Fix, ...] = ()) -> None:
    """The window: "Checking… 3 of 12: speakers" while `run` works on a worker thread, then the summary and the
    checklist; a row whose check has an entry in `fixes` gets its button; `extra` buttons (e.g. Open log) sit
    beside Copy details / Check again / Close. Blocks until the window is closed."""
    fixes = fixes or {}

    def dialog(parent: Any) -> None:
        import tkinter as tk
        from tkinter import ttk

        win = tk.Toplevel(parent)
        win.title(REPORT_TITLE)
        win.attributes("-topmost", True)
        win.minsize(520, 200)
        outer = ttk.Frame(win, padding=(16, 12))
        outer.pack(fill="both", expand=True)
        head = ttk.Label(outer, text="Checking the set-up…", font=("TkDefaultFont", 11, "bold"), wraplength="420p",
                         justify="left")
        head.pack(anchor="w")
        bar = ttk.Progressbar(outer, mode="determinate", length=360)
        bar.pack(anchor="w", fill="x", pady=(8, 4))
        rows = ttk.Frame(outer)
        rows.pack(fill="both", expand=True, pady=(4, 8))
        buttons = ttk.Frame(outer)
        buttons.pack(fill="x")
        events: queue.SimpleQueue[tuple[str, Any]] = queue.SimpleQueue()
        last: list[Report] = [[]]

        def clear() -> None:
            for child in rows.winfo_children():
                child.destroy()

        def show(report: Report) -> None:
            last[0] = report
            clear()
            bar.pack_forget()
            head.configure(text=summary(report))
            for i, row in enumerate(checklist(report)):
                tk.Label(rows, text=MARKS.get(row.state, "?"), fg=COLOURS.get(row.state, "black"),
                         font=("TkDefaultFont", 11, "bold")).grid(row=i, column=0, sticky="nw", padx=(0, 8), pady=3)
                cell = ttk.Frame(rows)
                cell.grid(row=i, column=1, sticky="we", pady=3)
                ttk.Label(cell, text=row.name, font=("TkDefaultFont", 10, "bold")).pack(anchor="w")
                ttk.Label(cell, text=row.detail, wraplength="330p", justify="left").pack(anchor="w")
                if row.fix:
                    ttk.Label(cell, text=f"→ {row.fix}", wraplength="330p", justify="left",
                              foreground="#3d3846").pack(anchor="w")
                if row.state in ("FAIL", "warn") and row.check in fixes:
                    label, action = fixes[row.check]
                    ttk.Button(rows, text=label, command=action, underline=0).grid(row=i, column=2, sticky="ne",
                                                                                   padx=(8, 0), pady=3)
                    win.bind(f"<Alt-{label[0].lower()}>", lambda _e, a=action: a())  # type: ignore[misc]
            rows.columnconfigure(1, weight=1)
            if not placed[0]:  # grown by the results: centred again, once (never moved after the user saw it)
                placed[0] = True
                centre(win)

        def check() -> None:
            clear()
            head.configure(text="Checking the set-up…")
            bar.configure(value=0, maximum=1)
            bar.pack(anchor="w", fill="x", pady=(8, 4), before=rows)

            def progress(done: int, total: int, name: str) -> None:
                events.put(("progress", (done, total, name)))

            def work() -> None:
                try:
                    events.put(("done", run(progress)))
                except Exception as exc:  # the window says it; the worker never dies silently
                    log.exception("the set-up check failed")
                    events.put(("failed", f"The check itself failed ({type(exc).__name__}: {exc}); see Open log."))

            threading.Thread(target=work, name="setup-check", daemon=True).start()
            win.after(50, poll)

        def poll() -> None:
            while True:
                try:
                    kind, value = events.get_nowait()
                except queue.Empty:
                    win.after(50, poll)
                    return
                if kind == "progress":
                    done, total, name = value
                    bar.configure(maximum=total, value=done)
                    head.configure(text=f"Checking the set-up… {done + 1} of {total}: {EVERYDAY.get(name, name)}")
                elif kind == "done":
                    show(value)
                    return
                else:
                    bar.pack_forget()
                    head.configure(text=str(value))
                    return

        def copy() -> None:
            win.clipboard_clear()
            win.clipboard_append(as_text(last[0]) if last[0] else head.cget("text"))

        placed = [False]
        close = ttk.Button(buttons, text="Close", command=win.destroy, default="active")
        close.pack(side="right")
        ttk.Button(buttons, text="Check again", command=check).pack(side="right", padx=8)
        ttk.Button(buttons, text="Copy details", command=copy).pack(side="left")
        for label, action in extra:
            ttk.Button(buttons, text=label, command=action).pack(side="left", padx=8)
        win.bind("<Escape>", lambda _e: win.destroy())
        win.bind("<Return>", lambda _e: win.destroy())
        centre(win)
        check()
        win.lift()
        win.focus_force()  # opened from the tray: it comes to the front and takes the keyboard
        close.focus_set()
        win.wait_window()

    with_tk(dialog)
