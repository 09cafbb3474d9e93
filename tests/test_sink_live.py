"""The daemon's sink follows the settings after a reload: volume from the next chunk, another output device
reopened at the next quiet moment, a device that is not there replaced by the default one (tests/test_output_device.py:
unplugged mid-sentence).

Real: PortAudio into the ALSA `file` capture (tests/fixtures/audio.py) and a second ALSA device
(`voxtray_pulse`, the same PulseAudio null sink without the capture file in front).
"""

from __future__ import annotations

import time

import numpy as np

from daemon.settings import Settings
from daemon.speech.sinks import LiveSink
from daemon.status import StatusBus
from tests.fixtures.audio import AlsaCapture


def _tone(rate: int, seconds: float = 0.4, amplitude: float = 0.5) -> np.ndarray:
    t = np.arange(int(rate * seconds)) / rate
    return (amplitude * np.sin(2 * np.pi * 440 * t)).astype(np.float32)


def _say(sink: LiveSink, rate: int) -> None:
    sink.play(_tone(rate), rate)
    sink.end_source()
    assert sink.drain(5.0)
    time.sleep(0.6)  # past the device's latency: every frame of this tone is in the capture file before a mark


def _peak(x: np.ndarray) -> float:
    return float(np.percentile(np.abs(x), 99.5)) if x.size else 0.0


def test_live_sink_applies_volume_and_device_from_the_settings(alsa_capture: AlsaCapture) -> None:
    rate = alsa_capture.rate
    current = [Settings(output_sample_rate=rate, volume=1.0)]
    status = StatusBus()
    sink = LiveSink(lambda: current[0], status)
    try:
        _say(sink, rate)
        first = alsa_capture.wait_for_audio(0.3)
        loud_before = _peak(first)
        assert loud_before > 0.4, "the first tone did not reach the capture"

        current[0] = current[0].model_copy(update=dict(volume=0.25))
        mark = alsa_capture.read().size
        _say(sink, rate)  # same stream, the new gain
        quiet = _peak(alsa_capture.read()[mark:])
        assert 0.2 * loud_before < quiet < 0.3 * loud_before, (loud_before, quiet)

        current[0] = current[0].model_copy(update=dict(output_device="no-such-card"))
        alsa_capture.reset()  # (a new stream on the default device starts a new capture file)
        _say(sink, rate)  # the device is gone: the default device plays it, the user is told
        assert status.current.message == "Headphones (no-such-card) gone: speaking on the default device"
        assert _peak(alsa_capture.wait_for_audio(0.3)) > 0.1  # (at volume 0.25)

        current[0] = current[0].model_copy(update=dict(output_device="voxtray_pulse", volume=1.0))
        mark = alsa_capture.read().size
        _say(sink, rate)  # reopened on the other device: nothing more reaches the default device's capture
        assert status.current.message == ""
        assert _peak(alsa_capture.read()[mark:]) < 0.01

        alsa_capture.reset()
        current[0] = current[0].model_copy(update=dict(output_device=None))
        _say(sink, rate)  # and back on the default device, at full volume
        assert _peak(alsa_capture.wait_for_audio(0.3)) > 0.4
    finally:
        sink.close()
