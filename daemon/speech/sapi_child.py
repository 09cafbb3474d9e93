"""Windows SAPI5 speech into a WAV file, run as a child process by the system-voice engine.

    python daemon/speech/sapi_child.py --out=FILE.wav [--wpm=175] [--voice=SUBSTRING] [--language=fr] < text (UTF-8)
    python daemon/speech/sapi_child.py --list      (voice descriptions, one a line, UTF-8)

Exit codes: 0 ok, 1 SAPI failed while speaking, 2 bad arguments or no text, 3 no SAPI or no voice here.
Errors are one line on stderr. comtypes is imported lazily and used without generated type libraries
(`dynamic=True`), so a broken or absent SAPI costs this process, never the daemon.
"""

from __future__ import annotations

import argparse
import importlib
import math
import sys
from pathlib import Path
from typing import Any, NoReturn

OK, FAILED, BAD_ARGS, NO_SAPI = 0, 1, 2, 3
SAFT22KHZ16BITMONO = 22  # SpeechAudioFormatType
SSFM_CREATE_FOR_WRITE = 3  # SpeechStreamFileMode
SVSF_DEFAULT = 0  # SpeechVoiceSpeakFlags: synchronous
BASE_WPM = 175  # SAPI's Rate 0 is about this many words per minute
# Primary language ids (the low 10 bits of a Windows LANGID) of the languages VoxTray detects.
LANGIDS = {"ar": 0x01, "bg": 0x02, "ca": 0x03, "zh": 0x04, "cs": 0x05, "da": 0x06, "de": 0x07, "el": 0x08,
           "en": 0x09, "es": 0x0A, "fi": 0x0B, "fr": 0x0C, "he": 0x0D, "hu": 0x0E, "it": 0x10, "ja": 0x11,
           "ko": 0x12, "nl": 0x13, "no": 0x14, "pl": 0x15, "pt": 0x16, "ro": 0x18, "ru": 0x19, "hr": 0x1A,
           "sk": 0x1B, "sv": 0x1D, "tr": 0x1F, "id": 0x21, "uk": 0x22, "vi": 0x2A, "hi": 0x39}


class ChildExit(Exception):
    """Ends the child with an exit code and one line for stderr."""

    def __init__(self, code: int, message: str) -> None:
        super().__init__(message)
        self.code = code


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:
        raise ChildExit(BAD_ARGS, f"bad arguments: {message}")


def _parser() -> argparse.ArgumentParser:
    p = _Parser(prog="python -m daemon.speech.sapi_child", add_help=False)
    p.add_argument("--list", action="store_true", help="print the installed voices' descriptions")
    p.add_argument("--out", type=Path, help="WAV file to write (22.05 kHz, 16-bit, mono)")
    p.add_argument("--wpm", type=int, default=BASE_WPM, help="speed in words per minute")
    p.add_argument("--voice", default="", help="part of a voice's description (empty: the default voice)")
    p.add_argument("--language", default="", help="the text's language (en, fr, ...): a voice of it is chosen")
    return p


def wpm_to_rate(wpm: int) -> int:
    """SAPI's Rate (-10..10; +10 is ~3x, -10 ~1/3x the default speed) for words per minute; 175 wpm = 0."""
    if wpm <= 0:
        return -10
    return max(-10, min(10, round(10 * math.log(wpm / BASE_WPM, 3))))


def _client() -> Any:
    """comtypes.client, or ChildExit(NO_SAPI) when it cannot be imported (not Windows, not installed)."""
    try:
        return importlib.import_module("comtypes.client")
    except Exception as exc:  # ImportError off Windows; OSError and others from a broken install
        raise ChildExit(NO_SAPI, f"SAPI is not available here: comtypes cannot be imported ({exc})") from exc


def _create(client: Any, progid: str) -> Any:
    try:
        return client.CreateObject(progid, dynamic=True)
    except Exception as exc:  # COMError/OSError: the class is not registered here
        raise ChildExit(NO_SAPI, f"SAPI is not available here: {progid} cannot be created ({exc})") from exc


def _voices(voice: Any) -> list[tuple[str, Any]]:
    try:
        tokens = voice.GetVoices()
        found = [(str(t.GetDescription()), t) for t in (tokens.Item(i) for i in range(int(tokens.Count)))]
    except Exception as exc:  # COMError: e.g. Wine's SpVoice, which implements no IDispatch names
        raise ChildExit(NO_SAPI, f"SAPI cannot list its voices here ({exc})") from exc
    if not found:
        raise ChildExit(NO_SAPI, "no SAPI voice is installed (Settings > Time & language > Speech)")
    return found


def list_voices(client: Any) -> list[str]:
    """Descriptions of the installed SAPI voices."""
    return [name for name, _token in _voices(_create(client, "SAPI.SpVoice"))]


def reads(token: Any, language: str) -> bool:
    """Whether a voice token's Language attribute ("409;9": hex LANGIDs) names `language`."""
    try:
        ids = [int(part, 16) for part in str(token.GetAttribute("Language")).split(";") if part.strip()]
    except Exception:  # no such attribute, or not hex
        return False
    return LANGIDS.get(language, -1) in {i & 0x3FF for i in ids}


def speak(client: Any, text: str, out: Path, wpm: int, wanted: str, language: str = "") -> str:
    """Speak text into out; returns a warning ("" when none)."""
    voice = _create(client, "SAPI.SpVoice")
    warning = ""
    voices = _voices(voice)
    names = "; ".join(name for name, _token in voices)
    match = [token for name, token in voices if wanted and wanted.casefold() in name.casefold()]
    if wanted and not match:
        warning = f"no SAPI voice matches {wanted!r} (installed: {names}); using the default voice"
    if language:
        readers = [token for _name, token in voices if reads(token, language)]
        if not readers:
            warning = (f"no SAPI voice reads {language!r} (installed: {names}); add one in Settings > Time & "
                       "language > Speech")
        match = [t for t in match if t in readers] or readers or match
    if match:
        voice.Voice = match[0]
    voice.Rate = wpm_to_rate(wpm)
    fmt = _create(client, "SAPI.SpAudioFormat")
    fmt.Type = SAFT22KHZ16BITMONO
    stream = _create(client, "SAPI.SpFileStream")
    stream.Format = fmt
    stream.Open(str(out), SSFM_CREATE_FOR_WRITE, False)
    try:
        voice.AudioOutputStream = stream
        voice.Speak(text, SVSF_DEFAULT)
    finally:
        stream.Close()
    return warning


def _read_text() -> str:
    raw = sys.stdin.buffer.read() if sys.stdin is not None else b""
    return raw.decode("utf-8", errors="replace").strip()


def _say(stream: Any, line: str) -> None:
    if stream is not None:
        stream.buffer.write((line + "\n").encode("utf-8", errors="replace"))
        stream.flush()


def run(argv: list[str]) -> int:
    """The child's work; raises ChildExit on failure."""
    args = _parser().parse_args(argv)
    if args.list:
        _say(sys.stdout, "\n".join(list_voices(_client())))
        return OK
    if args.out is None:
        raise ChildExit(BAD_ARGS, "bad arguments: --out=FILE.wav or --list is required")
    text = _read_text()
    if not text:
        raise ChildExit(BAD_ARGS, "no text on stdin")
    client = _client()
    warning = speak(client, text, args.out, args.wpm, args.voice, args.language)
    if warning:
        _say(sys.stderr, warning)
    return OK


def main(argv: list[str] | None = None) -> int:
    """Run, and turn every failure into an exit code and one line on stderr (never a traceback)."""
    try:
        return run(sys.argv[1:] if argv is None else argv)
    except ChildExit as exc:
        code, message = exc.code, str(exc)
    except Exception as exc:
        code, message = FAILED, f"SAPI failed: {type(exc).__name__}: {exc}"
    _say(sys.stderr, " ".join(message.split()))
    return code


if __name__ == "__main__":
    sys.exit(main())
