"""Checking a huge voice file stays small in memory: a 10-minute 96 kHz 6-channel 24-bit WAV (1 GB) is checked
in a child process (real PyAV decoding) whose peak RSS must stay under 300 MB (it was 5.1 GB)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import soundfile as sf

ROOT = Path(__file__).resolve().parent.parent


def test_a_1_gb_file_is_checked_under_300_mb(tmp_path: Path, ljspeech: Path) -> None:
    path = tmp_path / "huge.wav"
    speech, rate = sf.read(ljspeech / "LJ001-0001.wav", dtype="float32")
    src = np.interp(np.arange(0, speech.size, rate / 96000), np.arange(speech.size), speech).astype(np.float32)
    block = np.repeat(src[:, None], 6, axis=1) * 0.5
    with sf.SoundFile(path, "w", samplerate=96000, channels=6, subtype="PCM_24") as out:
        written, total = 0, 600 * 96000
        while written < total:
            part = block[: total - written]
            out.write(part)
            written += part.shape[0]
    assert path.stat().st_size > 1_000_000_000
    # VmHWM, not ru_maxrss: ru_maxrss survives exec, so it would count the forking pytest process's own size
    code = ("import sys; from pathlib import Path; from daemon.voices.check import check_file\n"
            "r = check_file(Path(sys.argv[1]))\n"
            "hwm = next(l for l in open('/proc/self/status') if l.startswith('VmHWM:')).split()[1]\n"
            "print(r.channels, round(r.duration_s), int(hwm) // 1024)")
    out = subprocess.run([sys.executable, "-c", code, str(path)], cwd=ROOT, capture_output=True, text=True,
                         timeout=300, check=True).stdout.split()
    channels, seconds, peak_mb = int(out[0]), int(out[1]), int(out[2])
    assert channels == 6 and 595 <= seconds <= 605
    assert peak_mb < 300, f"peak RSS {peak_mb} MB"
    print(f"peak RSS {peak_mb} MB")
