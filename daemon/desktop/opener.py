"""Open a file or folder with the desktop's default application (tray: settings, voices folder, log).

Windows: `os.startfile`; a file type no program owns (often .json and .log on a fresh Windows) raises
ERROR_NO_ASSOCIATION, and then the file opens in Notepad, which every Windows has. Linux: xdg-open.
"""

from __future__ import annotations

import logging
import os
import subprocess
import sys
from pathlib import Path

from daemon.errors import VoxTrayError

log = logging.getLogger(__name__)


class OpenError(VoxTrayError):
    """Nothing could open the path."""


def open_path(path: Path) -> None:
    """Open `path`; raises OpenError (with the path, so the user can open it by hand) when nothing can."""
    try:
        if sys.platform == "win32":
            _open_windows(path)
        elif sys.platform == "darwin":
            subprocess.Popen(["open", str(path)])
        else:
            subprocess.Popen(["xdg-open", str(path)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    except OSError as exc:
        log.warning("could not open %s: %s", path, exc)
        raise OpenError(f"could not open {path} ({exc.strerror or exc}); open it by hand.") from None


def open_url(url: str) -> None:
    """Open a web link in the default browser (only http(s): a link never runs a program)."""
    if not url.startswith(("https://", "http://")):
        raise OpenError(f"not a web link: {url}")
    import webbrowser

    if not webbrowser.open(url):
        raise OpenError(f"no web browser could open {url}; open it by hand.")


if sys.platform == "win32":

    def _open_windows(path: Path) -> None:
        try:
            os.startfile(path)
        except OSError as exc:
            if path.is_dir():
                raise
            log.info("no program opens %s (%s); using Notepad", path.suffix or path.name, exc)
            subprocess.Popen(["notepad.exe", str(path)], close_fds=True)

else:

    def _open_windows(path: Path) -> None:
        raise OSError("os.startfile exists only on Windows")
