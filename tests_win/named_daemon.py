"""The daemon as tests_win/edge_daemon.py starts it, with every Python thread's name handed to Windows
(SetThreadDescription), which Wine passes on to the Linux thread's name: the Windows lane can then read each
thread's wake-ups from the Linux side (/proc, through Wine's Z: drive) by name. Test-only: the daemon is unchanged.

    pythonw.exe tests_win/named_daemon.py [daemon args]     # VOXTRAY_TEST_EDGE_WSS / VOXTRAY_TEST_EDGE_VOICES set
"""

import ctypes
import os
import runpy
import threading

kernel32 = ctypes.windll.kernel32  # type: ignore[attr-defined]
kernel32.SetThreadDescription.argtypes = [ctypes.c_void_p, ctypes.c_wchar_p]
kernel32.GetCurrentThread.restype = ctypes.c_void_p


def _describe(name: str) -> None:
    kernel32.SetThreadDescription(kernel32.GetCurrentThread(), name[:60])


_bootstrap = threading.Thread._bootstrap_inner  # type: ignore[attr-defined]


def _named_bootstrap(self: threading.Thread) -> None:
    _describe(self.name)
    _bootstrap(self)


threading.Thread._bootstrap_inner = _named_bootstrap  # type: ignore[attr-defined]
_describe("MainThread")
runpy.run_path(os.path.join(os.path.dirname(os.path.abspath(__file__)), "edge_daemon.py"), run_name="__main__")
