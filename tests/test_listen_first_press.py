"""The first talk press after start (issue #24): faster-whisper imported by one thread at a time, and a press that
nothing could hear says why instead of listening.

Real: faster-whisper's own modules, the Hugging Face cache lookup (an empty cache in a temp folder, offline).
Faked: the microphone (a factory that records whether it was opened) — the claim is that it is NOT opened.
"""

from __future__ import annotations

import threading
from pathlib import Path

import pytest

from daemon.listen import whisperlib
from daemon.listen.recognizer import Recognizer
from daemon.listen.talk import VoiceAsk
from daemon.listen.vad import load_model
from daemon.settings import Settings
from daemon.status import StatusBus
from tests.test_listen_mic import RecordingAssistant, RecordingBox


def test_faster_whisper_imports_wait_for_each_other() -> None:
    """While one thread imports faster-whisper, the voice detector's import waits (no half-initialised module)."""
    done = threading.Event()
    with whisperlib._lock:  # another thread is importing faster_whisper right now
        t = threading.Thread(target=lambda: (load_model(), done.set()), daemon=True)
        t.start()
        assert not done.wait(0.5), "the VAD import did not wait for the one in progress"
    assert done.wait(30)


class Mics:
    def __init__(self) -> None:
        self.opened = 0

    def __call__(self) -> object:
        self.opened += 1
        raise AssertionError("the microphone must not open when nothing can hear the question")


def test_a_press_without_the_speech_model_says_so_and_does_not_listen(tmp_path: Path,
                                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setenv("HF_HOME", str(tmp_path / "hf"))  # an empty cache: 'tiny' was never downloaded
    import huggingface_hub.constants as hf

    monkeypatch.setattr(hf, "HF_HUB_CACHE", str(tmp_path / "hf" / "hub"))
    monkeypatch.setattr(hf, "HF_HUB_OFFLINE", True)
    settings = Settings(use_local_cloning=False, stt_model="tiny")
    rec = Recognizer.from_settings(settings)
    status, assistant, box, mics = StatusBus(), RecordingAssistant(), RecordingBox(), Mics()
    talk = VoiceAsk(settings, assistant, status, recognizer=rec, microphone=mics)
    talk.attach(box)
    talk.press(1.0)
    assert mics.opened == 0 and not talk.listening
    assert box.calls[0] == ("open", 1.0) and box.calls[1][0] == "note", box.calls
    assert "speech model 'tiny' is not on this computer yet" in str(box.calls[1][1])
    assert "not on this computer yet" in status.current.message
    # The background load fails (offline): the next press says why, still without listening.
    assert rec._pool().submit(lambda: None).result(60) is None  # the load queued before it has run
    assert rec.state == "failed"
    talk.press(2.0)
    assert mics.opened == 0 and box.calls[-1][0] == "note" and "Asking by voice is off" in str(box.calls[-1][1])
    talk.close()


def test_a_model_folder_listens_at_once(tmp_path: Path, whisper_base: Path) -> None:
    settings = Settings(use_local_cloning=False, stt_model=str(whisper_base))
    rec = Recognizer.from_settings(settings)
    assert rec.on_disk()
