"""The daemon with edge-tts pointed at a loopback stand-in (tests/fixtures/edge_server.py), for the Windows lane.

    pythonw.exe tests_win/edge_daemon.py [daemon args]     # VOXTRAY_TEST_EDGE_WSS / VOXTRAY_TEST_EDGE_VOICES set

The only fake is where edge-tts's endpoints are: the same two module attributes the Linux tests patch; the real
edge-tts client speaks its real protocol to the stand-in. Nothing else differs from voxtray.pyw.
"""

import os
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)

import edge_tts.communicate  # noqa: E402
import edge_tts.voices  # noqa: E402

edge_tts.communicate.WSS_URL = os.environ["VOXTRAY_TEST_EDGE_WSS"]  # type: ignore[attr-defined]
edge_tts.voices.VOICE_LIST = os.environ["VOXTRAY_TEST_EDGE_VOICES"]  # type: ignore[attr-defined]

from daemon.__main__ import main  # noqa: E402

if __name__ == "__main__":
    sys.exit(main())
