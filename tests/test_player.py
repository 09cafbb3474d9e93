"""The player through the REAL sounddevice -> PortAudio -> ALSA file plugin -> PulseAudio null sink path."""

from __future__ import annotations

import time

import numpy as np
import pytest

from daemon.audio import read_wav
from daemon.errors import AudioDeviceError
from daemon.speech.player import Player
from daemon.speech.sinks import WavSink
from tests.fixtures.audio import AlsaCapture, loud


def tone(freq: float, seconds: float, rate: int, amp: float = 0.4) -> np.ndarray:
    t = np.arange(int(seconds * rate)) / rate
    return (amp * np.sin(2 * np.pi * freq * t)).astype(np.float32)


def dominant_freq(x: np.ndarray, rate: int) -> float:
    spec = np.abs(np.fft.rfft(x * np.hanning(x.size)))
    return float(np.argmax(spec) * rate / x.size)


def test_played_audio_reaches_the_device_resampled_and_complete(alsa_capture: AlsaCapture) -> None:
    player = Player(sample_rate=alsa_capture.rate)
    try:
        player.play(tone(440, 1.0, 24000), 24000)
        player.end_source()
        t0 = time.monotonic()
        assert player.drain(timeout=10)
        took = time.monotonic() - t0
    finally:
        player.close()
    data = alsa_capture.read()
    body = data[np.abs(data) > 0.02]
    assert abs(body.size / alsa_capture.rate - 1.0) < 0.05  # one second, at the device's rate
    assert abs(dominant_freq(data[np.abs(data) > 1e-4], alsa_capture.rate) - 440) < 5
    assert took > 0.5  # the null sink is a real clock: playback takes real time


def test_stop_cuts_playback_within_50_ms(alsa_capture: AlsaCapture) -> None:
    player = Player(sample_rate=alsa_capture.rate)
    try:
        player.play(tone(300, 4.0, alsa_capture.rate), alsa_capture.rate)
        alsa_capture.wait_for_audio(0.3)
        before = loud(alsa_capture.read())
        t0 = time.monotonic()
        player.stop()
        stop_took = time.monotonic() - t0
        assert player.drain(timeout=1)
        time.sleep(0.3)  # let anything that would still play reach the capture file
        after = loud(alsa_capture.read())
    finally:
        player.close()
    assert stop_took < 0.05
    assert (after - before) / alsa_capture.rate < 0.05
    assert after / alsa_capture.rate < 2.0  # far less than the 4 s queued


def test_sources_at_different_rates_join_without_a_click(alsa_capture: AlsaCapture) -> None:
    player = Player(sample_rate=alsa_capture.rate)
    try:
        player.play(tone(440, 0.5, 24000), 24000)
        player.end_source()
        player.play(tone(440, 0.5, 22050), 22050)
        player.end_source()
        assert player.drain(timeout=10)
    finally:
        player.close()
    data = alsa_capture.read()
    jumps = np.abs(np.diff(data))
    # a 440 Hz tone at 0.4 amplitude changes by at most 2*pi*440*0.4/48000 ~ 0.023 per sample
    assert jumps.max() < 0.06


def test_wav_sink_writes_one_file_at_its_rate(tmp_path: pytest.TempPathFactory) -> None:
    out = tmp_path / "x.wav"  # type: ignore[operator]
    sink = WavSink(out, sample_rate=24000)
    sink.play(tone(500, 0.5, 22050), 22050)
    sink.end_source()
    sink.close()
    samples, rate = read_wav(out)
    assert rate == 24000 and abs(samples.size / rate - 0.5) < 0.01


def test_unknown_output_device_names_the_devices_there(alsa_capture: AlsaCapture) -> None:
    with pytest.raises(AudioDeviceError, match=r"was not found\. Output devices here"):
        Player(device="no-such-card")


def test_a_warmed_stream_plays_at_once(alsa_capture: AlsaCapture) -> None:
    """warm() (called by the ask hotkey while the user types) pays the device's start-up before speech.

    In this rig (ALSA over PulseAudio) a cold stream takes ~1.8 s to start consuming; warmed, the first
    frames reach the device within a few blocks.
    """
    player = Player(sample_rate=alsa_capture.rate)
    try:
        assert player.warm(timeout=10)
        assert loud(alsa_capture.read()) == 0  # warm means silence so far
        t0 = time.monotonic()
        player.play(tone(440, 0.5, 24000), 24000)
        alsa_capture.wait_for_audio(0.01, timeout=5)
        first = time.monotonic() - t0
        assert player.drain(timeout=5)
    finally:
        player.close()
    assert first < 0.3, f"first audio {first:.2f} s after play() on a warm stream"
