"""The ask hotkey starts the audio stream while the user types (AskFlow's `prepare` hook).

The assistant is a small recording stand-in (only stop() is called here); the question box and hotkey
listener are the real classes, never started (no display is needed to queue an open request).
"""

from __future__ import annotations

from daemon.desktop.ask_flow import AskFlow
from daemon.settings import Settings


class _Assistant:
    def __init__(self) -> None:
        self.stopped = 0

    def stop(self) -> None:
        self.stopped += 1


def test_ask_hotkey_barges_in_and_prepares_audio_unless_paused() -> None:
    calls: list[str] = []
    paused = [False]
    assistant = _Assistant()
    flow = AskFlow(Settings(use_local_cloning=False), assistant, paused=lambda: paused[0],  # type: ignore[arg-type]
                   prepare=lambda: calls.append("warm"), backend="pynput")
    flow.on_ask_hotkey()
    assert assistant.stopped == 1 and calls == ["warm"]
    paused[0] = True
    flow.on_ask_hotkey()
    assert assistant.stopped == 1 and calls == ["warm"]


def test_a_failing_prepare_never_breaks_the_hotkey() -> None:
    def boom() -> None:
        raise RuntimeError("device gone")

    assistant = _Assistant()
    flow = AskFlow(Settings(use_local_cloning=False), assistant, prepare=boom, backend="pynput")  # type: ignore[arg-type]
    flow.on_ask_hotkey()
    assert assistant.stopped == 1
