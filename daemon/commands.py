"""The daemon's verbs: what the tray menu (TrayActions) and the running app call, in one place.

Each verb reads the current settings through LiveSettings and the running parts through a provider (None
while the daemon is still starting); a setting it changes is saved and swapped in, never patched in a part.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

from daemon.answerlog import AnswerLog
from daemon.errors import VoxTrayError
from daemon.live import LiveSettings
from daemon.settings import Settings
from daemon.status import StatusBus
from daemon.voices import VoiceRef

if TYPE_CHECKING:
    from daemon.desktop.answer_window import ShownAnswer
    from daemon.desktop.dialogs import ModelOffer
    from daemon.desktop.llm_dialog import LLMValues, Tested
    from daemon.desktop.setup_report import Progress, Report
    from daemon.modelsetup import ModelSetup
    from daemon.parts import Parts

log = logging.getLogger(__name__)

STARTING = "VoxTray is still starting; try again in a moment."


def current_voice(settings: Settings) -> VoiceRef | None:
    """The voice the settings name, when its file exists."""
    path = settings.reference_path
    return VoiceRef(path.stem, path) if path.is_file() else None


class Commands:
    """Implements desktop.tray.TrayActions for the running daemon."""

    def __init__(self, live: LiveSettings, status: StatusBus, parts: Callable[[], Parts | None],
                 quit: Callable[[], None]) -> None:
        self.live = live
        self.status = status
        self._parts = parts
        self.quit = quit
        self.answers = AnswerLog(lambda: live().answers_kept)  # the last answers (answers.json), read on first use

    # --- asking ---
    def ask(self) -> None:
        """Tray "Ask…": exactly what the ask hotkey does (barge-in, health check, question box)."""
        parts = self._parts()
        if parts is None:
            self.message(STARTING)
        elif parts.flow is not None:
            parts.flow.open_box()
        else:
            from daemon import paths

            self.message(f"The question box needs a desktop session; use `{paths.command()} ask` instead.")

    def ask_by_voice(self) -> None:
        """Tray "Ask by voice": listen (barge-in first) until a pause, then ask; again while listening sends."""
        parts = self._parts()
        if parts is None:
            self.message(STARTING)
        else:
            parts.talk.press(mode="toggle")
            parts.speech.warm_audio()  # as the talk hotkey does

    def read_aloud(self) -> None:
        """Tray "Read aloud": what the read hotkey does (the selection, else the clipboard, read aloud)."""
        parts = self._parts()
        if parts is None:
            self.message(STARTING)
        else:
            parts.talk.cancel()
            parts.reading.press()

    def last_answer(self) -> ShownAnswer | None:
        """Tray "Show the last answer": the newest answer (or text read aloud) cut into what was read aloud and what
        the speech cleanup left out (code blocks, links' addresses, ...); None before the first."""
        from daemon.desktop.answer_window import ShownAnswer
        from daemon.speech.unspoken import spoken_parts

        entry = self.answers.last()
        if entry is None:
            return None
        return ShownAnswer(entry.question, entry.text, tuple(spoken_parts(entry.text)), entry.time,
                           reading=entry.reading, cancelled=entry.cancelled, truncated=entry.truncated)

    def stop_speaking(self) -> None:
        parts = self._parts()
        if parts is not None:
            parts.assistant.stop()
            parts.speech.pipeline.cancel()

    def pause_resume(self) -> None:
        """Tray "Pause" / "Resume": what the pause hotkey does (held at the current sample, then on from it)."""
        parts = self._parts()
        if parts is not None:
            parts.speech.pipeline.toggle_pause()

    def repeat_last(self) -> None:
        """Tray "Repeat the last answer": its kept audio, else its text re-synthesised; never a new LLM request."""
        parts = self._parts()
        if parts is None:
            self.message(STARTING)
        else:
            parts.talk.cancel()
            parts.assistant.repeat()

    def can_repeat(self) -> bool:
        """There is a last answer (or reading) to repeat (the tray greys its item otherwise)."""
        parts = self._parts()
        return parts is not None and parts.assistant.can_repeat

    def new_conversation(self) -> None:
        parts = self._parts()
        if parts is not None:
            parts.assistant.conversation.reset()

    def toggle_hotkeys(self) -> None:
        self.status.update(hotkeys_paused=not self.status.current.hotkeys_paused)

    # --- voices and engines ---
    def voices(self) -> list[str]:
        from daemon.voices import VoiceLibrary

        return [v.name for v in VoiceLibrary(self.live()).list()]

    def use_voice(self, name: str) -> None:
        """Switch voice: saved atomically, used from the next sentence, prepared in the background."""
        from daemon.voices import VoiceLibrary

        library = VoiceLibrary(self.live())
        ref = library.find(name)
        self.live.update(cloning_reference_file=library.setting_value(ref))
        self.status.update(voice=ref.name)
        log.info("voice switched to %s", ref.name)
        parts = self._parts()
        if parts is not None:
            parts.speech.prepare_voice(ref)

    def add_voice(self, path: Path) -> None:
        from daemon.voices import VoiceLibrary

        try:
            info = VoiceLibrary(self.live()).add(path)
        except VoxTrayError as exc:
            self.message(f"Could not add {path.name}: {exc}")
            return
        self.message(f"Added voice {info.name}")
        parts = self._parts()
        if parts is not None:
            parts.speech.prepare_voice(VoiceRef(info.name, info.path))

    def set_engine(self, name: str) -> None:
        self.live.update(engine=name)
        log.info("engine set to %s", name)

    def output_devices(self) -> tuple[tuple[str, ...], str]:
        """The tray's Output device menu: the devices by name as last listed (no PortAudio call: speech/devices.py
        says when it re-scans) and the chosen one ("" = the system default)."""
        from daemon.speech import devices

        names = tuple(d.name for d in devices.last_list())
        setting = self.live().output_device
        return names, devices.chosen(setting, names) or ("" if setting is None or setting == "" else str(setting))

    def set_output_device(self, name: str) -> None:
        """Tray "Output device": saved by name ("" = the system default); the sound moves at its next quiet moment."""
        self.live.update(output_device=name or None)
        log.info("output device set to %s", name or "the system default")

    def set_speed(self, speed: float) -> None:
        """Tray "Speed": every voice, from the next sentence (engines read it per sentence); saved."""
        self.live.update(speech_speed=speed)
        log.info("speech speed set to %gx", speed)

    def set_volume(self, gain: float) -> None:
        """Tray "Volume": the output gain of every voice, from the next sentence; saved."""
        self.live.update(volume=gain)
        log.info("volume set to %g", gain)

    def engine_problems(self) -> dict[str, str]:
        """Why each engine that cannot speak now cannot (for the menu's greyed engines); {} while starting."""
        parts = self._parts()
        if parts is None:
            return {}
        out: dict[str, str] = {}
        availability = parts.speech.router.availability
        for name, engine in parts.speech.engines.items():
            ok, why = availability.usable(name, judge=False)
            if not ok and not engine.last_resort:
                out[name] = why
        if "xtts" not in parts.speech.engines:  # not built: the menu still lists it
            out["xtts"] = "cloning is off in settings"
        return out

    # --- settings and the LLM link ---
    def reload_settings(self) -> None:
        """Re-read settings.json into the running daemon (a bad file is reported and ignored)."""
        try:
            self.live.reload()
        except VoxTrayError as exc:
            self.message(str(exc))
            return
        log.info("settings reloaded from %s", self.live.path)

    # The tray's "Set up the LLM…" window (desktop/llm_dialog.py) calls these; errors are raised for it to show.
    def llm_values(self) -> LLMValues:
        """The saved server address and model, and whether a token is stored (never the token itself)."""
        from daemon.brain import secrets
        from daemon.desktop.llm_dialog import LLMValues

        current = self.live()
        return LLMValues(current.remote_llm_url, current.llm_model, bool(secrets.get_token(current)))

    def read_llm_link(self, text: str) -> tuple[str, str, str]:
        """A pasted voxtray://connect?... line as (url, token, model); BadInputError says how to fix it."""
        from daemon.brain.setup import read_link

        link = read_link(text)
        return link.url, link.token, link.model

    def test_llm(self, address: str, token: str, model: str) -> Tested:
        """Probe what was typed (health, model list, one tiny answer); nothing is saved."""
        from dataclasses import replace

        from daemon.brain import setup
        from daemon.desktop.llm_dialog import Tested

        current = self.live()
        target = setup.target(address, token, model, current)
        result = setup.probe_target(target, current)
        # a save of the model it answered with is the same probe: remembered so Save does not probe again
        return Tested(result.summary, list(result.models), result.model, probe=(replace(target, model=result.model),
                                                                                 result))

    def save_llm(self, address: str, token: str, model: str, tested: Tested | None) -> str:
        """Probe (unless `tested` is the probe of exactly these values) and save, then use it at once."""
        from daemon.brain import setup

        target = setup.target(address, token, model, self.live())
        probe = tested.probe if tested is not None else None
        probed = probe[1] if isinstance(probe, tuple) and len(probe) == 2 and probe[0] == target else None
        result = setup.save_target(target, self.live.path, probed)
        log.info("LLM set up: %s (%s)", result.url, "probed before" if probed else "probed now")
        self.message(f"Connected: {result.summary}")
        self.reload_settings()
        return result.summary

    # --- files, autostart, set-up ---
    def open_settings(self) -> None:
        from daemon.desktop.opener import open_path

        open_path(self.live.path)

    def open_voices_folder(self) -> None:
        from daemon.desktop.opener import open_path

        open_path(self.live().voices_path)

    def open_log(self) -> None:
        from daemon.desktop.opener import open_path
        from daemon.logs import log_file

        open_path(log_file())

    def open_url(self, url: str) -> None:
        from daemon.desktop.opener import open_url

        open_url(url)

    def set_autostart(self, enabled: bool) -> None:
        from daemon.desktop.autostart import set_enabled

        set_enabled(enabled)

    def autostart_enabled(self) -> bool:
        from daemon.desktop.autostart import is_enabled

        return is_enabled()

    def check_setup(self, progress: Progress | None = None) -> Report:
        """Tray "Check set-up…": the doctor's checks (slow: run off the GUI thread), `progress` told before each."""
        from daemon.doctor import run_checks

        return [(c.name, c.state, c.detail, c.fix) for c in run_checks(self.live(), progress=progress)]

    # --- the cloned voice's model ---
    def model_offer(self) -> ModelOffer:
        from daemon.desktop.dialogs import ModelOffer
        from daemon.modelsetup import offer_facts

        return ModelOffer(**offer_facts(self.live()))

    def validate_model_folder(self, folder: Path) -> list[str]:
        from daemon.download import validate_folder

        return validate_folder(folder)

    def accept_model_license(self) -> None:
        self._model_setup().accept_and_download()

    def use_model_folder(self, folder: Path) -> None:
        self._model_setup().use_folder(folder)

    def cancel_download(self) -> None:
        self._model_setup().cancel()

    def _model_setup(self) -> ModelSetup:
        parts = self._parts()
        if parts is None or parts.model_setup is None:
            raise VoxTrayError("The cloned voice is off (use_local_cloning) or VoxTray is still starting.")
        return parts.model_setup

    def message(self, text: str) -> None:
        """Tell the user (the tray notifies Status messages) and log it."""
        log.info("%s", text)
        self.status.update(message=text)
