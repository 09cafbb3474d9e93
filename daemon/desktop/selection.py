"""What to read aloud, on every platform behind one call: the user's selection, else the clipboard.

    grab = selected_text()        # Grab(text, source): source "selection" or "clipboard"; text "" = nothing
    grab = clipboard_text()       # the clipboard only (`read --clipboard`)

Windows copies the selection with a simulated Ctrl+C and gives the user's clipboard back (winclipboard.py);
X11 reads PRIMARY, else CLIPBOARD (x11selection.py), never waiting more than `timeout_s` on an owner.
SelectionError (one line) when neither can be reached (no X display, the clipboard held by another program).
"""

from __future__ import annotations

import logging
import sys
from dataclasses import dataclass
from typing import Literal

from daemon.errors import VoxTrayError

log = logging.getLogger(__name__)

Source = Literal["selection", "clipboard"]


class SelectionError(VoxTrayError):
    """The selection and the clipboard cannot be read here."""


@dataclass(frozen=True)
class Grab:
    text: str
    source: Source

    @property
    def empty(self) -> bool:
        return not self.text.strip()


def selected_text(timeout_s: float = 1.0) -> Grab:
    """The selected text, else the clipboard's (source says which)."""
    if sys.platform == "win32":
        from daemon.desktop import winclipboard, winfocus

        try:
            winfocus.give_back()  # after a tray menu click the focus is VoxTray's: back to the user's program
            text, copied = winclipboard.copy_selection(timeout_s)
        except OSError as exc:
            raise SelectionError(str(exc)) from None
        return Grab(text, "selection" if copied else "clipboard")
    primary = _x11("PRIMARY", timeout_s)
    if primary and primary.strip():
        return Grab(primary, "selection")
    return Grab(_x11("CLIPBOARD", timeout_s) or "", "clipboard")


def clipboard_text(timeout_s: float = 1.0) -> Grab:
    """The clipboard's text."""
    if sys.platform == "win32":
        from daemon.desktop import winclipboard

        try:
            return Grab(winclipboard.clipboard_text(), "clipboard")
        except OSError as exc:
            raise SelectionError(str(exc)) from None
    return Grab(_x11("CLIPBOARD", timeout_s) or "", "clipboard")


def _x11(name: str, timeout_s: float) -> str | None:
    from daemon.desktop.x11selection import X11Unavailable, read_selection

    try:
        return read_selection(name, timeout_s)
    except X11Unavailable as exc:
        raise SelectionError(f"the selection needs an X11 session or Windows: {exc}") from None
