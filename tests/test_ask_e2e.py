"""End to end under Xvfb, every part real: xdotool presses the ask hotkey -> pynput fires -> the Tk question
box opens -> xdotool types the question + Enter -> the LLM stand-in (real HTTP) receives exactly that
question -> the answer streams through the real pipeline, router and system voice (espeak-ng) -> the real
Player (sounddevice/PortAudio) -> the ALSA capture. Then barge-in and the stop hotkey.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import pytest

from daemon.assistant import Assistant
from daemon.brain.client import LLMClient
from daemon.brain.conversation import Conversation
from daemon.desktop.ask_flow import AskFlow
from daemon.settings import Settings
from daemon.speech.player import Player
from daemon.speech.stack import build
from daemon.status import StatusBus
from tests.fixtures.audio import loud
from tests.fixtures.llm_server import warm
from tests.waits import until

QUESTION = "Why is the sky blue?"
LONG_ANSWER = [w + " " for w in ["The", "sky", "looks", "blue", "because", "the", "air", "scatters", "short", "blue", "waves", "of", "sunlight", "much", "more", "than", "red", "ones,", "so", "blue", "light", "reaches", "your", "eyes", "from", "every", "part", "of", "the", "sky.", "At", "sunset", "the", "light", "travels", "through", "more", "air,", "the", "blue", "is", "scattered", "away,", "and", "the", "remaining", "light", "looks", "orange", "and", "red.", "That", "is", "also", "why", "distant", "mountains", "look", "a", "little", "blue", "on", "a", "clear", "day."]]


@contextmanager
def running_desk(settings: Settings, rate: int, talk: Callable[..., Any] | None = None) -> Iterator[tuple]:
    """The daemon's ask path, real from the hotkeys to the speaker: system voice -> Player at `rate`, the
    assistant, AskFlow on pynput (and asking by voice when `talk(settings, assistant, status)` makes it).
    Yields (assistant, flow, voice_ask or None, status)."""
    status = StatusBus()
    stack = build(settings, status, Player(sample_rate=rate), probe=False)
    warm(stack.engines["system"])
    assistant = Assistant(LLMClient(settings), Conversation(settings.history_turns), stack.pipeline, status)
    voice = talk(settings, assistant, status) if talk is not None else None
    flow = AskFlow(settings, assistant, backend="pynput", talk=voice)
    flow.start()
    try:
        yield assistant, flow, voice, status
    finally:
        flow.stop()
        assistant.close()
        stack.close()


@pytest.fixture
def desk(ask_display, alsa_capture, llm_server) -> Iterator[tuple]:
    srv = llm_server(api="ollama", tokens=LONG_ANSWER, delay_s=0.02)
    settings = Settings(remote_llm_url=srv.url, engine="system", use_local_cloning=False,
                        output_sample_rate=alsa_capture.rate, llm_idle_timeout_s=5.0)
    with running_desk(settings, alsa_capture.rate) as (assistant, flow, _talk, status):
        yield srv, assistant, flow, status


def ask_through_the_box(display, question: str) -> None:  # type: ignore[no-untyped-def]
    display.xdotool("key", "ctrl+alt+space")
    wid = display.find_window("VoxTray")
    assert wid, "the ask hotkey did not open the question box"
    assert until(lambda: display.xdotool("getwindowfocus").stdout.strip() == wid, 3)
    display.xdotool("type", "--delay", "5", question)
    display.xdotool("key", "Return")


def test_hotkey_box_llm_and_spoken_answer_then_barge_in_and_stop(desk, ask_display, alsa_capture) -> None:
    srv, assistant, flow, status = desk
    rate = alsa_capture.rate

    ask_through_the_box(ask_display, QUESTION)
    assert until(lambda: srv.questions == [QUESTION]), srv.questions
    assert until(lambda: loud(alsa_capture.read()) >= 0.4 * rate), "the answer was not played"
    assert ask_display.wait_gone("VoxTray")

    # Barge-in: the ask hotkey again stops the speech at once and opens a new question box.
    before = loud(alsa_capture.read())
    ask_display.xdotool("key", "ctrl+alt+space")
    assert ask_display.find_window("VoxTray"), "barge-in did not open a new question box"
    assert assistant.wait_idle(2.0)
    time.sleep(0.3)  # anything still playing would reach the capture file by now
    after = loud(alsa_capture.read())
    assert (after - before) / rate < 0.1, f"{(after - before) / rate:.3f} s played after the barge-in"
    assert assistant.last_timings is not None and assistant.last_timings.cancelled

    # A second question from the re-opened box, then the stop hotkey: it only stops.
    ask_display.xdotool("type", "--delay", "5", "And at sunset?")
    ask_display.xdotool("key", "Return")
    assert until(lambda: srv.questions[-1:] == ["And at sunset?"])
    base = loud(alsa_capture.read())
    assert until(lambda: loud(alsa_capture.read()) - base > 0.3 * rate)
    before = loud(alsa_capture.read())
    ask_display.xdotool("key", "ctrl+alt+BackSpace")
    assert assistant.wait_idle(2.0)
    time.sleep(0.3)
    after = loud(alsa_capture.read())
    assert (after - before) / rate < 0.1
    assert not flow.box.is_open and ask_display.wait_gone("VoxTray", 0.5)
    t = assistant.last_timings
    assert t is not None and t.hotkey is not None and t.first_audio is not None
    assert status.current.last_first_audio_s is not None
