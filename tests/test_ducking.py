"""Ducking for real: the fixture's private PulseAudio, another client (`pacat` playing silence, a real sink
input, started and killed here by pid) and its volume read back with `pactl -f json` (not the product's parser).

Only volumes on that private server change: PULSE_SERVER names it for the product's `pactl` calls (conftest
points every other test at no server at all)."""

from __future__ import annotations

import json
import logging
import os
import signal
import subprocess
import sys
import textwrap
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from daemon.settings import Settings
from daemon.speech.duck import make_backend
from daemon.speech.duck.ducker import Ducker
from daemon.speech.duck.journal import Journal
from daemon.speech.engines.system import SystemEngine
from daemon.speech.pipeline import Pipeline
from daemon.speech.player import Player
from daemon.speech.router import Router
from daemon.status import Activity, StatusBus
from tests.fixtures.audio import AlsaCapture
from tests.procs import stop_process

ROOT = Path(__file__).resolve().parent.parent


def _wait(check, timeout: float = 5.0):  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout
    while True:
        value = check()
        if value or time.monotonic() > deadline:
            return value
        time.sleep(0.02)


class OtherApp:
    """A second audio client: pacat playing silence into the test sink."""

    def __init__(self, server: str) -> None:
        self.env = dict(os.environ, PULSE_SERVER=server, LC_ALL="C")
        self.proc = subprocess.Popen(["pacat", "--playback", "--device=voxtray_test", "--format=s16le", "--rate=8000",
                                      "--channels=2", "--latency-msec=200", "/dev/zero"], env=self.env,
                                     stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        assert _wait(lambda: self._input() is not None), "pacat's sink input did not appear"

    def _input(self) -> dict | None:  # type: ignore[type-arg]
        out = subprocess.run(["pactl", "-f", "json", "list", "sink-inputs"], env=self.env, capture_output=True,
                             text=True, timeout=5, check=True).stdout
        mine = [i for i in json.loads(out) if i["properties"].get("application.process.id") == str(self.proc.pid)]
        return mine[0] if mine else None

    @property
    def volume(self) -> tuple[int, ...]:
        found = self._input()
        assert found is not None
        return tuple(int(ch["value"]) for ch in found["volume"].values())

    def set_volume(self, *raw: int) -> None:
        found = self._input()
        assert found is not None
        subprocess.run(["pactl", "set-sink-input-volume", str(found["index"]), *map(str, raw)], env=self.env,
                       check=True, timeout=5)

    def close(self) -> None:
        stop_process(self.proc)


@pytest.fixture
def pulse(alsa_capture: AlsaCapture, monkeypatch: pytest.MonkeyPatch) -> Iterator[AlsaCapture]:
    monkeypatch.setenv("PULSE_SERVER", alsa_capture.pulse_server)
    yield alsa_capture


@pytest.fixture
def other_app(pulse: AlsaCapture) -> Iterator[OtherApp]:
    app = OtherApp(pulse.pulse_server)
    app.set_volume(50001, 40003)  # not round: "exactly back" means these very numbers
    yield app
    app.close()


def _ducker(settings: Settings, status: StatusBus, tmp_path: Path) -> Ducker:
    return Ducker(settings, status, Journal(tmp_path / "ducked.json"), make_backend, hold_s=0.3)


def test_lowered_while_speaking_and_restored_exactly_after(other_app: OtherApp, pulse: AlsaCapture,
                                                           tmp_path: Path) -> None:
    """A real utterance (system voice -> Player -> the private PulseAudio) lowers the other app during speech."""
    settings = Settings(engine_order=["system"], use_local_cloning=False, duck_level=0.25)
    status = StatusBus()
    ducker = _ducker(settings, status, tmp_path)
    ducker.start()
    player = Player(sample_rate=pulse.rate)
    pipe = Pipeline(Router({"system": SystemEngine(settings)}, settings, status, probe=False), player, settings, status)
    during: list[tuple[int, ...]] = []

    def watch() -> None:
        _wait(lambda: pulse.read().size > 0 and status.current.activity is Activity.SPEAKING, 10)
        during.append(other_app.volume)  # audio is being played right now

    watcher = threading.Thread(target=watch)
    watcher.start()
    try:
        pipe.speak_text("The music is lowered now.")
        watcher.join(10)
        assert during == [(12500, 10001)], "lowered to 25 % while VoxTray speaks"
        assert other_app.volume == (12500, 10001), "still lowered within the hold after the last sample"
        assert _wait(lambda: other_app.volume == (50001, 40003), 3), f"not restored: {other_app.volume}"
        assert not (tmp_path / "ducked.json").exists()
    finally:
        pipe.close()
        player.close()
        ducker.close()


def test_a_volume_the_user_changed_meanwhile_is_left_alone(pulse: AlsaCapture, tmp_path: Path) -> None:
    """Two apps lowered; the user turns one up while VoxTray speaks: only the other comes back."""
    status = StatusBus()
    ducker = _ducker(Settings(duck_level=0.5), status, tmp_path)
    ducker.start()
    first, second = OtherApp(pulse.pulse_server), OtherApp(pulse.pulse_server)
    try:
        first.set_volume(60000, 60000)
        second.set_volume(30000, 20000)
        status.update(activity=Activity.SPEAKING)  # the pipeline's signal, as in the test above
        assert _wait(lambda: first.volume == (30000, 30000) and second.volume == (15000, 10000))
        first.set_volume(45000, 45000)  # the user, meanwhile
        status.update(activity=Activity.IDLE)
        assert _wait(lambda: second.volume == (30000, 20000), 3)
        time.sleep(0.2)
        assert first.volume == (45000, 45000)
    finally:
        ducker.close()
        first.close()
        second.close()


CRASH_CHILD = textwrap.dedent("""
    import sys, time
    from pathlib import Path
    from daemon.settings import Settings
    from daemon.speech.duck import make_backend
    from daemon.speech.duck.ducker import Ducker
    from daemon.speech.duck.journal import Journal
    from daemon.status import Activity, StatusBus
    status = StatusBus()
    Ducker(Settings(), status, Journal(Path(sys.argv[1])), make_backend).start()
    status.update(activity=Activity.SPEAKING)
    time.sleep(60)
""")


def test_a_crash_while_ducked_is_restored_at_the_next_start(other_app: OtherApp, tmp_path: Path) -> None:
    """A process ducking (the daemon's Ducker, on its own) is killed with SIGKILL; the next start restores."""
    journal = tmp_path / "ducked.json"
    child = subprocess.Popen([sys.executable, "-c", CRASH_CHILD, str(journal)], cwd=ROOT, env=dict(os.environ))
    try:
        assert _wait(lambda: other_app.volume == (15000, 12001), 10), f"never lowered: {other_app.volume}"
        assert journal.exists(), "the record is written before lowering"
        os.kill(child.pid, signal.SIGKILL)
        child.wait(5)
    finally:
        stop_process(child)
    time.sleep(0.2)
    assert other_app.volume == (15000, 12001), "nobody restored it yet"
    ducker = _ducker(Settings(), StatusBus(), tmp_path)
    ducker.start()
    try:
        assert _wait(lambda: other_app.volume == (50001, 40003), 5), f"not restored: {other_app.volume}"
        assert _wait(lambda: not journal.exists())
    finally:
        ducker.close()


def test_no_sound_server_logs_once_and_changes_nothing(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    """PulseAudio unreachable (conftest's PULSE_SERVER names no server): one warning, however often it speaks."""
    caplog.set_level(logging.WARNING, logger="daemon.speech.duck.ducker")
    status = StatusBus()
    ducker = _ducker(Settings(), status, tmp_path)
    ducker.start()
    try:
        for _ in range(3):
            started = time.monotonic()
            status.update(activity=Activity.SPEAKING)
            assert time.monotonic() - started < 0.05, "speech must never wait for the sound server"
            time.sleep(0.2)  # the worker tries the server meanwhile
            status.update(activity=Activity.IDLE)
    finally:
        ducker.close()
    lines = [r.getMessage() for r in caplog.records if "not lowered" in r.getMessage()]
    assert len(lines) == 1, lines
    assert not (tmp_path / "ducked.json").exists()
