"""Asking by voice through the REAL input path: sounddevice InputStream -> PortAudio -> ALSA capture device
`voxtray_mic` (the monitor of a PulseAudio null sink that paplay speaks into, in real time) -> 16 kHz ->
Silero VAD -> Whisper base (real weights). Toggle mode ends by itself at a pause; hold mode only on release.
Also: streaming VAD equals whole-recording VAD; a missing microphone is one clear message and the typed box.
"""

from __future__ import annotations

import subprocess
import sys
import time
import wave
from pathlib import Path

import numpy as np
import pytest

from daemon.errors import AudioDeviceError
from daemon.listen import RATE
from daemon.listen.mic import Microphone, resolve_input_device
from daemon.listen.recognizer import (
    MIN_WINDOW_FRAMES,
    WINDOW_FRAMES,
    collapse_repeats,
    decode_file,
    max_tokens,
    window_frames,
)
from daemon.listen.session import Listening, finished_sentence
from daemon.listen.talk import VoiceAsk
from daemon.listen.vad import SpeechDetector, load_model
from daemon.settings import Settings
from daemon.status import StatusBus
from tests.fixtures.whisper import espeak_wav, word_error_rate
from tests.waits import until

LJ_TEXT = "produced the block books, which were the immediate predecessors of the true printed book,"
QUESTION = "How far away is the moon from the earth?"


def test_streaming_vad_scores_frames_as_the_whole_recording_does(ljspeech: Path) -> None:
    speech = decode_file(ljspeech / "LJ001-0004.wav")
    audio = np.concatenate([np.zeros(RATE // 2, np.float32), speech, np.zeros(RATE, np.float32)])
    n = audio.size // 512 * 512
    whole = np.asarray(load_model()(audio[:n])).reshape(-1)  # type: ignore[operator]
    vad = SpeechDetector()
    seen: list[float] = []
    step = vad._step
    vad._step = lambda p: (seen.append(p), step(p))  # type: ignore[method-assign]
    for i in range(0, audio.size, 331):  # odd chunk sizes, as a sound card delivers
        vad.feed(audio[i:i + 331])
    assert np.allclose(seen[: whole.size], whole, atol=1e-5)
    assert vad.speech_start_sample is not None and abs(vad.speech_start_sample / RATE - 0.5) < 0.15
    assert vad.speech_end_sample is not None and abs(vad.speech_end_sample / RATE - (0.5 + speech.size / RATE)) < 0.3
    assert vad.silence_s > 0.6 and not vad.speaking


def listen(recognizer, mode: str, pause_s: float = 0.8, **kw):  # type: ignore[no-untyped-def]
    mic = Microphone("voxtray_mic")
    session = Listening(recognizer, mic, mode=mode, pause_s=pause_s, **kw)
    session.start()
    assert mic.live.wait(5), "the virtual microphone delivered no audio"
    return session, mic


def test_toggle_mode_ends_by_itself_at_the_pause_after_speech(alsa_capture, recognizer, ljspeech: Path) -> None:
    session, mic = listen(recognizer, "toggle")
    assert mic.device_rate > 0 and "voxtray_mic" in mic.device_name
    player = alsa_capture.speak_into_mic(ljspeech / "LJ001-0004.wav")
    try:
        heard = session.wait(20)
    finally:
        player.wait(10)
    assert heard is not None and heard.ended_by == "pause", heard
    assert word_error_rate(LJ_TEXT, heard.text) < 0.2, heard.text
    assert 4.5 < heard.speech_s < 6.5 and heard.audio_s > heard.speech_s
    assert heard.t_speech_end is not None and heard.t_ready is not None and heard.latency_s is not None
    assert heard.t_ready - heard.t_speech_end >= 0


def test_a_finished_sentence_ends_sooner_than_the_pause_and_an_unfinished_one_waits(
        alsa_capture, recognizer, tmp_path: Path) -> None:
    """Toggle mode, the real microphone path: a spoken question that Whisper reads as finished ("...?") is sent
    after talk_sentence_pause_s of silence, long before talk_pause_s (4 s here, so that a slow machine cannot let
    the long pause win the race); a half sentence waits the whole pause."""
    wav = espeak_wav(QUESTION, tmp_path / "q.wav")
    session, _mic = listen(recognizer, "toggle", pause_s=4.0, sentence_pause_s=0.3, partial_pause_s=0.15)
    player = alsa_capture.speak_into_mic(wav)
    try:
        heard = session.wait(20)
    finally:
        player.wait(10)
    assert heard is not None and heard.ended_by == "sentence", heard
    assert heard.latency_s is not None and heard.latency_s < 4.0, "sent before the long pause was over"
    assert heard.reused and word_error_rate(QUESTION, heard.text) < 0.2, heard.text
    assert finished_sentence(heard.text)
    assert not finished_sentence("How long should I boil"), "no final punctuation: not finished"
    assert not finished_sentence("So I was thinking..."), "an ellipsis trails off: not finished"
    assert not finished_sentence("Yes."), "too short to be sure"


def test_hold_mode_keeps_listening_through_pauses_until_released(alsa_capture, recognizer, tmp_path: Path) -> None:
    wav = espeak_wav(QUESTION, tmp_path / "q.wav")
    partial: list[str] = []
    session, _mic = listen(recognizer, "hold", on_partial=partial.append)
    player = alsa_capture.speak_into_mic(wav)
    player.wait(15)
    time.sleep(1.0)  # a long pause: toggle mode would have ended by now, hold mode must not
    assert session.listening
    assert until(lambda: bool(partial), 5)  # what was heard so far is shown while still listening
    assert session.listening
    t_release = time.monotonic()
    session.finish("release")
    heard = session.wait(20)
    assert heard is not None and heard.ended_by == "release" and heard.t_speech_end == pytest.approx(t_release, abs=0.05)
    assert word_error_rate(QUESTION, heard.text) < 0.2, heard.text
    assert heard.reused  # the recognition started at the pause covered it all: no second pass after the release
    assert partial[-1] == heard.text


def test_an_unknown_microphone_is_one_clear_message(alsa_capture) -> None:
    with pytest.raises(AudioDeviceError) as info:
        resolve_input_device("no-such-microphone")
    assert "input_device 'no-such-microphone' was not found" in str(info.value) and "voxtray_mic" in str(info.value)


class RecordingBox:
    def __init__(self) -> None:
        self.calls: list[tuple[str, object]] = []

    def open(self, t_hotkey: float | None = None) -> None:
        self.calls.append(("open", t_hotkey))

    def listen(self, t_hotkey, on_enter, on_cancel) -> None:  # type: ignore[no-untyped-def]
        self.calls.append(("listen", t_hotkey))

    def show_text(self, text: str) -> None:
        self.calls.append(("text", text))

    def note(self, text: str) -> None:
        self.calls.append(("note", text))

    def finish(self, question: str) -> None:
        self.calls.append(("finish", question))

    def hide(self) -> None:
        self.calls.append(("hide", None))


class RecordingAssistant:
    def __init__(self) -> None:
        self.asked: list[str] = []
        self.stops = 0

    def ask(self, question: str, *, t_hotkey: float | None = None) -> None:
        self.asked.append(question)

    def stop(self) -> None:
        self.stops += 1

    def wait_idle(self, timeout: float | None = None) -> bool:
        return True


def test_no_microphone_says_so_and_opens_the_typed_box(alsa_capture, recognizer) -> None:
    def no_microphone() -> Microphone:
        raise AudioDeviceError("No microphone (audio input device) was found. ... type your question")

    status, assistant, box = StatusBus(), RecordingAssistant(), RecordingBox()
    talk = VoiceAsk(Settings(use_local_cloning=False), assistant, status, recognizer=recognizer,
                    microphone=no_microphone)
    talk.attach(box)
    talk.press(1.0)
    assert assistant.stops == 1  # barge-in happens even so
    assert box.calls[0] == ("open", 1.0) and box.calls[1][0] == "note" and "No microphone" in str(box.calls[1][1])
    assert "No microphone" in status.current.message and not talk.listening
    # The settings' own microphone lookup gives the same kind of message for a missing device.
    bad = VoiceAsk(Settings(use_local_cloning=False, input_device="no-such-microphone"), assistant, status,
                   recognizer=recognizer)
    bad.attach(box)
    bad.press(2.0)
    assert box.calls[-1][0] == "note" and "no-such-microphone" in str(box.calls[-1][1])


def test_a_long_question_is_recognised_in_stretches_and_only_the_tail_at_the_end(
        alsa_capture, recognizer, ljspeech: Path, tmp_path: Path) -> None:
    """Two LJ clips with a pause between them, through the real microphone path, hold mode released late: the
    first clip is recognised while the second is spoken and committed, so the final recognition sees only the
    tail (the second clip), and the transcript is still the whole question."""
    first, second = (decode_file(ljspeech / f"{i}.wav") for i in ("LJ001-0004", "LJ001-0008"))
    gap = np.zeros(int(0.6 * RATE), np.float32)
    audio = np.concatenate([first, gap, second])
    wav = tmp_path / "two.wav"
    with wave.open(str(wav), "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(2)
        out.setframerate(RATE)
        out.writeframes((np.clip(audio, -1, 1) * 32767).astype("<i2").tobytes())
    session, _mic = listen(recognizer, "hold")
    player = alsa_capture.speak_into_mic(wav)
    player.wait(20)
    time.sleep(1.0)
    session.finish("release")
    heard = session.wait(20)
    assert heard is not None and heard.ended_by == "release", heard
    reference = LJ_TEXT + " has never been surpassed."
    assert word_error_rate(reference, heard.text) < 0.2, heard.text
    assert heard.stretches >= 1, heard
    total = audio.size / RATE + 1.0
    assert heard.tail_s <= total - 3.0, f"the final recognition saw {heard.tail_s:.1f} s of {total:.1f} s"


def test_the_window_fits_the_audio_and_a_short_answer_does_not_loop(recognizer, tmp_path: Path) -> None:
    """The encoder window is the audio and 2 s more, never under 10 s (shorter windows made the decoder repeat
    itself); a one-word answer is heard as one word, not "Yes. Yes. Yes. ...", and a recognition's tokens are
    bounded by its length."""
    assert window_frames(RATE) == MIN_WINDOW_FRAMES and window_frames(60 * RATE) == WINDOW_FRAMES
    assert window_frames(12 * RATE) == 1400 and window_frames(12 * RATE + 7) % 2 == 0
    assert max_tokens(RATE) < 40 and max_tokens(60 * RATE) <= 440
    heard = recognizer.transcribe(decode_file(espeak_wav("Yes.", tmp_path / "yes.wav")))
    assert heard.text.strip(" .!").lower() == "yes", heard.text


def test_a_decoder_loop_is_collapsed_and_real_repeats_of_one_word_stay() -> None:
    """Seen with a 2 s stretch: "Produced the block books." three times before the rest of the sentence."""
    looped = "Produced the block books. Produced the block books. Produced the block books which were"
    assert collapse_repeats(looped) == "Produced the block books which were"
    assert collapse_repeats("of about 1455 of about 1455 of about 1455 of") == "of about 1455 of"
    for kept in ("It is very, very good.", "I said no no no", "the cat sat on the mat"):
        assert collapse_repeats(kept) == kept


def test_no_nanobind_leak_lines_when_python_exits_after_a_question(alsa_capture) -> None:
    """Seen on quit after asking by voice: ~15 "nanobind: leaked ..." lines, soxr's stream still referenced by
    the last question's microphone. Once stopped and drained, the microphone lets soxr's stream go. A child
    process keeps the microphone referenced from a daemon thread (as the daemon's parts do) and exits."""
    child = (
        "import threading, time\n"
        "from daemon.listen.mic import Microphone\n"
        "mic = Microphone('voxtray_mic'); mic.start()\n"
        "assert mic.live.wait(5) and mic.device_rate != 16000\n"
        "time.sleep(0.2); mic.read(0.1); mic.stop()\n"
        "while mic.read(0.0) is not None: pass\n"
        "threading.Thread(target=lambda m=mic: time.sleep(60), daemon=True, name='keeps-it').start()\n"
    )
    done = subprocess.run([sys.executable, "-c", child], capture_output=True, text=True, timeout=60, cwd=Path(__file__).resolve().parent.parent)
    assert done.returncode == 0, done.stderr
    assert "nanobind" not in done.stderr, done.stderr
