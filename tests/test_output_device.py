"""The tray's Output device: the list (one host API, once per name, without the default's aliases), the choice
by name, and speech that goes on on the default device when the chosen one is unplugged mid-sentence and back
on it when it returns.

Real: PortAudio over ALSA into two PulseAudio servers (tests/fixtures/audio.py): the default device's null sink
and the headphones' (`voxtray_phones`), each behind an ALSA `file` PCM that records every frame PortAudio
handed to it; unplugging unloads the headphones' sink (pactl), which kills their stream.
"""

from __future__ import annotations

import json
import time
from pathlib import Path

import numpy as np

from daemon import settings as settings_mod
from daemon.audio import FADE_S
from daemon.commands import Commands
from daemon.desktop.traymenu import Handlers, MenuModel, build_menu, find
from daemon.live import LiveSettings
from daemon.settings import Settings
from daemon.speech import devices
from daemon.speech.sinks import QUIET_S, LiveSink
from daemon.status import Status, StatusBus
from tests.fixtures.audio import AlsaCapture, Phones

GONE = "Headphones (voxtray_phones) gone: speaking on the default device"


def _speech(rate: int, seconds: float, seed: int = 1) -> np.ndarray:
    """A signal whose every sample is loud and unlike its neighbours, so where a capture starts in it is exact."""
    rng = np.random.default_rng(seed)
    return (rng.uniform(0.1, 0.6, int(rate * seconds)) * rng.choice([-1.0, 1.0], int(rate * seconds))).astype(
        np.float32)


def _heard(x: np.ndarray) -> np.ndarray:
    return x[np.abs(x) > 0.05]


def _where(signal: np.ndarray, part: np.ndarray) -> int:
    """Where `part` (at least 64 samples) starts in `signal`; -1 when it does not."""
    head = part[:64]
    for k in np.flatnonzero(np.abs(signal - head[0]) < 1e-6):
        if np.allclose(signal[k:k + 64], head, atol=1e-6):
            return int(k)
    return -1


def _settled(capture: AlsaCapture, quiet_s: float = 0.3, timeout: float = 10.0) -> np.ndarray:
    """The capture once it stopped gaining loud samples for `quiet_s` (bounded)."""
    deadline, last, since = time.monotonic() + timeout, -1, time.monotonic()
    while True:
        data = capture.read()
        count = int(np.count_nonzero(np.abs(data) > 0.05))
        if count != last:
            last, since = count, time.monotonic()
        elif time.monotonic() - since >= quiet_s or time.monotonic() > deadline:
            return data
        time.sleep(0.02)


def test_the_list_is_portaudios_alsa_devices_by_name(phones: Phones) -> None:
    names = [d.name for d in devices.rescan()]
    assert "voxtray_phones" in names and "voxtray_pulse" in names
    assert "default" not in names  # the menu's "System default"
    assert len(names) == len(set(names))
    assert devices.last_list() == devices.output_devices()


def test_unplugged_mid_sentence_the_rest_plays_on_the_default_device(phones: Phones,
                                                                      alsa_capture: AlsaCapture) -> None:
    rate = alsa_capture.rate
    status = StatusBus()
    sink = LiveSink(Settings(output_device="voxtray_phones", output_sample_rate=rate), status)
    sentence = _speech(rate, 2.5)
    try:
        sink.play(sentence, rate)
        sink.end_source()
        phones.capture.wait_for_audio(0.6, threshold=0.05)  # the headphones are playing it
        phones.unplug()
        assert sink.drain(20.0), "the rest of the sentence was never played"
        on_phones = _heard(phones.capture.read())
        stopped = _where(sentence, on_phones[-64:]) + 64  # where the headphones' part ends (it starts faded in)
        rest = (sentence.size - stopped) / rate
        alsa_capture.wait_for_audio(rest - 0.15, threshold=0.05)  # the capture file lags the stream: let it settle
        on_default = _heard(_settled(alsa_capture))
        assert status.current.message == GONE
        start = _where(sentence, on_default)
        assert stopped > rate // 2 and start > 0, "the rest did not reach the default device"
        # the rest starts where the headphones stopped: nothing replayed; skipped only what PortAudio had handed to
        # the dying stream that never reached its device (a block or two here: documented as under 0.1 s)
        assert 0 <= start - stopped <= int(0.1 * rate), (start, stopped)
        whole = sentence.size - start - int(FADE_S * rate)  # up to the sentence's fade-out, every sample as it was
        assert on_default.size >= whole and np.allclose(on_default[:whole], sentence[start:start + whole], atol=1e-6)

        phones.plug()  # back: the next utterance goes to the headphones again
        phones.capture.reset()
        mark = alsa_capture.read().size
        time.sleep(QUIET_S + 0.1)
        sink.play(_speech(rate, 0.5, seed=2), rate)
        sink.end_source()
        assert sink.drain(20.0)
        assert _heard(phones.capture.wait_for_audio(0.4, threshold=0.05)).size >= 0.4 * rate
        assert _heard(alsa_capture.read()[mark:]).size == 0
        assert status.current.message == ""
    finally:
        sink.close()


def _menu(commands: Commands) -> tuple[tuple[str, bool | None, bool], ...]:
    """The Output device submenu as the tray builds it from the daemon's verbs: (text, checked, enabled)."""
    outputs, output = commands.output_devices()
    h = Handlers(**{n: (lambda *a: None) for n in Handlers.__dataclass_fields__})
    h = Handlers(**{**h.__dict__, "set_output": commands.set_output_device})
    menu = build_menu(Status(), MenuModel(outputs=outputs, output=output), h)
    entry = find(menu, "Output device")
    _menu.entries = entry.submenu  # type: ignore[attr-defined]
    return tuple((e.text, e.checked, e.enabled) for e in entry.submenu)


def test_the_menu_lists_the_devices_and_the_choice_survives_a_restart(phones: Phones, tmp_path: Path) -> None:
    path = tmp_path / "settings.json"
    settings_mod.save(Settings(use_local_cloning=False), path)
    commands = Commands(LiveSettings(path, settings_mod.load(path)), StatusBus(), lambda: None, quit=lambda: None)
    devices.rescan()
    listed = _menu(commands)
    assert listed[0] == ("System default", True, True)
    assert ("voxtray_phones", False, True) in listed and ("voxtray_pulse", False, True) in listed
    assert not any(text == "default" for text, _, _ in listed)

    next(e for e in _menu.entries if e.text == "voxtray_phones").action()  # type: ignore[attr-defined]
    assert json.loads(path.read_text())["output_device"] == "voxtray_phones"
    restarted = Commands(LiveSettings(path, settings_mod.load(path)), StatusBus(), lambda: None, quit=lambda: None)
    assert ("voxtray_phones", True, True) in _menu(restarted) and _menu(restarted)[0][1] is False

    h = Handlers(**{n: (lambda *a: None) for n in Handlers.__dataclass_fields__})
    gone = find(build_menu(Status(), MenuModel(outputs=("voxtray_pulse",), output="voxtray_phones"), h), "Output device")
    assert [(e.text, e.checked, e.enabled) for e in gone.submenu] == [
        ("System default", False, True), ("voxtray_pulse", False, True), ("voxtray_phones (not connected)", True, False)]
    next(e for e in _menu.entries if e.text == "System default").action()  # type: ignore[attr-defined]
    assert json.loads(path.read_text())["output_device"] is None
