"""The VoxTray exception tree: every error carries a message that says what the user can do."""

from __future__ import annotations


class VoxTrayError(Exception):
    """Base of every error VoxTray reports to the user; `exit_code` is what the CLI returns."""

    exit_code = 1


class SettingsError(VoxTrayError):
    """settings.json cannot be read or has a bad value (bad input: exit code 2)."""

    exit_code = 2


class BadInputError(VoxTrayError):
    """A command-line argument or input file is unusable (exit code 2)."""

    exit_code = 2


class AlreadyRunningError(VoxTrayError):
    """Another VoxTray daemon holds the single-instance lock."""


class AudioDeviceError(VoxTrayError):
    """No usable audio output device."""


class EngineError(VoxTrayError):
    """A speech engine could not speak; the router fails over to the next tier."""


class EngineUnavailableError(EngineError):
    """The engine cannot be used at all here (missing package, model, voice or device)."""


class EngineOutOfMemoryError(EngineError):
    """The engine ran out of GPU memory."""


class EngineTimeoutError(EngineError):
    """The engine missed its first-chunk or progress deadline."""


class MisspokeError(EngineError):
    """One sentence came out as something other than its text (the speech check heard it): the next voice reads
    that sentence; the engine is not marked down and keeps the rest of the answer."""


class VoiceError(VoxTrayError):
    """A voice reference file is missing or unusable (exit code 2)."""

    exit_code = 2


class LLMError(VoxTrayError):
    """The remote LLM could not answer."""


class MissingRuntimeError(VoxTrayError):
    """A native library cannot load because Windows lacks the Visual C++ Redistributable (daemon.winruntime)."""
