"""The "Set up the LLM…" window on a private X server (Xvfb), typed into with xdotool like a user would: a wrong
port shows the error inside the window and keeps what was typed; the right one fills the model list; Save writes
settings.json and closes; Esc closes with nothing written; a pasted voxtray:// line fills address and token.

Real: the Tk window (desktop/llm_dialog.py), the daemon's Commands behind it (probe, atomic save, settings reload,
the "Connected: …" message) and the loopback Ollama stand-in (tests/fixtures/ollama.py). The window is read through
its `view` (what it shows, copied on Tk's thread); a screenshot of it is saved to the artefacts folder.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from daemon import settings as settings_mod
from daemon.brain.link import make_link
from daemon.commands import Commands
from daemon.desktop.llm_dialog import CHECKING, LLM_TITLE, LLMDialog, ask_llm_setup
from daemon.live import LiveSettings
from daemon.settings import Settings
from daemon.status import StatusBus
from tests.fixtures.llm_server import refused_url
from tests.fixtures.ollama import MODEL, OLLAMA_VERSION, OllamaStandIn
from tests.fixtures.x11 import X11Session, wait_for
from tests.test_tray_dialogs_x11 import window

pytestmark = [pytest.mark.x11, pytest.mark.slow]
TOKEN = "gYwRkYV3t3yRc6_Lc_-ynPuTj_NQmd-Z8bZm060abmE"


class Opened:
    """The window running on its own thread (as the tray runs it), with its result once closed."""

    def __init__(self, x11: X11Session, commands: Commands) -> None:
        self.x11 = x11
        self.dialogs: list[LLMDialog] = []
        self.result: list[str | None] = []
        self.thread = threading.Thread(target=lambda: self.result.append(
            ask_llm_setup(commands, on_open=self.dialogs.append)), name="llm-dialog", daemon=True)
        self.thread.start()
        OPEN.append(self)
        self.dialog = wait_for(lambda: self.dialogs[0] if self.dialogs else None, 20, "the window to be built")
        self.wid = wait_for(lambda: window(x11, LLM_TITLE), 20, "the window on the screen")
        x11.xdotool("windowfocus", "--sync", self.wid)  # no window manager here: focus it directly

    @property
    def view(self) -> dict[str, Any]:
        return self.dialog.view

    def keys(self, *keys: str) -> None:
        self.x11.xdotool("key", "--delay", "20", *keys)

    def type(self, text: str) -> None:
        self.x11.xdotool("type", "--delay", "10", text)

    def shows(self, predicate: Any, what: str, timeout: float = 20) -> dict[str, Any]:
        return wait_for(lambda: self.view if predicate(self.view) else None, timeout, what)

    def closed(self) -> str | None:
        self.thread.join(20)
        assert not self.thread.is_alive(), "the window closed and its thread ended"
        assert window(self.x11, LLM_TITLE) is None
        return self.result[0]


OPEN: list[Opened] = []


@pytest.fixture
def commands(tmp_path: Path, bare_x11: X11Session, monkeypatch: pytest.MonkeyPatch,
             no_keyring: None) -> Iterator[Commands]:
    monkeypatch.setenv("DISPLAY", bare_x11.display)
    path = tmp_path / "settings.json"
    settings_mod.save(Settings(), path)
    yield Commands(LiveSettings(path, settings_mod.load(path)), StatusBus(), lambda: None, quit=lambda: None)
    for w in OPEN:  # a failed test's window: closed before its X server goes (Tk would end the process then)
        if w.thread.is_alive():
            bare_x11.run("xdotool", "windowfocus", "--sync", w.wid, "key", "Escape", check=False)
            w.thread.join(10)
    OPEN.clear()


def test_typing_a_wrong_port_then_the_right_one_tests_fills_the_models_and_saves(
        bare_x11: X11Session, commands: Commands, ollama_api: OllamaStandIn, x11_artifacts: Path) -> None:
    path = commands.live.path
    before = path.read_bytes()
    w = Opened(bare_x11, commands)
    assert w.view["address"] == "" and w.view["status"] == ""
    wrong = refused_url()
    w.type(wrong)
    w.keys("Return")  # Enter in a field runs Test
    got = w.shows(lambda v: v["status"] not in ("", CHECKING), "the test's answer in the window")
    assert got["status"].startswith(f"Nothing answers at {wrong} — check the address and the port")
    assert got["status_colour"] == "#c01c28", "the error is shown in red"
    assert got["address"] == wrong, "what was typed is still there"
    assert path.read_bytes() == before

    port = wrong.rsplit(":", 1)[1]
    w.keys("End", *["BackSpace"] * len(port))
    w.type(ollama_api.url.rsplit(":", 1)[1])
    w.keys("alt+t")  # the Test button's underlined letter
    got = w.shows(lambda v: v["status"].startswith("Works:"), "the test to pass")
    assert got["status"].startswith(f"Works: Ollama {OLLAMA_VERSION}, model {MODEL}, first token in")
    assert (got["address"], got["models"], got["model"]) == (ollama_api.url, [MODEL], MODEL)
    time.sleep(0.3)
    bare_x11.run("import", "-window", w.wid, str(x11_artifacts / "llm-dialog.png"))
    chats = len(ollama_api.posts())

    w.keys("alt+s")  # Save: just tested, so it saves without probing again, and closes
    assert w.closed() == got["status"][len("Works: "):-1]
    saved = settings_mod.load(path)
    assert (saved.remote_llm_url, saved.llm_api, saved.llm_model) == (ollama_api.url, "ollama", MODEL)
    assert len(ollama_api.posts()) == chats
    assert commands.live().remote_llm_url == ollama_api.url, "the running daemon switched at once"
    assert commands.status.current.message.startswith(f"Connected: Ollama {OLLAMA_VERSION}, model {MODEL}")


def test_esc_closes_with_nothing_written_and_a_pasted_link_fills_address_and_token(
        bare_x11: X11Session, commands: Commands, ollama_api: OllamaStandIn) -> None:
    path = commands.live.path
    before = path.read_bytes()
    w = Opened(bare_x11, commands)
    w.type(make_link(ollama_api.url, TOKEN, MODEL))
    w.keys("Tab")  # leaving the field reads the link
    got = w.shows(lambda v: v["address"] == ollama_api.url, "the link to fill the fields")
    assert got["token_typed"] and got["model"] == MODEL
    assert TOKEN not in str(got)
    w.keys("Escape")
    assert w.closed() is None
    assert path.read_bytes() == before
    assert ollama_api.posts() == [], "nothing was probed either"

    w = Opened(bare_x11, commands)  # Cancel is a button too: Tab to it and press Enter
    w.type("http://127.0.0.1:9")
    w.shows(lambda v: v["address"] == "http://127.0.0.1:9", "the typed address")
    w.keys("shift+Tab")  # from the address field back round to the last button: Cancel
    w.keys("Return")
    assert w.closed() is None
    assert path.read_bytes() == before
