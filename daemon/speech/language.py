"""Which language a sentence is in, so that every voice reads it in that language.

    track = LanguageTrack(fixed=None, hint="fr")   # one per answer: hint = the spoken question's language
    track.of("Bonjour, comment allez-vous ?")      # -> "fr"
    track.of("OK.")                                # too short to tell: the answer's language so far ("fr")

The detector is py3langid (the maintained fork of langid.py, BSD): pure Python and numpy, so it loads on the
Windows interpreter without a native extension or the Visual C++ Redistributable; a 4.6 MB model inside the
wheel (nothing to download); deterministic; ~0.1 ms a sentence here. Loaded once (~0.4-0.6 s, 49 MB resident: the
full table is dropped once the candidates are chosen), not at start: in the background at the ask or talk hotkey
(`preload`, while the user types or speaks), else at an answer's first detection (bench/memory.py). It is asked to
choose among CANDIDATES only (the 17 languages XTTS speaks and the other common ones edge-tts and the system
voices read), which makes short sentences far more reliable than 97 languages would. Scripts decide first: kana
is Japanese, Hangul Korean, other Han Chinese; a sentence too short to judge (under MIN_CHARS letters, or a
detection below MIN_CONFIDENCE) keeps the answer's language so far.
"""

from __future__ import annotations

import logging
import re
import threading
import time
from array import array
from typing import Any

log = logging.getLogger(__name__)

# XTTS v2's languages (its config lists them; "zh-cn" is its code for Chinese).
XTTS = ("en", "es", "fr", "de", "it", "pt", "pl", "tr", "ru", "nl", "cs", "ar", "zh", "ja", "hu", "ko", "hi")
CANDIDATES = (*XTTS, "sv", "da", "no", "fi", "ro", "ca", "uk", "el", "sk", "bg", "hr", "vi", "id", "he")
MIN_CHARS = 8  # fewer letters than this: too little to tell ("OK.", "Ja.", "Sí.", "Yes, sure")
MIN_CONFIDENCE = 0.8
FIRST_CONFIDENCE = 0.5  # before any sentence of the answer was sure (see LanguageTrack.of)

_KANA = re.compile(r"[\u3040-\u30ff]")
_HANGUL = re.compile(r"[\uac00-\ud7af\u1100-\u11ff]")
_HAN = re.compile(r"[\u4e00-\u9fff]")
_LETTER = re.compile(r"[^\W\d_]", re.UNICODE)

_lock = threading.Lock()
_identifier: Any = None


def _model() -> Any:
    global _identifier
    with _lock:
        if _identifier is None:
            from py3langid.langid import MODEL_FILE, LanguageIdentifier

            t0 = time.monotonic()
            ident = LanguageIdentifier.from_model_file(MODEL_FILE, norm_probs=True)
            ident.set_languages(list(CANDIDATES))
            if hasattr(ident, "_full_model"):  # keep only the candidates' table: 81 -> 54 MB resident
                ident._full_model = (ident.nb_ptc, ident.nb_pc, ident.nb_classes)
            if isinstance(getattr(ident, "_rowbase", None), list):  # 2 x 100k int objects -> arrays: 54 -> 49 MB
                ident._rowbase = array("q", ident._rowbase)
                ident.tk_output = array("i", ident.tk_output)
            _identifier = ident
            log.info("language detector loaded in %.2f s", time.monotonic() - t0)
        return _identifier


def preload() -> None:
    """Load the detector in the background (~0.4 s) when a question is coming, so that its first sentence does not
    wait (does nothing once loaded or while loading)."""
    if _identifier is not None or _lock.locked():
        return

    def load() -> None:
        try:
            _model()
        except Exception as exc:  # ImportError in a hand-made environment: detect() says so when asked
            log.debug("language detector not preloaded: %s", exc)

    threading.Thread(target=load, name="language-load", daemon=True).start()


def detect(text: str) -> tuple[str, float]:
    """(language code, confidence 0..1) of `text`; ("", 0.0) when there is too little to tell."""
    if _KANA.search(text):
        return "ja", 1.0
    if _HANGUL.search(text):
        return "ko", 1.0
    if _HAN.search(text):
        return "zh", 1.0
    if len(_LETTER.findall(text)) < MIN_CHARS:
        return "", 0.0
    try:
        code, prob = _model().classify(text)
    except ImportError as exc:  # py3langid missing from a hand-made environment: every sentence keeps the hint
        log.warning("language detection unavailable (%s): pip install py3langid", exc)
        return "", 0.0
    return str(code), float(prob)


def question_language(question: str) -> str | None:
    """The language a typed question is in, when it says so clearly (None otherwise)."""
    code, confidence = detect(question)
    return code if code and confidence >= MIN_CONFIDENCE else None


def fixed_language(setting: str) -> str | None:
    """xtts_language as a fixed language for every sentence, or None for "auto" (detected per sentence)."""
    value = setting.strip().lower()
    return None if value in ("", "auto") else base(value)


def base(code: str) -> str:
    """"zh-cn" -> "zh", "fr-FR" -> "fr": the language without region."""
    return code.strip().lower().replace("_", "-").split("-")[0]


class LanguageTrack:
    """The language of each sentence of one answer: detected, else the answer's language so far."""

    def __init__(self, fixed: str | None = None, hint: str | None = None, default: str = "en") -> None:
        self.fixed = base(fixed) if fixed else None
        self.current = base(hint) if hint else default
        self.confirmed = False  # a sentence of this answer was detected: the guess is no longer just a guess

    def of(self, sentence: str) -> str:
        if self.fixed:
            return self.fixed
        code, confidence = detect(sentence)
        # Until one sentence is sure, a likely detection beats the guess ("Olá a todos," is pt at 0.61, and an
        # answer's first words are its language more often than the question's); after that only a sure one.
        if code and confidence >= (MIN_CONFIDENCE if self.confirmed else FIRST_CONFIDENCE):
            self.current = code
            self.confirmed = self.confirmed or confidence >= MIN_CONFIDENCE
        return self.current
