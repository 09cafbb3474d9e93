"""The tray's first-run pieces on a private X11 desktop (Xvfb + trayer, pystray gtk, real Tk dialogs driven with
xdotool): the hover tooltip carries the download's progress line; "Get the cloned voice (XTTS v2)…" opens the
licence dialog, whose Accept / Cancel reach the app; "Check set-up…" opens the report window.

The TrayActions are the recording FAKE in tests/tray_child.py (the real app's actions are proven end to end in
test_first_run_x11.py); the tray, its menu, GTK and the Tk dialogs are real.
"""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from daemon.desktop.dialogs import MODEL_TITLE, PICK_TITLE
from daemon.desktop.setup_report import REPORT_TITLE
from daemon.desktop.traymenu import GET_MODEL_ITEM
from tests import test_tray_x11
from tests.fixtures.x11 import X11Session, wait_for
from tests.test_tray_x11 import TrayChild

pytestmark = [pytest.mark.x11, pytest.mark.slow]
tray_child = test_tray_x11.tray_child  # the fixture: the real tray in a child process


def window(x11: X11Session, title: str) -> str | None:
    """The id of a visible window with exactly this title, or None."""
    out = windows(x11, title)
    return out[0] if out else None


def windows(x11: X11Session, title: str) -> list[str]:
    """Ids of the visible windows titled exactly `title` (compared as text: xdotool's --name is a regular
    expression over bytes, which mangles characters such as the em dash)."""
    ids = x11.run("xdotool", "search", "--onlyvisible", "--name", ".", check=False).stdout.split()
    return [w for w in ids if x11.run("xdotool", "getwindowname", w, check=False).stdout.strip() == title]


def press(x11: X11Session, title: str, key: str) -> None:
    wid = wait_for(lambda: window(x11, title), 20, f"the window {title!r}")
    x11.xdotool("windowfocus", "--sync", wid)  # no window manager here: focus it directly
    x11.xdotool("key", key)


def menu_has(child: TrayChild, text: str) -> bool:
    child.events[:] = [e for e in child.events if e.get("event") != "menu"]
    child.send("menu")
    return any(item["text"] == text for item in child.expect(event="menu")["items"])


def test_the_hover_tooltip_is_the_title_and_carries_the_download_progress(tray_child: TrayChild) -> None:
    note = "Downloading the cloned voice: 43 %, 2 min left"
    tray_child.send("status", changes={"tier": "edge", "model_setup": "downloading", "setup_note": note})

    def shown() -> dict[str, str] | None:
        tray_child.events[:] = [e for e in tray_child.events if e.get("event") != "title"]
        tray_child.send("title")
        got = tray_child.expect(event="title")
        return got if note in (got["tooltip"] or "") else None

    got = wait_for(shown, 10, "the progress line in the GTK tooltip")
    assert got["tooltip"] == got["title"], "the hover tooltip is the same text as the title"
    assert got["tooltip"].splitlines()[:2] == ["VoxTray: edge-tts", note]


def test_get_the_cloned_voice_opens_the_licence_dialog_and_accept_or_cancel_reach_the_app(
        x11: X11Session, tray_child: TrayChild, x11_artifacts: Path) -> None:
    tray_child.send("status", changes={"model_setup": "needed", "setup_note": "The cloned voice needs a download"})
    wait_for(lambda: menu_has(tray_child, GET_MODEL_ITEM), 10, "the menu to offer getting the model")
    tray_child.send("invoke", path=[GET_MODEL_ITEM])
    wid = wait_for(lambda: window(x11, MODEL_TITLE), 20, "the licence dialog")
    x11.run("import", "-window", wid, str(x11_artifacts / "tray" / "licence-dialog.png"))  # the window alone
    screen_w = int(x11.xdotool("getdisplaygeometry").split()[0])
    geometry = x11.xdotool("getwindowgeometry", "--shell", wid)
    g = dict(line.split("=", 1) for line in geometry.split())
    assert abs(int(g["X"]) + int(g["WIDTH"]) // 2 - screen_w // 2) <= 20, f"not centred: {g} on {screen_w} px"
    press(x11, MODEL_TITLE, "Escape")
    wait_for(lambda: window(x11, MODEL_TITLE) is None, 10, "the dialog to close on Esc")
    assert tray_child.calls("accept_model_license") == [], "Esc cancels: nothing accepted"

    tray_child.send("invoke", path=[GET_MODEL_ITEM])
    press(x11, MODEL_TITLE, "Return")  # the default button is Cancel: a stray Enter accepts nothing
    wait_for(lambda: window(x11, MODEL_TITLE) is None, 10, "the dialog to close on Enter")
    assert tray_child.calls("accept_model_license") == [], "Enter cancels: nothing accepted"

    tray_child.send("invoke", path=[GET_MODEL_ITEM])
    press(x11, MODEL_TITLE, "alt+a")  # Accept and download (its underlined letter)
    wait_for(lambda: tray_child.calls("accept_model_license"), 10, "the acceptance to reach the app")
    wait_for(lambda: window(x11, MODEL_TITLE) is None, 10, "the dialog to close")


def test_check_set_up_opens_a_window_that_runs_the_checks_off_the_gui_thread(
        x11: X11Session, tray_child: TrayChild, x11_artifacts: Path) -> None:
    tray_child.send("invoke", path=["Check set-up…"])
    wait_for(lambda: window(x11, REPORT_TITLE), 20, "the set-up report window")
    call = tray_child.expect(event="call", name="check_setup")
    assert call["thread"] == "setup-check", "the checks run on their own thread, not the tray's or Tk's"
    tray_child.send("invoke", path=["Check set-up…"])  # a second click while it is open: still one window
    tray_child.expect(event="done", op="invoke")
    assert len(windows(x11, REPORT_TITLE)) == 1
    time.sleep(1.0)  # the (stand-in) checks take 0.4 s: the checklist is shown
    x11.run("import", "-window", window(x11, REPORT_TITLE) or "root", str(x11_artifacts / "tray" / "check-set-up.png"))
    press(x11, REPORT_TITLE, "alt+g")  # the failing model check's button: "Get the model…" opens the licence dialog
    wait_for(lambda: window(x11, MODEL_TITLE), 20, "the licence dialog, from the check-up window's fix button")
    press(x11, MODEL_TITLE, "Escape")
    press(x11, REPORT_TITLE, "Escape")
    wait_for(lambda: window(x11, REPORT_TITLE) is None, 10, "the window to close on Esc")


def test_use_a_model_folder_checks_the_folder_and_a_wrong_one_is_explained_while_the_dialog_stays(
        x11: X11Session, tray_child: TrayChild, tmp_path: Path) -> None:
    bad, good = tmp_path / "empty", tmp_path / "xtts"
    bad.mkdir()
    good.mkdir()
    (good / "model.pth").write_bytes(b"weights")
    tray_child.send("status", changes={"model_setup": "needed", "setup_note": "The cloned voice needs a download"})
    wait_for(lambda: menu_has(tray_child, GET_MODEL_ITEM), 10, "the menu to offer getting the model")
    tray_child.send("invoke", path=[GET_MODEL_ITEM])
    for folder in (bad, good):
        press(x11, MODEL_TITLE, "alt+u")  # "Use a model folder…" (its underlined letter)
        picker = wait_for(lambda: window(x11, PICK_TITLE), 20, "Tk's folder picker")
        x11.xdotool("windowfocus", "--sync", picker)
        x11.xdotool("type", "--delay", "5", str(folder))
        x11.xdotool("key", "Return")  # Tk's folder picker opens the typed folder...
        time.sleep(0.3)
        x11.xdotool("key", "Return")  # ...and Enter with an empty selection chooses it (its OK button)
        wait_for(lambda: window(x11, PICK_TITLE) is None, 10, "the picker to close")
        if folder == bad:
            # the error box (it has the dialog's title too) says why; Enter dismisses it and the dialog stays
            wait_for(lambda: len(windows(x11, MODEL_TITLE)) == 2, 10, "the error box beside the dialog")
            x11.xdotool("key", "Return")
            wait_for(lambda: len(windows(x11, MODEL_TITLE)) == 1, 10, "the error box to close, the dialog to stay")
            assert tray_child.calls("use_model_folder") == []
    call = wait_for(lambda: tray_child.calls("use_model_folder"), 10, "the picked folder to reach the app")
    assert call == [[str(good)]]
    wait_for(lambda: window(x11, MODEL_TITLE) is None, 10, "the dialog to close")
