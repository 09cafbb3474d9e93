"""Probe (FINDINGS.md c): sounddevice under Wine playing into an ALSA `file` PCM, per host API.

Run under the lane: bash scripts/wine/run.sh winpy scripts/wine/probes/audio_probe.py
Writes the lane's ALSA config file ($VOXTRAY_WIN_ASOUND) with a `file` default PCM (slave: `null`, or the lane's
PulseAudio null sink `voxtray_pulse`), then plays a 1 s 440 Hz tone at 0.5 in a CHILD process (the Unix side of
Wine's audio driver reads its configuration when the process starts), and analyses the capture as float32
stereo 48 kHz (Wine's mix format).
"""

import os
import subprocess
import sys
from pathlib import Path

import numpy as np

CHILD = r"""
import sys, time, numpy as np, sounddevice as sd
api = next(a for a in sd.query_hostapis() if a["name"] == sys.argv[1])
tone = (0.5 * np.sin(2 * np.pi * 440 * np.arange(48000) / 48000)).astype(np.float32)
t0 = time.monotonic()
sd.play(tone, 48000, device=api["default_output_device"], blocking=True)
print(f"{time.monotonic() - t0:.2f} s")
"""


def analyse(raw: bytes) -> str:
    data = np.frombuffer(raw[: len(raw) // 8 * 8], np.float32).reshape(-1, 2)
    left = data[:, 0]
    if not np.isfinite(data).all() or np.abs(data).max() > 1.5:
        return f"{len(raw)} B: not float32 stereo"
    loud = np.nonzero(np.abs(left) > 0.01)[0]
    if not len(loud):
        return f"{len(raw)} B: silent"
    seg = left[loud[0] : loud[-1] + 1]
    peak_hz = np.argmax(np.abs(np.fft.rfft(seg * np.hanning(len(seg))))) * 48000 / len(seg)
    return (f"{len(seg)} tone frames, peak {np.abs(seg).max():.3f}, {peak_hz:.1f} Hz at 48 kHz, "
            f"L==R {bool(np.allclose(data[:, 0], data[:, 1]))}")


def main() -> int:
    conf = Path(os.environ["VOXTRAY_WIN_ASOUND"])
    cap = Path(os.environ["VOXTRAY_WIN_RUN"]) / "capture.raw"
    unix_cap = str(cap)[2:].replace("\\", "/")
    good = False
    for slave in ("null", "voxtray_pulse"):
        for api in ("MME", "Windows DirectSound", "Windows WASAPI"):
            conf.write_text(f'pcm.!default {{\n type file\n slave.pcm "{slave}"\n file "{unix_cap}"\n format "raw"\n}}\n')
            cap.unlink(missing_ok=True)
            r = subprocess.run([sys.executable, "-c", CHILD, api], stdin=subprocess.DEVNULL, capture_output=True,
                               text=True, timeout=60)
            played = r.stdout.strip() if r.returncode == 0 else (r.stderr.strip().splitlines() or ["?"])[-1]
            result = analyse(cap.read_bytes()) if cap.exists() else "no capture file"
            print(f"{slave:14} {api:20} played in {played:8} -> {result}", flush=True)
            good |= api == "Windows DirectSound" and "peak 0.500, 440.0 Hz" in result
    conf.write_text("pcm.!default { type null }\n")
    return 0 if good else 1


sys.exit(main())
