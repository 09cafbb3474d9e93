"""Pause / resume / repeat (#21) on the REAL audio path: Player -> sounddevice -> PortAudio -> ALSA file plugin
(every frame played is captured) -> PulseAudio null sink (a real clock); the answers come from the loopback LLM
stand-in (it counts requests) and are spoken by the real system voice (espeak-ng). Nothing is faked. The last
test runs the whole daemon (App) under Xvfb: xdotool presses the pause hotkey (pynput), then the tray's commands."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

from daemon.app import App
from daemon.assistant import Assistant
from daemon.brain.client import LLMClient
from daemon.brain.conversation import Conversation
from daemon.settings import Settings, load
from daemon.speech.player import Player
from daemon.speech.resampling import Resampling
from daemon.speech.sinks import LiveSink
from daemon.speech.stack import SpeechStack, build
from daemon.status import StatusBus
from tests.fixtures.audio import AlsaCapture, loud
from tests.fixtures.llm_server import warm
from tests.waits import wait_for


def chirp(seconds: float, rate: int) -> np.ndarray:
    """A rising tone that never crosses zero: every sample differs from its neighbours, so a lost or repeated
    sample anywhere shows in an exact comparison."""
    t = np.arange(int(seconds * rate)) / rate
    return (0.1 + 0.3 * (1 + np.sin(2 * np.pi * (200 + 300 * t) * t))).astype(np.float32)


def sound(x: np.ndarray) -> np.ndarray:
    """The samples that are not exact silence (pre-fill, pauses and sentence gaps are exact zeros)."""
    return x[x != 0.0]


def grows(capture: AlsaCapture, seconds: float) -> int:
    """How many samples the device was handed during `seconds`."""
    before = capture.read().size
    time.sleep(seconds)
    return capture.read().size - before


def test_pause_holds_the_sample_and_resume_goes_on_from_it(alsa_capture: AlsaCapture) -> None:
    rate = alsa_capture.rate
    signal = chirp(1.0, rate)
    expected = Resampling(rate).convert(signal, rate)  # what the player makes of it (the fade-in at its start)
    player = Player(sample_rate=rate)
    try:
        player.play(signal, rate)
        alsa_capture.wait_for_audio(0.4)
        player.pause()
        t0 = time.monotonic()
        assert player.paused and not player.drain(0.3)
        assert grows(alsa_capture, 0.4) == 0  # the stream is stopped: no callbacks, not even silence
        player.play(chirp(0.2, rate), rate)  # more audio may be queued while paused: it waits
        assert grows(alsa_capture, 0.2) == 0
        player.stop()  # the stop hotkey still stops a paused player: all of it dropped
        assert not player.paused and player.idle
        player.play(signal, rate)
        alsa_capture.wait_for_audio(1.4)  # 0.4+ s before the first pause, then this one
        player.pause()
        time.sleep(0.3)
        player.resume()
        assert player.drain(timeout=5)
        held = time.monotonic() - t0
    finally:
        player.close()
    data = alsa_capture.read()
    heard = sound(data)
    cut = heard.size - sound(expected).size
    assert 0.3 * rate < cut < sound(expected).size  # the stopped answer's first part, cut short by stop()
    np.testing.assert_array_equal(heard[:cut], sound(expected)[:cut])
    np.testing.assert_array_equal(heard[cut:], sound(expected))  # paused and resumed: every sample, once, in order
    assert held > 0.7


@pytest.fixture
def speech(alsa_capture: AlsaCapture) -> Iterator[tuple[SpeechStack, Settings, StatusBus]]:
    settings = Settings(engine="system", use_local_cloning=False, output_sample_rate=alsa_capture.rate,
                        repeat_audio_max_s=60.0, llm_first_token_timeout_s=2.0)
    status = StatusBus()
    stack = build(settings, status, LiveSink(settings, status), probe=False)
    warm(stack.engines["system"])
    yield stack, settings, status
    stack.close()


def make_assistant(stack: SpeechStack, settings: Settings, status: StatusBus, url: str) -> Assistant:
    return Assistant(LLMClient(settings.model_copy(update={"remote_llm_url": url})),
                     Conversation(settings.history_turns), stack.pipeline, status)


def test_pause_mid_answer_then_repeat_without_the_llm(llm_server, speech, alsa_capture: AlsaCapture) -> None:
    stack, settings, status = speech
    srv = llm_server(api="ollama", tokens=["Air ", "scatters ", "blue ", "light ", "most. ", "Sunsets ", "are ", "red."])
    assistant = make_assistant(stack, settings, status, srv.url)
    try:
        assistant.ask("Why is the sky blue?")
        alsa_capture.wait_for_audio(0.3)
        assert stack.pipeline.toggle_pause() is True
        assert status.current.speech_paused
        assert grows(alsa_capture, 0.5) == 0  # mid-sentence, held
        assert assistant.busy
        assert stack.pipeline.toggle_pause() is False and not status.current.speech_paused
        assert assistant.wait_idle(30)
        answer = sound(alsa_capture.read())
        mark = alsa_capture.read().size
        assistant.repeat()
        assert assistant.wait_idle(30)
        again = sound(alsa_capture.read()[mark:])
    finally:
        assistant.close()
    assert len(srv.chat_requests) == 1  # the repeat asked no one
    assert answer.size > settings.output_sample_rate  # type: ignore[operator]
    # the repeat replays the kept audio unpaused: the paused answer had the same samples, none lost or twice
    np.testing.assert_array_equal(answer, again)


def test_a_new_question_ends_a_paused_answer_and_a_long_one_is_repeated_from_its_text(
        llm_server, speech, alsa_capture: AlsaCapture) -> None:
    stack, settings, status = speech
    srv = llm_server(api="ollama")
    assistant = make_assistant(stack, settings.model_copy(), status, srv.url)
    stack.pipeline.settings = settings.model_copy(update={"repeat_audio_max_s": 0.5})  # nothing fits: no audio kept
    try:
        assistant.ask("Why is the sky blue?")
        alsa_capture.wait_for_audio(0.2)
        stack.pipeline.toggle_pause()
        assert grows(alsa_capture, 0.3) == 0
        srv.tokens = ["Short ", "one."]
        mark = alsa_capture.read().size
        assistant.ask("And now?")  # barge-in: the paused answer is dropped, the new one plays
        assert assistant.wait_idle(30)
        assert not status.current.speech_paused
        short = loud(alsa_capture.read()[mark:])
        mark = alsa_capture.read().size
        assistant.repeat()  # over repeat_audio_max_s: the text again through the voice
        assert assistant.wait_idle(30)
        again = loud(alsa_capture.read()[mark:])
    finally:
        assistant.close()
    assert len(srv.chat_requests) == 2
    assert again > 0.3 * alsa_capture.rate
    assert abs(again - short) < 0.1 * short + 0.2 * alsa_capture.rate


def test_pause_hotkey_and_tray_items_in_the_running_daemon(tmp_path: Path, ask_display, llm_server,
                                                          alsa_capture: AlsaCapture) -> None:
    """app.py wires hotkey_pause (ctrl+alt+shift+space) to the pipeline; the tray's Pause/Resume and Repeat items
    (Commands) do the same from the action thread; the repeat asks the LLM nothing."""
    srv = llm_server(api="ollama", tokens=["Air ", "scatters ", "blue ", "light ", "most. ", "Sunsets ", "are ", "red."])
    path = tmp_path / "settings.json"
    path.write_text(json.dumps({"use_local_cloning": False, "engine": "system", "llm_health_interval_s": 0,
                                "remote_llm_url": srv.url, "output_sample_rate": alsa_capture.rate}))
    app = App(load(path, check=False), path, headless=True)
    app.start()
    try:
        parts, status = app.parts, app.status
        assert parts is not None and parts.flow is not None, "the hotkeys are on (Xvfb)"
        assert not app.commands.can_repeat()
        parts.assistant.ask("Why is the sky blue?")
        alsa_capture.wait_for_audio(0.3)
        ask_display.xdotool("key", "ctrl+alt+shift+space")
        wait_for(lambda: status.current.speech_paused, 5, "the pause hotkey to pause the answer")
        assert grows(alsa_capture, 0.4) == 0 and parts.assistant.busy  # held mid-sentence, not ended
        ask_display.xdotool("key", "ctrl+alt+shift+space")
        wait_for(lambda: not status.current.speech_paused, 5, "the pause hotkey again to resume it")
        app.commands.pause_resume()  # the tray's Pause (the tray runs it on its action thread)
        assert status.current.speech_paused and parts.speech.pipeline.paused and parts.assistant.busy
        app.commands.pause_resume()  # Resume
        assert not status.current.speech_paused
        assert parts.assistant.wait_idle(30)
        answer = sound(alsa_capture.read())
        mark = alsa_capture.read().size
        assert app.commands.can_repeat()
        app.commands.repeat_last()
        assert parts.assistant.wait_idle(30)
        again = sound(alsa_capture.read()[mark:])
    finally:
        app.shutdown()
    assert len(srv.chat_requests) == 1  # the repeat asked no one
    np.testing.assert_array_equal(answer, again)  # paused twice, yet every sample once: the kept audio is the same
