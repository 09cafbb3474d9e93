"""The tray menu and tooltip built from Status snapshots; menu items called directly.

The handlers are a FAKE that records calls (in the running tray they queue the app's TrayActions on the action
thread; that wiring is proven under X11 in test_tray_x11.py). Everything else here is the real menu model.
"""

from __future__ import annotations

import dataclasses
from typing import Any

import pytest

from daemon.desktop.traybackend import tray_available
from daemon.desktop.traymenu import (
    GET_MODEL_ITEM,
    TOOLTIP_MAX,
    Entry,
    Handlers,
    MenuModel,
    build_menu,
    download_line,
    find,
    same_voice,
    tooltip,
)
from daemon.status import SETUP_DOWNLOADING, SETUP_FAILED, SETUP_NEEDED, Activity, Status, Tier


class Recorder:
    def __init__(self) -> None:
        self.calls: list[tuple[str, tuple[Any, ...]]] = []

    def handlers(self) -> Handlers:
        names = [f for f in Handlers.__dataclass_fields__]
        return Handlers(**{n: (lambda *a, n=n: self.calls.append((n, a))) for n in names})


def texts(entries: tuple[Entry, ...]) -> list[str]:
    return [e.text for e in entries]


MODEL = MenuModel(voices=("alice.wav", "bob.wav"), engine="auto", autostart=False)


def test_menu_has_every_command_in_order() -> None:
    menu = build_menu(Status(), MODEL, Recorder().handlers())
    assert texts(menu) == [
        "Ask…", "Ask by voice", "Stop speaking", "Voices", "Engine", "-",
        "Voice: starting (model not loaded)", "GPU: unknown", "LLM: not configured", "-",
        "New conversation", "Connect to Colab bridge…", "Pause hotkeys", "-", "Open settings", "Open voices folder", "Open log",
        "Check set-up…", "-", "Start at login", "Quit",
    ]
    assert texts(find(menu, "Voices").submenu) == ["alice.wav", "bob.wav", "-", "Add voice from file…"]
    assert texts(find(menu, "Engine").submenu) == ["Auto", "XTTS clone", "edge-tts", "System voice"]
    assert all(not e.enabled for e in menu[6:9]), "status lines are information, not commands"


@pytest.mark.parametrize(
    ("path", "expected"),
    [
        (("Ask…",), ("ask", ())),
        (("Ask by voice",), ("ask_by_voice", ())),
        (("Stop speaking",), ("stop_speaking", ())),
        (("Voices", "bob.wav"), ("use_voice", ("bob.wav",))),
        (("Voices", "Add voice from file…"), ("add_voice", ())),
        (("Engine", "edge-tts"), ("set_engine", ("edge",))),
        (("Engine", "Auto"), ("set_engine", ("auto",))),
        (("New conversation",), ("new_conversation", ())),
        (("Pause hotkeys",), ("toggle_hotkeys", ())),
        (("Open settings",), ("open_settings", ())),
        (("Open voices folder",), ("open_voices_folder", ())),
        (("Open log",), ("open_log", ())),
        (("Check set-up…",), ("check_setup", ())),
        (("Start at login",), ("set_autostart", (True,))),
        (("Quit",), ("quit", ())),
    ],
)
def test_calling_a_menu_item_runs_its_handler(path: tuple[str, ...], expected: tuple[str, tuple[Any, ...]]) -> None:
    rec = Recorder()
    entry = find(build_menu(Status(), MODEL, rec.handlers()), *path)
    assert entry.action is not None
    entry.action()
    assert rec.calls == [expected]


def test_radio_items_follow_the_current_voice_and_engine() -> None:
    status = Status(tier=Tier.XTTS, voice="voices/bob.wav")
    menu = build_menu(status, MenuModel(voices=("alice.wav", "bob.wav"), engine="edge"), Recorder().handlers())
    assert [e.checked for e in find(menu, "Voices").submenu[:2]] == [False, True]
    assert all(e.radio for e in find(menu, "Voices").submenu[:2])
    assert [e.checked for e in find(menu, "Engine").submenu] == [False, False, True, False]


def test_checkbox_and_labels_reflect_state() -> None:
    rec = Recorder()
    status = Status(hotkeys_paused=True, llm_url="http://x", llm_ok=False, llm_note="HTTP 502",
                    vram_free_mb=3072, vram_total_mb=6144, gpu_name="RTX 3060")
    menu = build_menu(status, MenuModel(autostart=True), rec.handlers())
    assert find(menu, "Start at login").checked is True
    find(menu, "Start at login").action()  # type: ignore[misc]
    assert rec.calls == [("set_autostart", (False,))]
    assert "Resume hotkeys" in texts(menu)
    assert "GPU: RTX 3060: 3.0 / 6.0 GB free" in texts(menu)
    assert "LLM: unreachable (HTTP 502)" in texts(menu)
    assert texts(find(menu, "Voices").submenu)[0] == "(no voices in voices/)"


def test_tooltip_says_engine_voice_vram_llm_and_first_audio_time_within_windows_limit() -> None:
    status = Status(tier=Tier.EDGE, voice="bob.wav", activity=Activity.SPEAKING, vram_free_mb=1536, llm_ok=True,
                    llm_url="http://x", last_first_audio_s=0.42)
    tip = tooltip(status)
    assert tip.splitlines() == ["VoxTray: edge-tts · bob.wav (speaking)", "VRAM free: 1.5 GB", "LLM: reachable",
                                "Hotkey to voice: 0.42 s"]
    long = tooltip(Status(voice="v" * 300, gpu_note="no NVIDIA GPU"))
    assert len(long) <= TOOLTIP_MAX and long.endswith("…")


def test_a_missing_model_puts_getting_it_first_and_the_download_shows_its_progress_and_cancel() -> None:
    rec = Recorder()
    needed = build_menu(Status(model_setup=SETUP_NEEDED, setup_note="The cloned voice needs a one-time download"),
                        MODEL, rec.handlers())
    assert texts(needed)[:3] == [GET_MODEL_ITEM, "-", "Ask…"]
    assert "Voice: starting (model not downloaded)" in texts(needed)
    needed[0].action()  # type: ignore[misc]
    assert rec.calls == [("get_model", ())]

    note = "Downloading the cloned voice: 43 %, 2 min left"
    status = Status(tier=Tier.EDGE, model_setup=SETUP_DOWNLOADING, setup_note=note, setup_percent=43,
                    setup_eta_s=131.0)
    downloading = build_menu(status, MODEL, rec.handlers())
    assert texts(downloading)[:4] == [note, "Cancel download", "-", "Ask…"]
    assert download_line(dataclasses.replace(status, setup_eta_s=128.0)) == note, "same minute: no rebuild"
    assert download_line(dataclasses.replace(status, setup_eta_s=40.0)).endswith("43 %, under a minute left")
    assert not downloading[0].enabled, "the progress line is information, not a command"
    downloading[1].action()  # type: ignore[misc]
    assert rec.calls[-1] == ("cancel_download", ())
    assert tooltip(status).splitlines()[:2] == ["VoxTray: edge-tts", note]

    failed = build_menu(Status(model_setup=SETUP_FAILED, setup_note="No space"), MODEL, rec.handlers())
    assert texts(failed)[0] == GET_MODEL_ITEM, "after a failure the same item tries again"
    assert texts(build_menu(Status(), MODEL, rec.handlers()))[0] == "Ask…", "nothing to get: no item"


def test_voice_names_match_by_file_name_or_stem() -> None:
    assert same_voice("bob.wav", "voices/bob.wav") and same_voice("bob", "bob.wav")
    assert not same_voice("bob.wav", "") and not same_voice("bob.wav", "alice.wav")


def test_without_a_display_the_tray_is_unavailable_and_says_why(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("DISPLAY", raising=False)
    monkeypatch.delenv("WAYLAND_DISPLAY", raising=False)
    ok, why = tray_available()
    assert not ok and "DISPLAY is not set" in why and "headless" in why
