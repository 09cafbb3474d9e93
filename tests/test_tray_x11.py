"""The real tray under Xvfb: trayer hosts the icon, pystray's gtk backend draws it, dunst shows notifications.

The tray runs in a child process on its own main thread (tests/tray_child.py), exactly as `python -m daemon run`
runs it. Its TrayActions are a FAKE that records calls (the app's real actions are tested with app.py); the
Status bus, notifier, icons, menu, GTK, D-Bus, tray host and notification daemon are all real. Screenshots are
saved under artifacts/tray/ (or $VOXTRAY_ARTIFACTS/tray/).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import threading
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from PIL import Image

from daemon.desktop.icons import AMBER, BLUE, GREEN, GREY, RED
from tests.fixtures.x11 import X11Session, wait_for

pytestmark = [pytest.mark.x11, pytest.mark.slow]
ROOT = Path(__file__).resolve().parent.parent
PALETTE = {"green": GREEN, "amber": AMBER, "blue": BLUE, "red": RED, "grey": GREY}


class TrayChild:
    """The tray child process: send commands, wait for its JSON events."""

    def __init__(self, x11: X11Session, **env: str) -> None:
        self.events: list[dict[str, Any]] = []
        self._cond = threading.Condition()
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "tests.tray_child"], cwd=ROOT, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
            stderr=open(x11.workdir / "tray_child.log", "ab"),  # noqa: SIM115
            env={**x11.env, "PYSTRAY_BACKEND": "gtk", "TRAY_CHILD_REFRESH_S": "0.5", **env}, text=True,
        )
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            with self._cond:
                self.events.append(json.loads(line))
                self._cond.notify_all()

    def send(self, op: str, **data: Any) -> None:
        assert self.proc.stdin is not None
        self.proc.stdin.write(json.dumps({"op": op, **data}) + "\n")
        self.proc.stdin.flush()

    def expect(self, timeout: float = 10, **match: Any) -> dict[str, Any]:
        """The first event (old or new) whose fields equal `match`, waiting up to `timeout` s."""
        def found() -> dict[str, Any] | None:
            return next((e for e in self.events if all(e.get(k) == v for k, v in match.items())), None)

        with self._cond:
            if not self._cond.wait_for(found, timeout):
                raise AssertionError(f"no event {match} within {timeout} s; got {self.events}")
            result = found()
            assert result is not None
            return result

    def calls(self, name: str) -> list[list[str]]:
        with self._cond:
            return [e["args"] for e in self.events if e["event"] == "call" and e["name"] == name]

    def close(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
        self.proc.wait(timeout=10)


@pytest.fixture
def tray_child(x11: X11Session) -> Any:
    x11.wait_tray_empty()
    child = TrayChild(x11)
    try:
        ready = child.expect(timeout=30, event="ready")
        assert ready["available"], ready["why"]
        wait_for(lambda: len(x11.tray_icons()) == 1, 10, "our icon (and only ours) to be embedded in trayer")
        yield child
    finally:
        child.close()


def dominant_colour(image: Image.Image) -> str:
    """Which palette colour covers most of the icon's pixels (within a small distance)."""
    pixels = np.asarray(image.convert("RGB"), dtype=np.int32).reshape(-1, 3)
    counts = {name: int((((pixels - np.array(ref)) ** 2).sum(axis=1) < 30**2).sum()) for name, ref in PALETTE.items()}
    best = max(counts, key=lambda k: counts[k])
    return best if counts[best] >= 20 else f"none of the palette ({counts})"


def icon_colour(x11: X11Session, shot: Path) -> str:
    icons = x11.tray_icons()
    if not icons:
        return "no icon docked yet"
    x, y, w, h = icons[0]
    x11.screenshot(shot)
    with Image.open(shot) as img:
        return dominant_colour(img.crop((x, y, x + w, y + h)))


def show_tier(x11: X11Session, child: TrayChild, artefact: Path, colour: str, **changes: Any) -> Path:
    """Publish `changes`, wait until the screen shows a `colour` icon, keep that screenshot as `artefact`."""
    if changes:
        child.send("status", changes=changes)
    shot = x11.workdir / artefact.name  # private: concurrent test runs share the artefacts folder
    wait_for(lambda: icon_colour(x11, shot) == colour, 10, f"a {colour} tray icon (last: {icon_colour(x11, shot)})")
    publish(shot, artefact)
    return shot


def publish(src: Path, dest: Path) -> None:
    """Copy into the artefacts folder atomically."""
    dest.parent.mkdir(parents=True, exist_ok=True)
    tmp = dest.with_name(f".{dest.name}.{os.getpid()}.tmp")
    shutil.copyfile(src, tmp)
    os.replace(tmp, dest)


def test_icon_colour_follows_the_status_bus_green_amber_blue_red_green(x11: X11Session, tray_child: TrayChild,
                                                                        x11_artifacts: Path) -> None:
    out = x11_artifacts / "tray"
    shots = [show_tier(x11, tray_child, out / "0-grey-starting.png", "grey")]
    shots.append(show_tier(x11, tray_child, out / "1-green-xtts.png", "green", tier="xtts", voice="alice.wav"))
    shots.append(show_tier(x11, tray_child, out / "2-amber-edge.png", "amber", tier="edge", tier_reason="GPU busy"))
    shots.append(show_tier(x11, tray_child, out / "3-blue-system.png", "blue", tier="system", tier_reason="offline"))
    shots.append(show_tier(x11, tray_child, out / "4-red-none.png", "red", tier="none", tier_reason="no voice"))
    shots.append(show_tier(x11, tray_child, out / "5-green-xtts.png", "green", tier="xtts", tier_reason=""))
    # a strip of the tray corner of each shot, for a quick look
    x, y, w, h = x11.icon()
    crops = [Image.open(p).crop((x - 8, 0, x + w + 8, y + h + 8)) for p in shots]
    strip = Image.new("RGB", (sum(c.width for c in crops), crops[0].height), "white")
    for i, c in enumerate(crops):
        strip.paste(c, (i * c.width, 0))
    strip.resize((strip.width * 4, strip.height * 4), Image.Resampling.NEAREST).save(x11.workdir / "series.png")
    publish(x11.workdir / "series.png", out / "series.png")


def test_fallback_shows_a_desktop_notification_with_the_reason(x11: X11Session, tray_child: TrayChild) -> None:
    tray_child.send("status", changes={"tier": "xtts"})
    tray_child.send("status", changes={"tier": "edge", "tier_reason": "XTTS ran out of GPU memory"})

    def shown() -> list[dict[str, str]]:
        # dunst's history is the whole session's (earlier tests fell back too): look for this one, reason and all
        return [n for n in x11.notifications() if n.get("summary") == "Fell back to edge-tts"
                and "XTTS ran out of GPU memory" in n.get("body", "")]

    wait_for(shown, 10, "dunst to show 'Fell back to edge-tts' with the reason 'XTTS ran out of GPU memory'")


def test_right_click_opens_the_menu_and_choosing_a_voice_calls_use_voice(
    x11: X11Session, tray_child: TrayChild, x11_artifacts: Path
) -> None:
    def menu_with_voices() -> list[dict[str, Any]] | None:
        tray_child.events[:] = [e for e in tray_child.events if e["event"] != "menu"]
        tray_child.send("menu")
        items: list[dict[str, Any]] = tray_child.expect(event="menu")["items"]
        voices = next(i for i in items if i["text"] == "Voices")
        return items if voices["submenu"][0]["text"] == "alice.wav" else None

    menu: list[dict[str, Any]] = wait_for(menu_with_voices, 10, "the voices from actions.voices() in the menu")
    assert [i["text"] for i in menu][:13] == [
        "Starting…", "⚠ No LLM set up: set it up…", "- - - -", "Ask…   (Ctrl+Alt+Space)",
        "Ask by voice   (Ctrl+Alt+Enter)", "Read aloud   (Ctrl+Alt+Insert)", "Stop speaking   (Ctrl+Alt+Backspace)",
        "Pause   (Ctrl+Alt+Shift+Space)", "Repeat the last answer", "Show the last answer", "Voices", "Voice engine",
        "Output device"]
    assert [menu[i]["enabled"] for i in (0, 1, 3, 4, 5, 6, 7, 8, 9)] == [False, True, True, True, True, False, False,
                                                                         False, True], \
        "the status line is information; Stop and Pause are greyed while nothing speaks, Repeat with no answer yet"
    voices = [i["text"] for i in menu[10]["submenu"]]
    assert voices == ["alice.wav", "bob.wav", "carol.wav", "- - - -", "Add voice from file…"]
    x, y, w, h = x11.icon()
    x11.xdotool("mousemove", str(x + w // 2), str(y + h // 2), "click", "3")
    popup = wait_for(lambda: popup_windows(x11), 10, "the GTK menu popup to be mapped")[0]
    classes = x11.run("xprop", "-id", str(popup), "WM_CLASS", check=False).stdout
    assert '= "voxtray", "Vox' in classes, f"GTK names the windows after VoxTray, not __main__.py: {classes}"
    publish(x11.screenshot(x11.workdir / "menu-open.png"), x11_artifacts / "tray" / "menu-open.png")
    x11.run("import", "-window", str(popup), str(x11_artifacts / "tray" / "menu.png"))  # the menu alone (docs)
    # keyboard through the real GTK menu (greyed lines are skipped): Down x6 = the LLM problem, Ask…, Ask by voice,
    # Read aloud, Show the last answer, Voices; Right opens it on alice, Down = bob, Return clicks
    for key in ("Down",) * 6 + ("Right", "Down", "Return"):
        x11.xdotool("key", key)
    call = tray_child.expect(event="call", name="use_voice")
    assert call["args"] == ["bob.wav"]
    assert call["thread"] == "voxtray-tray-actions", "menu actions must run off the GUI thread"


def test_the_menu_stays_narrow_after_a_failed_ask(x11: X11Session, tray_child: TrayChild, x11_artifacts: Path) -> None:
    """A failed ask puts a long error (URL, settings key, HTTP text) into the LLM status: the menu line is capped,
    so the rendered menu keeps its width (it grew to ~925 px when the whole error was the line)."""
    note = ("the LLM at https://flat-river-example-tunnel.trycloudflare.com/ did not answer: HTTP 502 Bad Gateway; "
            "is the notebook still running? (remote_llm_url in settings.json)")
    tray_child.send("status", changes={"tier": "edge", "llm_url": "https://x.trycloudflare.com", "llm_ok": False,
                                       "llm_note": note})

    def has_problem() -> bool:
        tray_child.events[:] = [e for e in tray_child.events if e["event"] != "menu"]
        tray_child.send("menu")
        return any(i["text"].startswith("⚠ LLM unreachable") for i in tray_child.expect(event="menu")["items"])

    wait_for(has_problem, 10, "the LLM problem line in the menu")
    x, y, w, h = x11.icon()
    x11.xdotool("mousemove", str(x + w // 2), str(y + h // 2), "click", "3")
    popups = wait_for(lambda: popup_windows(x11), 10, "the GTK menu popup to be mapped")
    publish(x11.screenshot(x11.workdir / "menu-failed-ask.png"), x11_artifacts / "tray" / "menu-failed-ask.png")
    d = x11.xdisplay()
    try:
        width = max(d.create_resource_object("window", wid).get_geometry().width for wid in popups)
    finally:
        d.close()
    x11.xdotool("key", "Escape")
    assert 150 < width <= 420, f"the menu is {width} px wide"


def popup_windows(x11: X11Session) -> list[Any]:
    """Mapped override-redirect windows (GTK menus) other than dunst's."""
    d = x11.xdisplay()
    try:
        out = []
        for win in d.screen().root.query_tree().children:
            attrs = win.get_attributes()
            if attrs.override_redirect and attrs.map_state == 2 and win.get_wm_class() != ("Dunst", "Dunst"):
                g = win.get_geometry()
                if g.width > 20 and g.height > 20:
                    out.append(win.id)
        return out
    finally:
        d.close()


def test_menu_items_called_directly_reach_the_actions(tray_child: TrayChild) -> None:
    tray_child.send("invoke", path=["Voice engine", "edge-tts"])
    assert tray_child.expect(event="call", name="set_engine")["args"] == ["edge"]
    tray_child.send("invoke", path=["Start at login"])
    assert tray_child.expect(event="call", name="set_autostart")["args"] == ["True"]
    tray_child.send("invoke", path=["Voices", "Add voice from file…"])
    assert tray_child.expect(event="call", name="add_voice")["args"] == ["/tmp/picked.wav"]
    tray_child.send("invoke", path=["New conversation"])
    tray_child.expect(event="call", name="new_conversation")

    def autostart_ticked() -> bool:
        tray_child.events[:] = [e for e in tray_child.events if e["event"] != "menu"]
        tray_child.send("menu")
        items = tray_child.expect(event="menu")["items"]
        return next(i for i in items if i["text"] == "Start at login")["checked"] is True

    wait_for(autostart_ticked, 10, "the 'Start at login' tick after enabling it")


def test_quit_from_the_menu_stops_every_thread(x11: X11Session, tray_child: TrayChild) -> None:
    x, y, w, h = x11.icon()
    x11.xdotool("mousemove", str(x + w // 2), str(y + h // 2), "click", "3")
    wait_for(lambda: len(popup_windows(x11)) > 0, 10, "the GTK menu popup to be mapped")
    x11.xdotool("key", "Up")  # from the top of a fresh menu, Up wraps to the last item: Quit
    x11.xdotool("key", "Return")
    tray_child.expect(event="call", name="quit")
    exited = tray_child.expect(event="exited", timeout=15)
    assert exited["threads"] == [], f"threads left running after Quit: {exited['threads']}"
    assert tray_child.proc.wait(timeout=10) == 0
    wait_for(lambda: not x11.tray_icons(), 10, "the icon to leave the tray")


def tray_available_in(x11: X11Session, backend: str | None = "gtk") -> list[Any]:
    env = {**x11.env, **({"PYSTRAY_BACKEND": backend} if backend else {})}
    code = "import json; from daemon.desktop.tray import tray_available; print(json.dumps(tray_available()))"
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    result: list[Any] = json.loads(out.stdout)
    return result


def test_tray_available_finds_the_tray_host_and_picks_a_backend_itself(x11: X11Session) -> None:
    ok, why = tray_available_in(x11, backend=None)
    assert ok and "gtk backend, system tray found" in why


def test_without_a_tray_host_the_daemon_is_told_to_run_headless(bare_x11: X11Session) -> None:
    ok, why = tray_available_in(bare_x11)
    assert not ok and "no system tray" in why and "headless" in why
