"""`python -m tests.daemon_child [daemon args]`: the real daemon with only what cannot exist here faked.

- NVML (no GPU here): when VOXTRAY_TEST_NVML_FILE is set, pynvml's functions answer from a FakeNvml whose free
  VRAM is re-read from that file (an integer, MB) at every reading, so a test can apply VRAM pressure.
- edge-tts's endpoints: when VOXTRAY_TEST_EDGE_WSS is set, edge_tts.communicate.WSS_URL (and VOICE_LIST) point
  there (a loopback stand-in, or a port nobody listens on for "unreachable").
Everything else is `python -m daemon`.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

from tests.fixtures.gpu import FakeNvml


class FileNvml(FakeNvml):
    """FakeNvml whose free VRAM comes from a file the test writes."""

    def __init__(self, path: Path) -> None:
        super().__init__()
        self._path = path

    def nvmlDeviceGetMemoryInfo(self, handle: int, version: object = None) -> object:
        try:
            self.gpus[handle].free_mb = int(self._path.read_text().strip())
        except (OSError, ValueError):
            pass
        return super().nvmlDeviceGetMemoryInfo(handle, version)


def patch() -> None:
    nvml_file = os.environ.get("VOXTRAY_TEST_NVML_FILE")
    if nvml_file:
        import pynvml

        fake = FileNvml(Path(nvml_file))
        for fn in ("nvmlInit", "nvmlShutdown", "nvmlDeviceGetCount", "nvmlDeviceGetHandleByIndex",
                   "nvmlDeviceGetName", "nvmlDeviceGetMemoryInfo"):
            setattr(pynvml, fn, getattr(fake, fn))
    wss = os.environ.get("VOXTRAY_TEST_EDGE_WSS")
    if wss:
        import edge_tts.communicate
        import edge_tts.voices

        edge_tts.communicate.WSS_URL = wss  # type: ignore[attr-defined]
        edge_tts.voices.VOICE_LIST = os.environ.get("VOXTRAY_TEST_EDGE_VOICES", wss)  # type: ignore[attr-defined]


if __name__ == "__main__":
    patch()
    from daemon.__main__ import main

    sys.exit(main())
