"""Speed and volume (#21): one speech_speed and one volume for every voice, from the tray, from the next sentence.

Real: espeak-ng through SystemEngine (speed = the spoken duration ratio), the real edge-tts client against the
loopback stand-in (its SSML records the rate), the tiny random-weight XTTS (its sentences always run to the token
cap, so the audio length is the frames the speed gives), Router, Pipeline, LiveSink/Player into the ALSA capture
(volume = the RMS ratio of what was played), Commands writing settings.json, the tray's menu model read by the
real Tray from the live settings. Faked: nothing but SAPI, which cannot exist here (its rate is checked at the
child's command line and at SAPI's own Rate scale).
"""

from __future__ import annotations

import shutil
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from daemon import settings as settings_mod
from daemon.commands import Commands
from daemon.desktop.traymenu import Handlers, MenuModel, build_menu, find
from daemon.live import LiveSettings
from daemon.settings import Settings
from daemon.speech.engines.base import Engine
from daemon.speech.engines.edge import EdgeEngine
from daemon.speech.engines.sapi import SapiBackend
from daemon.speech.engines.system import SystemEngine
from daemon.speech.pipeline import Pipeline
from daemon.speech.router import Router
from daemon.speech.sapi_child import wpm_to_rate
from daemon.speech.sinks import LiveSink
from daemon.status import Status, StatusBus
from daemon.voices import VoiceRef
from tests.fixtures.audio import AlsaCapture
from tests.fixtures.edge_server import EdgeStandIn

needs_espeak = pytest.mark.skipif(shutil.which("espeak-ng") is None, reason="espeak-ng is not installed")
FOX = "The quick brown fox jumps over the lazy dog and then runs far away into the woods."


@pytest.fixture
def live(tmp_path: Path) -> LiveSettings:
    path = tmp_path / "settings.json"
    settings_mod.save(Settings(use_local_cloning=False), path)
    return LiveSettings(path, settings_mod.load(path, check=False))


def commands(live: LiveSettings) -> Commands:
    return Commands(live, StatusBus(), lambda: None, quit=lambda: None)


def test_one_speed_maps_onto_each_engine_and_the_old_settings_are_per_engine_trims() -> None:
    assert (Settings().edge_rate(), Settings().system_wpm()) == ("+0%", 175)
    fast = Settings(speech_speed=1.5, edge_tts_rate="+10%", system_rate=200)
    assert fast.edge_rate() == "+65%" and fast.system_wpm() == 300  # (1 + 10 %) x 1.5; 200 wpm x 1.5
    assert Settings(speech_speed=0.8).edge_rate() == "-20%"
    assert Settings(speech_speed=2.0, edge_tts_rate="+50%").edge_rate() == "+100%"  # the service's own limit
    assert Settings(speech_speed=2.0, system_rate=400).system_wpm() == 500


def test_the_menus_check_the_current_preset_and_clicks_pass_the_value() -> None:
    calls: list[tuple[str, Any]] = []
    h = Handlers(**{n: (lambda *a, n=n: calls.append((n, a))) for n in Handlers.__dataclass_fields__})
    menu = build_menu(Status(), MenuModel(speed=1.25, volume=0.5), h)
    assert [(e.text, e.checked) for e in find(menu, "Speed").submenu] == [
        ("0.8×", False), ("1×", False), ("1.25×", True), ("1.5×", False)]
    assert [(e.text, e.checked) for e in find(menu, "Volume").submenu] == [
        ("Quiet", True), ("Normal", False), ("Loud", False)]
    for path in (("Speed", "1.5×"), ("Volume", "Loud")):
        action = find(menu, *path).action
        assert action is not None
        action()
    assert calls == [("set_speed", (1.5,)), ("set_volume", (1.5,))]
    custom = find(build_menu(Status(), MenuModel(speed=1.1, volume=0.7), h), "Speed").submenu
    assert (custom[0].text, custom[0].checked, custom[0].enabled) == ("1.1× (settings.json)", True, False)
    assert [e.checked for e in custom[1:]] == [False] * 4, "no preset claims to be in use"


def test_a_tray_choice_is_saved_survives_a_restart_and_the_menu_follows_it(live: LiveSettings) -> None:
    from daemon.desktop.tray import Tray

    cmd = commands(live)
    cmd.set_speed(1.5)
    cmd.set_volume(0.5)
    assert (live().speech_speed, live().volume) == (1.5, 0.5)
    again = settings_mod.load(live.path, check=False)  # a restart reads settings.json
    assert (again.speech_speed, again.volume, again.use_local_cloning) == (1.5, 0.5, False)
    tray = Tray(StatusBus(), cmd, live)
    model = tray._read_model()  # what the render thread rebuilds the menu from
    menu = build_menu(Status(), model, tray.handlers)
    assert [e.text for e in find(menu, "Speed").submenu if e.checked] == ["1.5×"]
    assert [e.text for e in find(menu, "Volume").submenu if e.checked] == ["Quiet"]
    cmd.set_speed(0.8)
    assert [e.text for e in find(build_menu(Status(), tray._read_model(), tray.handlers), "Speed").submenu
            if e.checked] == ["0.8×"]


@needs_espeak
def test_espeak_speaks_one_and_a_half_times_as_fast_at_1_5x(live: LiveSettings) -> None:
    engine = SystemEngine(live)
    try:
        normal = engine.synthesize(FOX).size
        commands(live).set_speed(1.5)  # the same engine: read at the next sentence, no restart
        fast = engine.synthesize(FOX).size
        commands(live).set_speed(0.8)
        slow = engine.synthesize(FOX).size
    finally:
        engine.close()
    assert normal / fast == pytest.approx(1.5, rel=0.1)  # measured 1.42 (espeak-ng keeps some pauses)
    assert slow / normal == pytest.approx(1.25, rel=0.1)  # measured 1.23


def test_edge_tts_is_sent_the_combined_rate(edge_server: EdgeStandIn, live: LiveSettings) -> None:
    live.update(edge_tts_rate="+10%")
    engine = EdgeEngine(live)
    try:
        engine.synthesize("Sentence 1.")
        commands(live).set_speed(1.5)
        engine.synthesize("Sentence 2.")
    finally:
        engine.close()
    assert ["rate='+10%'" in s for s in edge_server.ssml] == [True, False]
    assert "rate='+65%'" in edge_server.ssml[1]


def test_sapi_gets_the_words_per_minute_of_the_speed() -> None:
    """SAPI is faked here (cannot exist on Linux): the child's command line and SAPI's Rate scale are checked."""
    argv = SapiBackend().argv(Path("out.wav"), Settings(speech_speed=1.5))
    assert "--wpm=262" in argv and wpm_to_rate(262) == 4  # SAPI's Rate +4 is ~1.55x its default speed
    assert wpm_to_rate(Settings(speech_speed=0.8).system_wpm()) == -2


def test_xtts_gets_the_speed_at_every_sentence(live: LiveSettings) -> None:
    """The options of each stream_sentence call (no model needed); what speed does to the audio is proved on the
    tiny XTTS in test_xtts_streamer.py (test_speed_stretches_the_frames_...)."""
    from daemon.speech.xtts.engine import XttsEngine

    engine = XttsEngine(live())
    engine.settings = live  # as the daemon's factory hands it the live provider
    assert engine._options()["speed"] == 1.0
    commands(live).set_speed(1.5)
    assert engine._options()["speed"] == 1.5


class Hooked(Engine):
    """The real engine, with a call before each sentence (the tray click that lands during an answer)."""

    def __init__(self, inner: Engine, before: dict[int, Any]) -> None:
        self.inner, self.before, self.count = inner, before, 0
        self.name, self.label, self.sample_rate = inner.name, inner.label, inner.sample_rate
        self.last_resort = inner.last_resort

    def ready(self) -> bool:
        return self.inner.ready()

    def close(self) -> None:
        self.inner.close()

    def stream(self, text: str, voice: VoiceRef | None = None, language: str = "") -> Iterator[np.ndarray]:
        self.count += 1
        if self.count in self.before:
            self.before[self.count]()
        yield from self.inner.stream(text, voice, language)


class Rig:
    """The real Router, Pipeline and LiveSink (one sound output for the whole test), all following `live`."""

    def __init__(self, live: LiveSettings, engines: list[Engine], capture: AlsaCapture) -> None:
        status = StatusBus()
        self.capture = capture
        self.router = Router({e.name: e for e in engines}, live, status, probe=False)
        self.sink = LiveSink(live, status)
        self.pipe = Pipeline(self.router, self.sink, live, status)

    def speak(self, text: str) -> np.ndarray:
        """`text` spoken; the samples captured meanwhile (the capture file stays open: it is sliced, not reset)."""
        start = self.capture.read().size
        result = self.pipe.speak_text(text)
        assert result.engines and self.sink.drain(5), result
        time.sleep(0.3)  # the device's own buffer reaches the capture (silence follows: it adds nothing)
        return self.capture.read()[start:]

    def close(self) -> None:
        self.pipe.close()
        self.router.close()
        self.sink.close()
        for engine in self.router.engines.values():
            engine.close()


def rms(x: np.ndarray) -> float:
    return float(np.sqrt(np.sum(x.astype(np.float64) ** 2)))  # the sum, not the mean: padding silence adds 0


@needs_espeak
def test_volume_presets_change_the_loudness_of_two_voices_alike(
    live: LiveSettings, alsa_capture: AlsaCapture, edge_server: EdgeStandIn
) -> None:
    live.update(output_sample_rate=alsa_capture.rate, engine_order=["edge", "system"])
    cmd = commands(live)
    rig = Rig(live, [SystemEngine(live), EdgeEngine(live)], alsa_capture)
    ratios = {}
    try:
        for name in ("system", "edge"):
            cmd.set_engine(name)
            cmd.set_volume(1.0)
            normal = rig.speak("Sentence 1.")
            cmd.set_volume(0.5)
            quiet = rig.speak("Sentence 1.")
            assert rms(normal) > 1.0, "something was heard"
            ratios[name] = rms(quiet) / rms(normal)
    finally:
        rig.close()
    assert ratios == pytest.approx({"system": 0.5, "edge": 0.5}, abs=0.03), ratios


def bursts(audio: np.ndarray, rate: int, gap_s: float = 0.15) -> list[np.ndarray]:
    """The captured audio split at silences longer than gap_s (10 ms frames below -50 dBFS)."""
    n = rate // 100
    frames = audio[: audio.size - audio.size % n].reshape(-1, n)
    loud = np.flatnonzero(np.sqrt(np.mean(frames**2, axis=1)) > 10 ** (-50 / 20))
    if not loud.size:
        return []
    cuts = np.flatnonzero(np.diff(loud) > gap_s * 100)
    starts = [loud[0], *loud[cuts + 1]]
    ends = [*loud[cuts], loud[-1]]
    return [audio[s * n : (e + 1) * n] for s, e in zip(starts, ends, strict=True)]


@needs_espeak
def test_a_change_during_an_answer_applies_from_the_next_sentence(
    live: LiveSettings, alsa_capture: AlsaCapture
) -> None:
    live.update(output_sample_rate=alsa_capture.rate, engine_order=["system"], sentence_gap_s=0.5)
    cmd = commands(live)
    rig = Rig(live, [Hooked(SystemEngine(live), {2: lambda: (cmd.set_speed(1.5), cmd.set_volume(0.5))})], alsa_capture)
    try:
        audio = rig.speak("The quick brown fox jumps. " * 2)
    finally:
        rig.close()
    first, second = bursts(audio, alsa_capture.rate, gap_s=0.3)
    assert first.size / second.size == pytest.approx(1.5, rel=0.15), (first.size, second.size)
    loud1, loud2 = (float(np.percentile(np.abs(b), 99)) for b in (first, second))
    assert loud2 / loud1 == pytest.approx(0.5, abs=0.1), (loud1, loud2)


def test_loud_bends_peaks_instead_of_clipping() -> None:
    """Volume Loud (gain 1.5) on a full-scale sentence: what the player is handed never passes full scale (a hard
    clip at the converter would crackle), quiet parts are exactly 1.5x, and the whole is louder than Normal."""
    from daemon.speech.resampling import KNEE, Resampling

    rate = 24000
    t = np.arange(rate, dtype=np.float32) / rate
    sentence = (np.sin(2 * np.pi * 220 * t) * np.linspace(0.1, 1.0, rate)).astype(np.float32)  # swells to full
    normal = Resampling(rate, 1.0).convert(sentence, rate)
    loud = Resampling(rate, 1.5).convert(sentence, rate)
    assert float(np.max(np.abs(loud))) <= 1.0
    quiet = np.abs(normal) * 1.5 <= KNEE
    quiet[: rate // 100] = False  # the fade-in at a source's start
    assert np.allclose(loud[quiet], normal[quiet] * 1.5, atol=1e-6)
    rms = lambda x: float(np.sqrt(np.mean(np.square(x))))  # noqa: E731
    assert rms(loud) > 1.3 * rms(normal)
