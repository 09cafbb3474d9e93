"""The audio output device named in settings (`output_device`: an index, a part of its name, or empty for the
system default), found through PortAudio; its absence is an AudioDeviceError that lists the choices."""

from __future__ import annotations

from typing import Any

from daemon import paths
from daemon.errors import AudioDeviceError

NO_DEVICE_HELP = (
    "No audio output device is available. Plug in speakers or headphones (or enable the sound card), "
    f"set output_device in settings.json to one listed by `{paths.command()} doctor`, "
    "or write a file instead with --out FILE.wav."
)


def resolve_device(device: str | int | None) -> tuple[int | None, dict[str, Any]]:
    """Find the output device named in settings; raise AudioDeviceError with the choices if absent."""
    import sounddevice as sd

    try:
        devices = list(sd.query_devices())
    except Exception as exc:  # PortAudio missing or broken
        raise AudioDeviceError(f"The audio system could not be queried ({exc}). {NO_DEVICE_HELP}") from None
    outputs = [(i, d) for i, d in enumerate(devices) if d.get("max_output_channels", 0) > 0]
    if not outputs:
        raise AudioDeviceError(NO_DEVICE_HELP)
    if device is None or device == "":
        try:
            info = sd.query_devices(kind="output")
            return None, dict(info)
        except Exception:
            raise AudioDeviceError(NO_DEVICE_HELP) from None
    for i, d in outputs:
        if (isinstance(device, int) and i == device) or (
            isinstance(device, str) and device.lower() in str(d.get("name", "")).lower()
        ):
            return i, dict(d)
    names = "; ".join(f"{i}: {d['name']}" for i, d in outputs)
    raise AudioDeviceError(f"output_device {device!r} was not found. Output devices here: {names}.")
