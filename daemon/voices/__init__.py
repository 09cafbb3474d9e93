"""The voice library: `library` (list, find, import reference clips), `decoding` (any audio file to samples,
in-process) and `check` (is a clip a good XTTS reference?). The names other packages use are re-exported here."""

from daemon.voices.library import VOICE_RATE, VoiceInfo, VoiceLibrary, VoiceRef, prepare_samples, safe_name

__all__ = ["VOICE_RATE", "VoiceInfo", "VoiceLibrary", "VoiceRef", "prepare_samples", "safe_name"]
