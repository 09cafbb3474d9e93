"""A Python that setup.bat must refuse, for tests_win/test_setup_bat.py: run by a py.bat/python.bat stub on PATH.

    python setup_bat_fakepy.py 32bit|store [-3.11] -c CODE

Runs CODE (setup.bat's probe) in this real interpreter after making it look like a 32-bit Python 3.11
(sys.maxsize, struct.calcsize("P"), platform.architecture()) or like the Microsoft Store's Python 3.11
(sys.executable, sys.prefix, sys.base_prefix in its WindowsApps package). Anything but -c fails: setup.bat must
not get further with such an interpreter.
"""

from __future__ import annotations

import platform
import struct
import sys

STORE_ALIAS = r"C:\Users\me\AppData\Local\Microsoft\WindowsApps\PythonSoftwareFoundation.Python.3.11_qbz5n2kfra8p0"
STORE_PACKAGE = r"C:\Program Files\WindowsApps\PythonSoftwareFoundation.Python.3.11_3.11.2544.0_x64__qbz5n2kfra8p0"


def main() -> None:
    kind, args = sys.argv[1], sys.argv[2:]
    if args and (args[0].startswith("-3") or args[0].startswith("-V:")):
        args = args[1:]  # the py launcher's version switch
    if len(args) < 2 or args[0] != "-c":
        sys.exit(f"fake {kind} python: only -c CODE is answered, got {args}")
    if kind == "32bit":
        real_calcsize = struct.calcsize
        sys.maxsize = 2**31 - 1
        struct.calcsize = lambda fmt: 4 if fmt == "P" else real_calcsize(fmt)  # type: ignore[assignment]
        platform.architecture = lambda *a, **k: ("32bit", "WindowsPE")  # type: ignore[assignment]
    elif kind == "store":
        sys.executable = STORE_ALIAS + r"\python.exe"
        sys.prefix = sys.base_prefix = sys.exec_prefix = sys.base_exec_prefix = STORE_PACKAGE
    else:
        sys.exit(f"unknown kind {kind}")
    sys.argv = ["-c", *args[2:]]
    exec(compile(args[1], "<string>", "exec"), {"__name__": "__main__"})


if __name__ == "__main__":
    main()
