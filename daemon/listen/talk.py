"""The talk hotkey's flow: barge-in, listen, show what was heard in the question box, ask.

    talk = VoiceAsk(settings, assistant, status, recognizer=Recognizer.from_settings(settings))
    talk.attach(question_box, hold=listener.supports_release)   # AskFlow does this
    talk.press()       # the talk hotkey (or the tray's "Ask by voice"): stops any speech, opens the microphone
    talk.release()     # hold mode: the combo was let go -> end of speech
    talk.cancel()      # Esc, or the ask hotkey

Modes (`talk_mode`): "hold" listens while the combo is held; "toggle" listens until a pause of `talk_pause_s`
(or the next press). Where the hotkey backend cannot see releases (the `keyboard` backend), hold works as
toggle. The tray item is always toggle. While listening, the box shows what was heard at each pause; Enter
sends at once, Esc cancels. No microphone: the box opens as the typed box and says so.

Timings: "end of speech -> question sent" is logged for every spoken question and published as
`status.last_voice_s` (the tooltip shows it).
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, Protocol

import numpy as np

from daemon.errors import AudioDeviceError, MissingRuntimeError, SettingsError, VoxTrayError
from daemon.listen.mic import Microphone
from daemon.listen.recognizer import Recognizer, spoken_language
from daemon.listen.session import AudioSource, Heard, Listening
from daemon.live import SettingsField, SettingsSource
from daemon.settings import Settings
from daemon.status import Activity, StatusBus

log = logging.getLogger(__name__)

HEARD_NOTHING = "I heard nothing. Press the talk hotkey and speak, or type your question here."


class Asker(Protocol):
    """What VoiceAsk needs from the Assistant."""

    def ask(self, question: str, *, t_hotkey: float | None = None, language: str | None = None) -> None: ...
    def stop(self) -> None: ...
    def wait_idle(self, timeout: float | None = None) -> bool: ...


class Box(Protocol):
    """What VoiceAsk needs from the question box (daemon.desktop.prompt.QuestionBox)."""

    def open(self, t_hotkey: float | None = None) -> None: ...
    def listen(self, t_hotkey: float | None, on_enter: Callable[[], None], on_cancel: Callable[[], None]) -> None: ...
    def show_text(self, text: str) -> None: ...
    def note(self, text: str) -> None: ...
    def finish(self, question: str) -> None: ...
    def hide(self) -> None: ...


class VoiceAsk:
    """One spoken question at a time; every public method is safe from any thread.

    Settings are read at each press (talk_mode, pauses, input_device, and the recogniser's stt_*: a new
    stt_language or stt_beam_size applies to the loaded model, another model, device or compute type builds a
    new recogniser)."""

    settings = SettingsField()

    def __init__(self, settings: Settings | SettingsSource, assistant: Asker, status: StatusBus, *,
                 recognizer: Recognizer | None = None, microphone: Callable[[], AudioSource] | None = None,
                 headroom: Callable[[], bool] | None = None) -> None:
        """`headroom`: the VRAM guard's answer, for `stt_device: auto`."""
        self.settings = settings
        self.assistant = assistant
        self.status = status
        self._owns_recognizer = recognizer is None
        self._headroom = headroom
        self._stt_key = self._stt_wanted()
        self.recognizer = recognizer or Recognizer.from_settings(self.settings, progress=self._progress, headroom=headroom)
        self.microphone = microphone or (lambda: Microphone(self.settings.input_device))
        self.box: Box | None = None
        self.hold_supported = True
        self.session: Listening | None = None
        self.last: Heard | None = None
        self.last_sent: float | None = None  # when the last spoken question was handed to the assistant
        self._lock = threading.Lock()
        self._t_press: float | None = None

    def attach(self, box: Box, *, hold: bool = True) -> None:
        self.box = box
        self.hold_supported = hold

    def start(self) -> None:
        """Load the recogniser now when `stt_preload` says so (in the background)."""
        if self.settings.stt_preload:
            self._load_soon()

    @property
    def mode(self) -> str:
        return "hold" if self.settings.talk_mode == "hold" and self.hold_supported else "toggle"

    @property
    def listening(self) -> bool:
        session = self.session
        return session is not None and session.listening

    # ---- the hotkey -------------------------------------------------------------------------------------
    def press(self, t: float | None = None, *, mode: str | None = None) -> None:
        t = time.monotonic() if t is None else t
        with self._lock:
            session = self.session
            if session is not None and session.listening:
                if (mode or self.mode) == "toggle":
                    session.finish("press")
                return  # hold: a repeated press while held
            self.assistant.stop()  # barge-in: stop speaking first
            self._follow_settings()
            why = self._not_ready()
            self._load_soon()
            if why is not None:  # nothing could hear the question: say so instead of listening
                log.warning("asking by voice: %s", why)
                self.status.update(message=why)
                if self.box is not None:
                    self.box.open(t)
                    self.box.note(why)
                return
            try:
                source = self.microphone()
                session = Listening(
                    self.recognizer, source, mode=mode or self.mode, pause_s=self.settings.talk_pause_s,
                    sentence_pause_s=self.settings.talk_sentence_pause_s,
                    max_s=self.settings.talk_max_s, no_speech_s=self.settings.talk_no_speech_s,
                    on_partial=self._partial, on_done=self._done, keep_audio=self.settings.talk_debug_audio,
                )
                session.start()
            except (AudioDeviceError, MissingRuntimeError) as exc:
                log.warning("asking by voice: %s", exc)
                self.status.update(message=str(exc))
                if self.box is not None:
                    self.box.open(t)
                    self.box.note(str(exc))
                return
            self.session, self._t_press = session, t
        if self.box is not None:
            self.box.listen(t, lambda: self.finish("enter"), self.cancel)
        log.info("listening (%s mode)", session.mode)
        self.assistant.wait_idle(0.5)  # the interrupted answer publishes its end first (the mic is already on)
        if session.listening:
            self.status.update(activity=Activity.LISTENING)

    def release(self) -> None:
        session = self.session
        if session is not None and session.listening and session.mode == "hold":
            session.finish("release")

    def finish(self, reason: str = "enter") -> None:
        session = self.session
        if session is not None and session.listening:
            session.finish(reason)

    def cancel(self) -> None:
        session = self.session
        if session is not None and session.active:
            session.cancel()

    def close(self) -> None:
        self.cancel()
        session = self.session
        if session is not None:
            session.wait(3.0)
        if self._owns_recognizer:
            self.recognizer.close()

    def _stt_wanted(self) -> tuple[object, ...]:
        s = self.settings
        return s.stt_model, s.stt_device, s.stt_compute_type, s.base_dir()

    def _follow_settings(self) -> None:
        """Apply the current stt_* settings to the recogniser (called at a press, when nothing listens)."""
        if not self._owns_recognizer:
            return
        s = self.settings
        rec = self.recognizer
        rec.language = spoken_language(s.stt_language)
        rec.beam_size = s.stt_beam_size
        wanted = self._stt_wanted()
        if wanted == self._stt_key:
            return
        log.info("speech model settings changed: using '%s' on %s", s.stt_model, s.stt_device)
        self._stt_key = wanted
        self.recognizer = Recognizer.from_settings(s, progress=self._progress, headroom=self._headroom)
        rec.close()  # does not wait: a load in progress finishes in the background and is dropped

    def _not_ready(self) -> str | None:
        """Why a question spoken now could not be heard (checked before the microphone opens), else None."""
        rec = self.recognizer
        if rec.loaded or rec.state == "loading":
            return None
        if rec.state == "failed" and rec.error:
            return f"Asking by voice is off: {rec.error} (trying again now; typing works meanwhile)"
        try:
            if rec.on_disk():
                return None
        except (SettingsError, MissingRuntimeError) as exc:
            return f"Asking by voice is off: {exc}"
        return (f"The speech model '{rec.model_name}' is not on this computer yet: it is downloading now (progress "
                "in the tray). Ask by voice again when it is done; typing works meanwhile.")

    # ---- callbacks (listening / recogniser threads) ------------------------------------------------------
    def heard_words(self, audio: np.ndarray, language: str) -> list[tuple[str, float, float]] | None:
        """(word, start, end) the recogniser hears in 16 kHz `audio`, for the speech check; None while it is not
        loaded (a model already on disk starts loading in the background; the check never downloads one)."""
        rec = self.recognizer
        if not rec.loaded:
            try:
                if rec.on_disk():
                    self._load_soon()  # once: it does nothing while loading
            except Exception as exc:  # SettingsError: a bad stt_model is said when asking by voice
                log.debug("speech check: no recogniser (%s)", exc)
            return None
        return rec.words(audio, language or None)

    def _load_soon(self) -> None:
        if self.recognizer.loaded or self.recognizer.state == "loading":
            return
        future = self.recognizer.load_async()
        future.add_done_callback(self._loaded)

    def _loaded(self, future: Any) -> None:
        exc = future.exception()
        if exc is not None:
            log.error("speech model: %s", exc)
            self.status.update(message=f"Asking by voice is off: {exc}")

    def _progress(self, text: str) -> None:
        log.info("%s", text)
        self.status.update(message=text)

    def _partial(self, text: str) -> None:
        if self.box is not None:
            self.box.show_text(text)

    def _done(self, heard: Heard) -> None:
        self.last = heard
        if self.status.current.activity is Activity.LISTENING:
            self.status.update(activity=Activity.IDLE)
        self._keep_audio(heard)
        box = self.box
        if heard.ended_by == "cancel":
            log.info("listening cancelled")
            return
        if heard.error:
            message = f"Could not recognise the question: {heard.error}"
            log.error("%s", message)
            self.status.update(message=message)
            if box is not None:
                box.note(message)
            return
        if not heard.text:
            log.info("heard nothing (%s after %.1f s)", heard.ended_by, heard.audio_s)
            if box is not None:
                box.note(HEARD_NOTHING)
            return
        self.assistant.ask(heard.text, t_hotkey=self._t_press, language=heard.language or None)
        self.last_sent = sent = time.monotonic()
        if box is not None:
            box.show_text(heard.text)
            box.finish(heard.text)
        latency = None if heard.t_speech_end is None else sent - heard.t_speech_end
        log.info("heard %d words (%s, ended by %s, %.1f s of audio): end of speech -> question sent %s "
                 "(final recognition %.2f s of %.1f s of audio%s, %d stretches before it)", len(heard.text.split()),
                 heard.language or "?", heard.ended_by, heard.audio_s, "-" if latency is None else f"{latency:.2f} s",
                 heard.recognise_s, heard.tail_s, ", started at the last pause" if heard.reused else "",
                 heard.stretches)
        if latency is not None:
            self.status.update(last_voice_s=round(latency, 3))

    def _keep_audio(self, heard: Heard) -> None:
        if heard.audio is None or not self.settings.talk_debug_audio:
            return
        try:
            from daemon.listen import RATE
            from daemon.logs import log_dir

            path = Path(log_dir()) / f"question-{time.strftime('%Y%m%d-%H%M%S')}.wav"
            _write_wav(path, heard.audio, RATE)
            log.info("talk_debug_audio: kept the question's audio in %s", path)
        except (OSError, VoxTrayError):
            log.exception("could not keep the question's audio")


def _write_wav(path: Path, samples: Any, rate: int) -> None:
    import wave

    import numpy as np

    path.parent.mkdir(parents=True, exist_ok=True)
    pcm = (np.clip(np.asarray(samples, dtype=np.float32), -1.0, 1.0) * 32767.0).astype("<i2")
    with wave.open(str(path), "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(rate)
        w.writeframes(pcm.tobytes())
