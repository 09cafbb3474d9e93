"""The system voice on Linux: espeak-ng, one child per piece of text (`-w out.wav --stdin`).

`settings.system_voice` is matched against `espeak-ng --voices` (language, file or name; a "+variant" is kept);
an unknown voice speaks with the default one rather than passing a stray option.
"""

from __future__ import annotations

import logging
import shutil
from dataclasses import dataclass
from pathlib import Path

from daemon.errors import EngineError, EngineUnavailableError
from daemon.settings import Settings
from daemon.speech.engines.child import listing
from daemon.speech.language import base as language_base

log = logging.getLogger(__name__)

ESPEAK_HINT = "install it: sudo apt install espeak-ng"


@dataclass(frozen=True)
class EspeakVoice:
    language: str
    name: str
    file: str


class EspeakBackend:
    """espeak-ng found on PATH (looked up once)."""

    name = "espeak"
    label = "espeak-ng"
    hint = ESPEAK_HINT
    cwd: Path | None = None
    no_voice_rc: int | None = None  # espeak-ng has no "no voice" exit code

    def __init__(self) -> None:
        self.path = shutil.which("espeak-ng")
        self._voice_cache: tuple[str, str | None] | None = None
        self._listing: list[EspeakVoice] | None = None
        self._by_language: dict[str, str | None] = {}

    def missing(self) -> str | None:
        """Why it cannot run at all, or None."""
        return None if self.path else f"espeak-ng is not installed; {ESPEAK_HINT}"

    def argv(self, out: Path, settings: Settings, language: str = "") -> list[str]:
        """The command that speaks stdin into `out` (in `language` when the chosen voice speaks another)."""
        voice = self._voice(settings.system_voice)
        if language and language != self._language_of(settings.system_voice):
            voice = self._for_language(language) or voice
        rate = str(settings.system_wpm())
        return [self.path or "espeak-ng", "-w", str(out), "-s", rate, *(["-v", voice] if voice else []), "--stdin"]

    def voices(self) -> list[str]:
        """Names of the installed voices."""
        return [v.name for v in self.listed()]

    def listed(self) -> list[EspeakVoice]:
        """The voices `espeak-ng --voices` lists."""
        if self.path is None:
            raise EngineUnavailableError(f"espeak-ng is not installed; {ESPEAK_HINT}")
        voices: list[EspeakVoice] = []
        for line in listing([self.path, "--voices"], None, self.cwd).splitlines()[1:]:
            cols = line.split()
            if len(cols) >= 5:
                voices.append(EspeakVoice(cols[1], cols[3].replace("_", " "), cols[4]))
        return voices

    def _language_of(self, system_voice: str) -> str:
        """The language of the configured voice ("en" for espeak-ng's default)."""
        arg = self._voice(system_voice)
        found = [v for v in self._listed_quietly() if arg and v.file == arg.partition("+")[0]]
        return language_base(found[0].language) if found else "en"

    def _for_language(self, language: str) -> str | None:
        """espeak-ng's voice for a language code ("zh": Mandarin, "no": Bokmål), None when it has none."""
        if language not in self._by_language:
            wanted = {"zh": "cmn", "no": "nb"}.get(language, language)
            voices = self._listed_quietly()
            exact = [v for v in voices if v.language in (wanted, f"{wanted}-{wanted}")]  # fr-fr, not fr-be
            close = [v for v in voices if language_base(v.language) == wanted]
            picks = exact or close
            self._by_language[language] = picks[0].file if picks else None
        return self._by_language[language]

    def _listed_quietly(self) -> list[EspeakVoice]:
        """The voices, listed once per engine (a failed listing is remembered as none: the default voice speaks)."""
        if self._listing is None:
            try:
                self._listing = self.listed()
            except EngineError as exc:
                log.warning("system voice list unavailable (%s); using the default voice", exc)
                self._listing = []
        return self._listing

    def _voice(self, system_voice: str) -> str | None:
        """system_voice as an espeak-ng voice argument, or None for the default voice (remembered per name)."""
        wanted = system_voice.strip()
        if not wanted:
            return None
        if self._voice_cache is not None and self._voice_cache[0] == wanted:
            return self._voice_cache[1]
        base, plus, variant = wanted.partition("+")
        key = base.replace("_", " ").casefold()
        known = self._listed_quietly()
        exact = [v for v in known if key in (v.language.casefold(), v.file.casefold(), v.name.casefold())]
        close = [v for v in known if key in v.name.casefold()]
        candidates = exact or close
        found = candidates[0] if candidates else None
        arg = None if found is None else found.file + plus + variant
        if found is None and known:
            log.warning("system_voice %r is not an espeak-ng voice; using the default voice", wanted)
        self._voice_cache = (wanted, arg)
        return arg
