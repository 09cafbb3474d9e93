"""Start VoxTray without a console window: `pythonw.exe voxtray.pyw [VERB ...]` (what autostart registers).

It puts its own folder on sys.path, so it works from any working folder (a Run entry starts in System32), with
any Python (a venv's or a plain install's) and from any path (spaces, non-ASCII letters), without a .pth file.
"""

import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from daemon.__main__ import main

if __name__ == "__main__":
    sys.exit(main())
