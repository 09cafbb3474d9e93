"""Ducking on Linux: other clients' PulseAudio sink inputs (PipeWire's pulse server too) through `pactl`.

`pactl` (pulseaudio-utils / pipewire-pulse) rather than a libpulse binding: no new dependency, raw per-channel
volumes in and out (exact), a few milliseconds per call, every call bounded. Output is read in the C locale.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess

from daemon.speech.duck.base import AppStream, DuckUnavailable, Volumes

TIMEOUT_S = 2.0
_RAW = re.compile(r":\s*(\d+)\s*/")  # "front-left: 65536 / 100% / 0.00 dB" -> 65536
_PROP = re.compile(r'^\s*([\w.]+) = "(.*)"$')


class PulseBackend:
    """Sink inputs of other processes, by `pactl list sink-inputs` / `set-sink-input-volume`."""

    name = "pulse"
    tolerance = 0.5  # raw volume units: read back exactly

    def __init__(self) -> None:
        exe = shutil.which("pactl")
        if exe is None:
            raise DuckUnavailable("pactl is not installed (pulseaudio-utils)")
        self._exe = exe
        self._own = str(os.getpid())

    def _run(self, *args: str) -> str:
        try:
            done = subprocess.run([self._exe, *args], capture_output=True, text=True, timeout=TIMEOUT_S,
                                  env=dict(os.environ, LC_ALL="C"), stdin=subprocess.DEVNULL)
        except (OSError, subprocess.TimeoutExpired) as exc:
            raise DuckUnavailable(f"pactl failed: {exc}") from None
        if done.returncode != 0:
            raise DuckUnavailable(f"pactl {args[0]}: {(done.stderr or done.stdout).strip()[:200]}")
        return done.stdout

    def streams(self) -> list[AppStream]:
        return [s for s in parse(self._run("list", "sink-inputs")) if s.key.split(":")[1] != self._own]

    def set_volumes(self, key: str, volumes: Volumes) -> None:
        self._run("set-sink-input-volume", key.split(":")[0], *(str(int(v)) for v in volumes))

    def scaled(self, volumes: Volumes, level: float) -> Volumes:
        return tuple(float(round(v * level)) for v in volumes)


def parse(text: str) -> list[AppStream]:
    """`LC_ALL=C pactl list sink-inputs` -> streams keyed "index:pid:binary" (an index is never reused while
    the server runs; the pid and binary make sure a stream found later is the same app's)."""
    found: list[AppStream] = []
    for block in re.split(r"^Sink Input #", text, flags=re.M)[1:]:
        index, _, body = block.partition("\n")
        volumes: Volumes = ()
        props: dict[str, str] = {}
        for line in body.splitlines():
            if line.strip().startswith("Volume:"):
                volumes = tuple(float(v) for v in _RAW.findall(line))
            elif m := _PROP.match(line):
                props[m.group(1)] = m.group(2)
        if index.strip().isdigit() and volumes:
            pid, binary = props.get("application.process.id", ""), props.get("application.process.binary", "")
            name = props.get("application.name") or binary or f"stream {index.strip()}"
            found.append(AppStream(f"{index.strip()}:{pid}:{binary}", name, volumes))
    return found
