"""Windows lane: copied by scripts/wine/setup.sh to <cache>/site/sitecustomize.py (Windows CPython under Wine).

The embeddable CPython reads its sys.path from python311._pth (python311.zip, its own folder, ..\\site), and
with a ._pth file PYTHONPATH is ignored and .pth files are not processed. `import site` in the ._pth runs this
module, which:
- processes the .pth files in the wheel folder (pywin32.pth puts win32, win32\\lib, pythonwin on sys.path and
  registers pywin32_system32 as a DLL folder), as a regular site-packages would;
- puts the project checkout named by VOXTRAY_WIN_PROJECT (Windows path, or a Unix path that is mapped to Z:)
  first on sys.path, like PYTHONPATH would. The cache is shared by every checkout on the machine, so the project
  path cannot live in the ._pth; scripts/wine/env.sh exports it for the checkout it belongs to, and child
  processes (subprocess, the autostart entry) inherit it.
"""

import os
import site
import sys

site.addsitedir(os.path.dirname(os.path.abspath(__file__)))

_project = os.environ.get("VOXTRAY_WIN_PROJECT", "")
if _project.startswith("/"):
    _project = "Z:" + _project.replace("/", "\\")
if _project and _project not in sys.path:
    sys.path.insert(0, _project)
