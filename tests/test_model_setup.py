"""The daemon's side of getting the cloned voice's model (daemon/modelsetup.py), in-process: what the Status bus
says when it is missing, the saved acceptance, the real download from the loopback stand-in
(tests/fixtures/model_server.py) with its progress on the bus, cancel, a failure, and a picked folder.
`on_ready` (which loads XTTS in the daemon) is a recorder here; loading after a download is proven end to end in
test_first_run_x11.py."""

from __future__ import annotations

import json
import threading
from pathlib import Path

import pytest

from daemon import settings as settings_mod
from daemon.desktop.traymenu import GET_MODEL_ITEM
from daemon.errors import SettingsError
from daemon.live import LiveSettings
from daemon.modelsetup import ModelSetup, offer_facts
from daemon.settings import Settings
from daemon.status import SETUP_DOWNLOADING, SETUP_FAILED, SETUP_NEEDED, Status, StatusBus
from tests.fixtures.model_server import ModelServer
from tests.fixtures.x11 import wait_for


class Harness:
    def __init__(self, tmp_path: Path, **settings: object) -> None:
        self.path = tmp_path / "settings.json"
        settings_mod.save(Settings(use_local_cloning=True, cloning_reference_file=str(tmp_path / "v.wav"),
                                   **settings), self.path)  # type: ignore[arg-type]
        self.live = LiveSettings(self.path, settings_mod.load(self.path, check=False))
        self.bus = StatusBus()
        self.told: list[str] = []
        self.ready = threading.Event()
        self.notes: list[Status] = []
        self.bus.subscribe(lambda _old, new: self.notes.append(new))
        self.setup = ModelSetup(self.live, self.bus, on_ready=self.ready.set, tell=self.told.append)


def test_missing_model_without_the_licence_says_what_to_do_and_downloads_nothing(
        tmp_path: Path, model_server: ModelServer) -> None:
    h = Harness(tmp_path, xtts_download_url=model_server.url)
    h.setup.check()
    assert h.bus.current.model_setup == SETUP_NEEDED
    assert h.setup.busy(), "XTTS must not try to load a model that is not there"
    assert h.told == [], "the welcome notification (desktop/notify.py, from model_setup) says it: one notice, not two"
    assert h.bus.current.setup_note == "The cloned voice needs a one-time download"
    assert model_server.seen == [], "nothing is asked of the server before the licence is accepted"


def test_accepting_saves_the_choice_downloads_with_progress_on_the_bus_and_then_loads(
        tmp_path: Path, model_server: ModelServer) -> None:
    model_server.rate_bps = 600_000  # ~0.5 s: several progress lines
    h = Harness(tmp_path, xtts_download_url=model_server.url)
    h.setup.check()
    h.setup.accept_and_download()
    assert json.loads(h.path.read_text())["xtts_license_accepted"] is True, "saved, not only in memory"
    assert h.ready.wait(30), "on_ready (load XTTS) after the download"
    assert h.bus.current.model_setup == "" and h.bus.current.setup_note == ""
    notes = [s.setup_note for s in h.notes if s.model_setup == SETUP_DOWNLOADING]
    percents = [int(n.split(": ")[1].split(" %")[0]) for n in notes if " %" in n]
    assert percents and percents == sorted(percents), notes
    assert any("The cloned voice is downloaded" in t for t in h.told)
    assert not h.setup.busy()


def test_an_accepted_licence_at_start_downloads_at_once(tmp_path: Path, model_server: ModelServer) -> None:
    h = Harness(tmp_path, xtts_download_url=model_server.url, xtts_license_accepted=True)
    h.setup.check()
    assert h.ready.wait(30)


def test_cancel_pauses_and_says_how_to_resume(tmp_path: Path, model_server: ModelServer) -> None:
    model_server.rate_bps = 50_000  # slow: minutes for the whole file
    h = Harness(tmp_path, xtts_download_url=model_server.url, xtts_license_accepted=True)
    h.setup.check()
    wait_for(lambda: model_server.gets("model.pth"), 20, "the download of model.pth to begin")
    h.setup.cancel()
    wait_for(lambda: h.bus.current.model_setup == SETUP_NEEDED, 10, "the cancelled state on the bus")
    assert "resumes" in h.bus.current.setup_note
    assert any("paused" in t and GET_MODEL_ITEM in t for t in h.told)
    assert not h.ready.is_set()


def test_a_failed_download_is_on_the_bus_with_what_to_do(tmp_path: Path, model_server: ModelServer) -> None:
    model_server.corrupt["model.pth"] = 5  # every try damaged: verification fails twice
    h = Harness(tmp_path, xtts_download_url=model_server.url, xtts_license_accepted=True)
    h.setup.check()
    wait_for(lambda: h.bus.current.model_setup == SETUP_FAILED, 30, "the failure on the bus")
    assert h.bus.current.setup_note and h.told[-1] == h.bus.current.setup_note
    assert not h.ready.is_set(), "nothing unverified is loaded"


def test_a_picked_folder_is_checked_then_saved_and_loaded(tmp_path: Path, model_server: ModelServer) -> None:
    h = Harness(tmp_path, xtts_download_url=model_server.url)
    h.setup.check()
    bad = tmp_path / "not-a-model"
    bad.mkdir()
    before = h.path.read_bytes()
    with pytest.raises(SettingsError, match="not an XTTS v2 model folder"):
        h.setup.use_folder(bad)
    assert h.path.read_bytes() == before, "a bad folder changes nothing"
    good = tmp_path / "xtts"
    good.mkdir()
    for name, data in model_server.files.items():
        (good / name).write_bytes(data)
    h.setup.use_folder(good)
    assert json.loads(h.path.read_text())["xtts_model_path"] == str(good)
    assert h.ready.is_set() and h.bus.current.model_setup == ""


def test_the_dialog_says_size_place_free_space_and_licence(tmp_path: Path) -> None:
    facts = offer_facts(Settings())
    assert facts["size_text"].startswith("about ") and facts["size_text"].endswith(" GB")
    assert "free there" in facts["free_text"]
    assert facts["license_url"].startswith("https://") and "non-commercial" in facts["license_summary"].lower()


def test_quitting_mid_download_stops_it_without_a_paused_notification(
        tmp_path: Path, model_server: ModelServer) -> None:
    model_server.rate_bps = 50_000
    h = Harness(tmp_path, xtts_download_url=model_server.url, xtts_license_accepted=True)
    h.setup.check()
    wait_for(lambda: model_server.gets("model.pth"), 20, "the download of model.pth to begin")
    assert any(t.name == "model-download" for t in threading.enumerate())  # 300 kB at 50 kB/s: ~6 s to go
    h.setup.close()
    assert not any(t.name == "model-download" for t in threading.enumerate()), "the download went on after close()"
    assert not any("paused" in t for t in h.told), h.told
