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
    LINE_MAX,
    TOOLTIP_MAX,
    Entry,
    Handlers,
    MenuModel,
    build_menu,
    cap,
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
        "Starting…", "⚠ No LLM set up: set it up…", "-",
        "Ask…", "Ask by voice", "Read aloud", "Stop speaking", "Pause", "Repeat the last answer",
        "Show the last answer", "Voices", "Voice engine",
        "Output device", "Speed", "Volume", "New conversation", "-",
        "Set up the LLM…", "Check set-up…", "Pause hotkeys", "Files", "-", "Start at login", "Quit",
    ]
    assert texts(find(menu, "Voices").submenu) == ["alice.wav", "bob.wav", "-", "Add voice from file…"]
    assert texts(find(menu, "Voice engine").submenu) == ["Auto", "XTTS clone", "edge-tts", "System voice"]
    assert texts(find(menu, "Files").submenu) == ["Open settings", "Open voices folder", "Open log"]
    assert not menu[0].enabled, "the status line is information, not a command"


def test_status_line_names_the_voice_speaking_and_the_clone_only_when_it_speaks() -> None:
    h = Recorder().handlers()
    assert texts(build_menu(Status(tier=Tier.XTTS, voice="voices/sample.wav"), MODEL, h))[0] == \
        "Speaking with: cloned voice · sample"
    assert texts(build_menu(Status(tier=Tier.SYSTEM, voice="voices/sample.wav"), MODEL, h))[0] == \
        "Speaking with: system voice", "a clone that is not speaking is not named"
    assert texts(build_menu(Status(tier=Tier.NONE, tier_reason="edge-tts: down"), MODEL, h))[:2] == \
        ["Nothing can speak now", "⚠ Nothing can speak: edge-tts: down"]


def test_problems_are_clickable_and_capped_so_the_menu_stays_narrow() -> None:
    rec = Recorder()
    note = ("the LLM at https://very-long-name.trycloudflare.com did not answer (remote_llm_url): "
            "HTTP 502 Bad Gateway from the tunnel, the notebook is probably stopped") * 2
    menu = build_menu(Status(tier=Tier.EDGE, llm_url="http://x", llm_ok=False, llm_note=note), MODEL, rec.handlers())
    problem = menu[1]
    assert problem.text == "⚠ LLM unreachable (details…)"
    assert max(len(e.text) for e in menu) <= LINE_MAX
    assert problem.action is not None
    problem.action()
    assert rec.calls == [("check_setup", ())], "the details are a click away"
    assert cap("one two three four", 12) == "one two…", "cut at a word"


def test_hotkey_hints_stop_disabled_when_silent_and_unavailable_engines_greyed_with_the_reason() -> None:
    model = MenuModel(voices=(), engine="auto", hotkeys=(("ask", "ctrl+alt+space"), ("talk", ""), ("stop", "ctrl+alt+x"),
                                                          ("read", "ctrl+alt+insert")),
                      unavailable=(("edge", "down (probe failed)"), ("xtts", "not ready")))
    idle = build_menu(Status(tier=Tier.SYSTEM), model, Recorder().handlers())
    assert (find(idle, "Ask…").hint, find(idle, "Ask by voice").hint) == ("Ctrl+Alt+Space", "")
    assert find(idle, "Read aloud").hint == "Ctrl+Alt+Insert"
    assert find(idle, "Stop speaking").hint == "Ctrl+Alt+X" and not find(idle, "Stop speaking").enabled
    speaking = build_menu(Status(tier=Tier.SYSTEM, activity=Activity.SPEAKING), model, Recorder().handlers())
    assert find(speaking, "Stop speaking").enabled
    engines = {e.text: e.enabled for e in find(idle, "Voice engine").submenu}
    assert engines == {"Auto": True, "XTTS clone — not ready": False, "edge-tts — down (probe failed)": False,
                       "System voice": True}
    downloading = build_menu(Status(model_setup=SETUP_DOWNLOADING), model, Recorder().handlers())
    assert "XTTS clone — model downloading" in texts(find(downloading, "Voice engine").submenu)


@pytest.mark.parametrize(
    ("path", "expected"),
    [
        (("Ask…",), ("ask", ())),
        (("Ask by voice",), ("ask_by_voice", ())),
        (("Read aloud",), ("read_aloud", ())),
        (("Stop speaking",), ("stop_speaking", ())),
        (("Voices", "bob.wav"), ("use_voice", ("bob.wav",))),
        (("Voices", "Add voice from file…"), ("add_voice", ())),
        (("Voice engine", "edge-tts"), ("set_engine", ("edge",))),
        (("Voice engine", "Auto"), ("set_engine", ("auto",))),
        (("New conversation",), ("new_conversation", ())),
        (("Pause hotkeys",), ("toggle_hotkeys", ())),
        (("Files", "Open settings"), ("open_settings", ())),
        (("Files", "Open voices folder"), ("open_voices_folder", ())),
        (("Files", "Open log"), ("open_log", ())),
        (("Set up the LLM…",), ("connect_bridge", ())),
        (("⚠ No LLM set up: set it up…",), ("connect_bridge", ())),
        (("Check set-up…",), ("check_setup", ())),
        (("Show the last answer",), ("show_last_answer", ())),
        (("Pause",), ("pause_resume", ())),
        (("Repeat the last answer",), ("repeat_last", ())),
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


def test_pause_turns_into_resume_and_both_grey_when_there_is_nothing_to_pause_or_repeat() -> None:
    model = MenuModel(hotkeys=(("pause", "ctrl+alt+shift+space"),))
    idle = build_menu(Status(tier=Tier.SYSTEM), model, Recorder().handlers())
    assert find(idle, "Pause").hint == "Ctrl+Alt+Shift+Space"
    assert not find(idle, "Pause").enabled and not find(idle, "Repeat the last answer").enabled
    speaking = build_menu(Status(tier=Tier.SYSTEM, activity=Activity.SPEAKING), model, Recorder().handlers())
    assert find(speaking, "Pause").enabled
    paused = Status(tier=Tier.SYSTEM, activity=Activity.SPEAKING, speech_paused=True)
    menu = build_menu(paused, dataclasses.replace(model, can_repeat=True), Recorder().handlers())
    assert find(menu, "Resume").enabled and find(menu, "Resume").hint == "Ctrl+Alt+Shift+Space"
    assert "Pause" not in texts(menu) and find(menu, "Repeat the last answer").enabled
    assert find(build_menu(Status(speech_paused=True), model, Recorder().handlers()), "Resume").enabled, \
        "a paused answer can be resumed whatever the activity says"


def test_radio_items_follow_the_current_voice_and_engine() -> None:
    status = Status(tier=Tier.XTTS, voice="voices/bob.wav")
    menu = build_menu(status, MenuModel(voices=("alice.wav", "bob.wav"), engine="edge"), Recorder().handlers())
    assert [e.checked for e in find(menu, "Voices").submenu[:2]] == [False, True]
    assert all(e.radio for e in find(menu, "Voices").submenu[:2])
    assert [e.checked for e in find(menu, "Voice engine").submenu] == [False, False, True, False]


def test_checkbox_and_labels_reflect_state() -> None:
    rec = Recorder()
    status = Status(hotkeys_paused=True, llm_url="http://x", llm_ok=False, llm_note="HTTP 502",
                    vram_free_mb=3072, vram_total_mb=6144, gpu_name="RTX 3060")
    menu = build_menu(status, MenuModel(autostart=True), rec.handlers())
    assert find(menu, "Start at login").checked is True
    find(menu, "Start at login").action()  # type: ignore[misc]
    assert rec.calls == [("set_autostart", (False,))]
    assert "Resume hotkeys" in texts(menu)
    assert "⚠ LLM unreachable: HTTP 502" in texts(menu)
    assert texts(find(menu, "Voices").submenu)[0] == "(no voices in voices/)"


def test_tooltip_says_engine_voice_vram_llm_and_first_audio_time_within_windows_limit() -> None:
    status = Status(tier=Tier.EDGE, voice="bob.wav", activity=Activity.SPEAKING, vram_free_mb=1536, llm_ok=True,
                    llm_url="http://x", last_first_audio_s=0.42)
    tip = tooltip(status)
    assert tip.splitlines() == ["VoxTray: edge-tts (speaking)", "VRAM free: 1.5 GB", "LLM: reachable",
                                "Hotkey to voice: 0.42 s"]
    long = tooltip(Status(tier=Tier.XTTS, voice="v" * 300, gpu_note="no NVIDIA GPU"))
    assert len(long) <= TOOLTIP_MAX and long.endswith("…")
    lines = tooltip(Status(tier=Tier.XTTS, voice="sample", llm_url="http://x", llm_ok=False, llm_note="word " * 40,
                           gpu_note="no NVIDIA GPU", setup_note="Downloading the cloned voice: 43 %, 2 min left",
                           last_first_audio_s=0.5, last_voice_s=0.8))
    assert len(lines) <= TOOLTIP_MAX
    assert lines.splitlines()[:2] == ["VoxTray: cloned voice · sample", "Downloading the cloned voice: 43 %, 2 min left"]
    assert all(line.endswith(("…", "s", "GPU", "left", "sample")) for line in lines.splitlines()), \
        "whole lines are dropped, a long one ends at a word with …, never cut mid-word"
    assert "word wo" not in lines


def test_a_missing_model_puts_getting_it_first_and_the_download_shows_its_progress_and_cancel() -> None:
    rec = Recorder()
    needed = build_menu(Status(model_setup=SETUP_NEEDED, setup_note="The cloned voice needs a one-time download"),
                        MODEL, rec.handlers())
    assert texts(needed)[:4] == ["Starting… (cloned voice not downloaded)", GET_MODEL_ITEM,
                                 "⚠ No LLM set up: set it up…", "-"]
    needed[1].action()  # type: ignore[misc]
    assert rec.calls == [("get_model", ())]

    note = "Downloading the cloned voice: 43 %, 2 min left"
    status = Status(tier=Tier.EDGE, model_setup=SETUP_DOWNLOADING, setup_note=note, setup_percent=43,
                    setup_eta_s=131.0)
    downloading = build_menu(dataclasses.replace(status, llm_url="http://x", llm_ok=True), MODEL, rec.handlers())
    assert texts(downloading)[:4] == ["Speaking with: edge-tts", note, "Cancel download", "-"]
    assert download_line(dataclasses.replace(status, setup_eta_s=128.0)) == note, "same minute: no rebuild"
    assert download_line(dataclasses.replace(status, setup_eta_s=40.0)).endswith("43 %, under a minute left")
    assert not downloading[1].enabled, "the progress line is information, not a command"
    downloading[2].action()  # type: ignore[misc]
    assert rec.calls[-1] == ("cancel_download", ())
    assert tooltip(status).splitlines()[:2] == ["VoxTray: edge-tts", note]

    failed = build_menu(Status(model_setup=SETUP_FAILED, setup_note="No space"), MODEL, rec.handlers())
    assert GET_MODEL_ITEM in texts(failed), "after a failure the same item tries again"
    assert GET_MODEL_ITEM not in texts(build_menu(Status(), MODEL, rec.handlers())), "nothing to get: no item"


def test_voice_names_match_by_file_name_or_stem() -> None:
    assert same_voice("bob.wav", "voices/bob.wav") and same_voice("bob", "bob.wav")
    assert not same_voice("bob.wav", "") and not same_voice("bob.wav", "alice.wav")


def test_without_a_display_the_tray_is_unavailable_and_says_why(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("DISPLAY", raising=False)
    monkeypatch.delenv("WAYLAND_DISPLAY", raising=False)
    ok, why = tray_available()
    assert not ok and "DISPLAY is not set" in why and "headless" in why
