"""First audio starts before the LLM finishes: a stand-in streams one token every 50 ms and the real Player
(PortAudio -> ALSA capture on a PulseAudio null sink, a real clock) must be playing before the last token.
Real: LLMClient, stand-in HTTP server, Pipeline, Router, SystemEngine (espeak-ng), Player.
"""

from __future__ import annotations

import threading
import time

import numpy as np

from daemon.assistant import Assistant
from daemon.brain.client import LLMClient
from daemon.brain.conversation import Conversation
from daemon.settings import Settings
from daemon.speech.player import Player
from daemon.speech.stack import build
from daemon.status import StatusBus
from tests.fixtures.llm_server import DEFAULT_TOKENS, warm


def test_first_audio_is_captured_before_the_last_token_is_sent(llm_server, alsa_capture) -> None:
    srv = llm_server(api="openai", tokens=DEFAULT_TOKENS * 4, delay_s=0.05)
    settings = Settings(remote_llm_url=srv.url, engine="system", use_local_cloning=False,
                        output_sample_rate=alsa_capture.rate)
    status = StatusBus()
    stack = build(settings, status, Player(sample_rate=alsa_capture.rate), probe=False)
    warm(stack.engines["system"])
    assistant = Assistant(LLMClient(settings), Conversation(), stack.pipeline, status)
    first_audio: list[float] = []
    done = threading.Event()

    def watch() -> None:
        while not done.is_set():
            if np.count_nonzero(np.abs(alsa_capture.read()) > 0.02) > 100:
                first_audio.append(time.monotonic())
                return
            time.sleep(0.005)

    watcher = threading.Thread(target=watch, daemon=True)
    watcher.start()
    try:
        assistant.ask("Why is the sky blue?")
        deadline = time.monotonic() + 20
        while not (first_audio and srv.t_stream_end) and time.monotonic() < deadline and assistant.busy:
            time.sleep(0.01)
        assistant.stop()  # the rest of the answer would only take playback time
        assert assistant.wait_idle(5)
    finally:
        done.set()
        watcher.join(2)
        assistant.close()
        stack.close()
    assert first_audio, "nothing was captured"
    assert srv.t_stream_end is not None and srv.t_last_token is not None and srv.t_first_token is not None
    assert first_audio[0] < srv.t_last_token, (
        f"first audio {first_audio[0] - srv.t_first_token:.2f} s after the first token, "
        f"the last token at {srv.t_last_token - srv.t_first_token:.2f} s; "
        f"{assistant.last_timings.describe() if assistant.last_timings else ''}")
    t = assistant.last_timings
    assert t is not None and t.first_audio is not None and t.end is not None
    assert t.first_audio < srv.t_last_token < t.end and t.first_token is not None
    assert t.first_token < t.first_audio
