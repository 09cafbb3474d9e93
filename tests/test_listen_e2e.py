"""Asking by voice end to end under Xvfb, every part real: xdotool holds the talk hotkey -> pynput -> the question
box opens listening -> paplay speaks the question into the virtual microphone -> sounddevice InputStream ->
Silero VAD + Whisper base (real weights) -> xdotool releases the hotkey -> the LLM stand-in (real HTTP) receives
the question (word error rate under 20 %) -> the answer is spoken (espeak-ng -> Player -> ALSA capture).
Then barge-in (the talk hotkey while it speaks stops the speech within 100 ms and listens), Esc cancels, and
the tray's "Ask by voice" (toggle: ends by itself at the pause).
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from daemon.listen.talk import VoiceAsk
from daemon.settings import Settings
from daemon.status import Activity
from tests.fixtures.audio import loud
from tests.fixtures.whisper import espeak_wav, word_error_rate
from tests.test_ask_e2e import LONG_ANSWER, running_desk
from tests.waits import until

QUESTION = "What is the capital city of Australia?"
LJ_TEXT = "produced the block books, which were the immediate predecessors of the true printed book,"


@pytest.fixture
def voice_desk(ask_display, alsa_capture, llm_server, recognizer) -> Iterator[tuple]:
    srv = llm_server(api="ollama", tokens=LONG_ANSWER, delay_s=0.02)
    settings = Settings(remote_llm_url=srv.url, engine="system", use_local_cloning=False,
                        output_sample_rate=alsa_capture.rate, llm_idle_timeout_s=5.0, hotkey_talk="ctrl+alt+enter",
                        talk_mode="hold", input_device="voxtray_mic")
    with running_desk(settings, alsa_capture.rate,
                      talk=lambda s, a, st: VoiceAsk(s, a, st, recognizer=recognizer)) as (assistant, _flow, talk, status):
        yield srv, assistant, talk, status


def test_hold_to_talk_asks_by_voice_then_barge_in_cancel_and_tray_toggle(
        voice_desk, ask_display, alsa_capture, ljspeech: Path, tmp_path: Path) -> None:
    srv, assistant, talk, status = voice_desk
    rate = alsa_capture.rate
    wav = espeak_wav(QUESTION, tmp_path / "question.wav")

    # Hold the talk hotkey, say the question, let go.
    ask_display.xdotool("keydown", "ctrl+alt+Return")
    assert ask_display.find_window("VoxTray"), "the talk hotkey did not open the question box"
    assert until(lambda: talk.session is not None and talk.session.source.live.is_set(), 5), "no microphone audio"
    assert until(lambda: status.current.activity is Activity.LISTENING, 2)
    alsa_capture.speak_into_mic(wav).wait(15)
    time.sleep(0.3)
    assert talk.listening  # hold mode: still listening while held, whatever the pause
    ask_display.xdotool("keyup", "Return", "alt", "ctrl")
    assert until(lambda: len(srv.questions) == 1, 15), "no question reached the LLM"
    assert word_error_rate(QUESTION, srv.questions[0]) < 0.2, srv.questions
    heard = talk.last
    assert heard is not None and heard.ended_by == "release"
    assert until(lambda: loud(alsa_capture.read()) >= 0.4 * rate), "the answer was not played"
    assert ask_display.wait_gone("VoxTray")
    voice_s = status.current.last_voice_s
    assert voice_s is not None and 0 <= voice_s < 5, voice_s  # end of speech -> question sent, for the tooltip

    # Barge-in: the talk hotkey while the answer plays stops the speech at once and listens again.
    before = loud(alsa_capture.read())
    ask_display.xdotool("keydown", "ctrl+alt+Return")
    assert assistant.wait_idle(2.0)
    time.sleep(0.3)  # anything still playing would reach the capture file by now
    after = loud(alsa_capture.read())
    assert (after - before) / rate < 0.1, f"{(after - before) / rate:.3f} s played after the barge-in"
    assert assistant.last_timings is not None and assistant.last_timings.cancelled
    assert ask_display.find_window("VoxTray") and until(lambda: talk.listening, 2)
    # Esc cancels: nothing is asked, even once the hotkey is let go.
    ask_display.xdotool("key", "Escape")
    assert until(lambda: not talk.listening, 3)
    ask_display.xdotool("keyup", "Return", "alt", "ctrl")
    assert ask_display.wait_gone("VoxTray")

    # The tray's "Ask by voice": toggle mode, so the silence after the question sends it, with no press: the short
    # one after a finished sentence when its recognition is ready in time (test_listen_mic.py tests that one),
    # else the full talk_pause_s.
    talk.press(mode="toggle")
    assert until(lambda: talk.session is not None and talk.session.source.live.is_set(), 5)
    alsa_capture.speak_into_mic(ljspeech / "LJ001-0004.wav")
    assert until(lambda: len(srv.questions) == 2, 20), srv.questions
    assert word_error_rate(LJ_TEXT, srv.questions[1]) < 0.2, srv.questions
    assert talk.last is not None and talk.last.ended_by in ("sentence", "pause"), talk.last
