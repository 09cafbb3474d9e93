"""The tray's first-run dialogs on the real Windows Tk (under Wine): the licence dialog opens as a window titled
MODEL_TITLE, takes the keyboard (SendInput from another process, as a user's keyboard) and Alt+A accepts / Enter, Esc
cancels; the set-up report window runs its checks off Tk's thread and closes on Esc.

Each dialog runs on a worker thread with its own Tk (no question box here), as in a daemon whose hotkeys are off:
before with_tk collected its Tcl objects on that thread, this file ended in "Tcl_AsyncDelete: async handler
deleted by the wrong thread" and a crashed process.
"""

from __future__ import annotations

import os
import subprocess
import sys
import threading
from pathlib import Path
from typing import Any

from daemon.desktop.dialogs import MODEL_TITLE, ModelOffer, ask_model_choice
from daemon.desktop.setup_report import REPORT_TITLE, show_setup_report
from tests_win.conftest import ROOT
from tests_win.winutil import find, wait_for

OFFER = ModelOffer("about 1.9 GB", Path(r"C:\users\José\AppData\Local\voxtray\models\xtts_v2"), "9 GB free there",
                   "Coqui Public Model License (CPML)", "https://coqui.ai/cpml",
                   "Non-commercial use only; test summary.")


def keys(combo: str) -> None:
    subprocess.run([sys.executable, "-m", "tests_win.sendinput", "combo", combo], cwd=ROOT,
                   stdin=subprocess.DEVNULL, capture_output=True, timeout=60, check=True)


def in_thread(fn: Any) -> tuple[threading.Thread, list[Any]]:
    out: list[Any] = []
    thread = threading.Thread(target=lambda: out.append(fn()), daemon=True)
    thread.start()
    return thread, out


def shown(title: str) -> bool:
    return bool(find(lambda w: w.pid == os.getpid() and w.title == title and w.visible))


def test_the_licence_dialog_takes_the_keyboard_enter_and_esc_cancel_alt_a_accepts() -> None:
    # Enter on a freshly opened dialog runs Cancel (the safe default): a stray key never accepts the licence
    for key, expected in (("esc", None), ("enter", None), ("alt+a", ("accept", None))):
        thread, out = in_thread(lambda: ask_model_choice(OFFER, lambda _p: [], lambda _u: None))
        wait_for(lambda: shown(MODEL_TITLE), 60, "the licence dialog")
        keys(key)
        thread.join(30)
        assert not thread.is_alive(), f"{key} did not close the dialog"
        assert out == [expected]


def test_the_set_up_window_runs_the_checks_off_tks_thread_and_closes_on_esc() -> None:
    ran: list[str] = []

    def run(progress: Any) -> list[tuple[str, str, str, str]]:
        ran.append(threading.current_thread().name)
        progress(0, 1, "XTTS model")
        return [("XTTS model", "FAIL", "not downloaded", "Get the cloned voice")]

    thread, _out = in_thread(lambda: show_setup_report(run))
    wait_for(lambda: shown(REPORT_TITLE), 60, "the set-up window")
    wait_for(lambda: ran, 30, "the checks to run")
    assert ran == ["setup-check"]
    keys("esc")
    thread.join(30)
    assert not thread.is_alive(), "Esc did not close the window"
