"""Windows lane: copied by scripts/wine/setup.sh to <cache>/site/sitecustomize.py (Windows CPython under Wine).

The embeddable CPython reads its sys.path from python311._pth (python311.zip, its own folder, ..\\site), and
with a ._pth file PYTHONPATH is ignored and .pth files are not processed. `import site` in the ._pth runs this
module, which:
- processes the .pth files in the wheel folder (pywin32.pth puts win32, win32\\lib, pythonwin on sys.path and
  registers pywin32_system32 as a DLL folder), as a regular site-packages would;
- puts the project checkout named by VOXTRAY_WIN_PROJECT (Windows path, or a Unix path that is mapped to Z:)
  first on sys.path, like PYTHONPATH would. The cache is shared by every checkout on the machine, so the project
  path cannot live in the ._pth; scripts/wine/env.sh exports it for the checkout it belongs to, and child
  processes (subprocess, the autostart entry) inherit it;
- puts the heavy stack (<cache>/heavy: torch, coqui-tts, faster-whisper; scripts/wine/heavy.sh) before the light
  wheels, unless VOXTRAY_WIN_HEAVY=0 (a test that needs a Windows without torch sets it for its child).
"""

import os
import site
import sys

_site = os.path.dirname(os.path.abspath(__file__))
site.addsitedir(_site)

_heavy = os.path.join(os.path.dirname(_site), "heavy")
if os.environ.get("VOXTRAY_WIN_HEAVY", "1") != "0" and os.path.isdir(_heavy) and _heavy not in sys.path:
    site.addsitedir(_heavy)  # runs its .pth files; then move it (and what they added) before the light wheels
    _added = [p for p in sys.path[sys.path.index(_heavy):] if p != _site]
    _rest = [p for p in sys.path if p not in _added]
    _at = _rest.index(_site) if _site in _rest else len(_rest)
    sys.path[:] = _rest[:_at] + _added + _rest[_at:]

_project = os.environ.get("VOXTRAY_WIN_PROJECT", "")
if _project.startswith("/"):
    _project = "Z:" + _project.replace("/", "\\")
if _project and _project not in sys.path:
    sys.path.insert(0, _project)
