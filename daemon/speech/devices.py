"""Output devices through PortAudio: the list the tray offers (`output_devices`), and the device named in
settings (`output_device`: a name as listed, a part of one, an index, or empty for the system default) found by
`resolve_device`, whose absence is an AudioDeviceError that lists the choices.

The list is one host API's devices, de-duplicated by name, without the aliases of the default ("default",
"Microsoft Sound Mapper - Output", Wine's "Wine Sound Mapper - Output", ...), which the menu offers as "System
default". On Windows that host API is
MME: PortAudio's default output is MME's, so "System default" and the named devices go through the same API;
MME accepts any sample rate (Windows converts), where WASAPI shared mode refuses all but the mixer's. Its names are
cut at 31 characters ("Headphones (Realtek(R) Audio)"): they are what settings.json stores. Elsewhere it is
PortAudio's default host API (ALSA on Linux).

PortAudio reads the device list once, when it is initialised: `rescan()` re-initialises it, which closes every
open stream, so only the sound output calls it, with its own stream closed (speech/sinks.py LiveSink: after a
device error, and at the start of an utterance while the stream is closed or a chosen device is missing).
Nothing scans at rest; the menu shows the latest list (`last_list`).
"""

from __future__ import annotations

import logging
import sys
import threading
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from daemon import paths
from daemon.errors import AudioDeviceError

log = logging.getLogger(__name__)

NO_DEVICE_HELP = (
    "No audio output device is available. Plug in speakers or headphones (or enable the sound card), "
    f"set output_device in settings.json to one listed by `{paths.command()} doctor`, "
    "or write a file instead with --out FILE.wav."
)
PREFERRED_HOSTAPI = {"win32": "MME"}
DEFAULT_ALIASES = frozenset({"default", "sysdefault", "pulse", "pipewire", "dmix", "microsoft sound mapper - output",
                             "primary sound driver"})

_scan_lock = threading.Lock()
_last: tuple[OutputDevice, ...] = ()


@dataclass(frozen=True)
class OutputDevice:
    """One choice of the tray's Output device menu."""

    name: str
    index: int
    hostapi: str


def list_outputs(devices: Iterable[Mapping[str, Any]], hostapis: Iterable[Mapping[str, Any]],
                 platform: str = sys.platform) -> tuple[OutputDevice, ...]:
    """The output devices of the preferred host API, once per name, default aliases left out."""
    hostapis = list(hostapis)
    apis = [str(h.get("name", "")) for h in hostapis]
    outputs = [(i, d) for i, d in enumerate(devices) if int(d.get("max_output_channels", 0) or 0) > 0]
    used = {int(d.get("hostapi", 0)) for _, d in outputs}
    want = PREFERRED_HOSTAPI.get(platform, "")
    api = next((n for n, name in enumerate(apis) if name == want and n in used), None)
    if api is None:  # else the first host API that has a default output and devices
        api = next((n for n, h in enumerate(hostapis) if n in used and int(h.get("default_output_device", -1)) >= 0),
                   min(used, default=0))
    out: dict[str, OutputDevice] = {}
    for i, d in outputs:
        name = str(d.get("name", "")).strip()
        alias = name.lower() in DEFAULT_ALIASES or name.lower().endswith("sound mapper - output")  # (Wine's too)
        if int(d.get("hostapi", 0)) == api and name and not alias and name not in out:
            out[name] = OutputDevice(name, i, apis[api] if api < len(apis) else "")
    return tuple(out.values())


def _query() -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    import sounddevice as sd

    try:
        return [dict(d) for d in sd.query_devices()], [dict(h) for h in sd.query_hostapis()]
    except Exception as exc:  # PortAudio missing or broken
        raise AudioDeviceError(f"The audio system could not be queried ({exc}). {NO_DEVICE_HELP}") from None


def output_devices() -> tuple[OutputDevice, ...]:
    """The devices PortAudio knows now (as of its last initialisation); remembered for the menu."""
    global _last
    _last = list_outputs(*_query())
    return _last


def last_list() -> tuple[OutputDevice, ...]:
    """The latest list seen (no PortAudio call: the tray's menu reads it)."""
    return _last


def rescan() -> tuple[OutputDevice, ...]:
    """Re-initialise PortAudio so devices plugged in or out since show; closes every open stream (see above)."""
    import sounddevice as sd

    with _scan_lock:
        try:
            sd._terminate()
            sd._initialize()
        except Exception:
            log.warning("PortAudio could not be re-initialised", exc_info=True)
        found = output_devices()
    log.info("output devices: %s", ", ".join(d.name for d in found) or "none")
    return found


def chosen(setting: str | int | None, names: Iterable[str]) -> str:
    """Which listed name a setting picks ("" for the system default or none listed): exact, then a part of it."""
    if setting is None or setting == "" or isinstance(setting, int):
        return ""
    names = list(names)
    if setting in names:
        return setting
    return next((n for n in names if setting.lower() in n.lower()), "")


def resolve_device(device: str | int | None) -> tuple[int | None, dict[str, Any]]:
    """Find the output device named in settings; raise AudioDeviceError with the choices if absent."""
    import sounddevice as sd

    devices, hostapis = _query()
    global _last
    _last = listed = list_outputs(devices, hostapis)
    outputs = [(i, d) for i, d in enumerate(devices) if d.get("max_output_channels", 0) > 0]
    if not outputs:
        raise AudioDeviceError(NO_DEVICE_HELP)
    if device is None or device == "":
        try:
            return None, dict(sd.query_devices(kind="output"))
        except Exception:
            raise AudioDeviceError(NO_DEVICE_HELP) from None
    if isinstance(device, str) and (name := chosen(device, [d.name for d in listed])):
        index = next(d.index for d in listed if d.name == name)
        return index, devices[index]
    for i, d in outputs:
        if (isinstance(device, int) and i == device) or (
            isinstance(device, str) and device.lower() in str(d.get("name", "")).lower()
        ):
            return i, dict(d)
    names = "; ".join(f"{i}: {d['name']}" for i, d in outputs)
    raise AudioDeviceError(f"output_device {device!r} was not found. Output devices here: {names}.")
