"""The X11 selections as text, read with python-xlib (pynput's own X library): PRIMARY is what is selected,
CLIPBOARD what was copied.

    text = read_selection("PRIMARY", timeout_s=1.0)   # None: no owner, no text, or the owner did not answer

The owner is asked for UTF8_STRING (else STRING) into a property of a private window; its answer is awaited
with select() on the connection until a deadline, so an owner that never answers costs `timeout_s`, never a
hang. A large selection arrives in INCR chunks, each awaited within `timeout_s` of the last.
"""

from __future__ import annotations

import logging
import select
import time
from collections.abc import Callable
from typing import Any

log = logging.getLogger(__name__)

PROPERTY = "VOXTRAY_SELECTION"


class X11Unavailable(Exception):
    """No X display to read a selection from."""


def read_selection(name: str = "PRIMARY", timeout_s: float = 1.0, display: str | None = None) -> str | None:
    """The text of selection `name` (PRIMARY, CLIPBOARD), or None. Raises X11Unavailable without a display."""
    try:
        from Xlib import X, Xatom
        from Xlib import display as xdisplay
        from Xlib.error import DisplayError
    except ImportError as exc:
        raise X11Unavailable(f"python-xlib is missing ({exc})") from None
    try:
        d = xdisplay.Display(display)
    except (DisplayError, OSError, ValueError) as exc:
        raise X11Unavailable(f"no X display ({exc})") from None
    try:
        selection = d.intern_atom(name)
        if d.get_selection_owner(selection) == X.NONE:
            return None
        window = d.screen().root.create_window(0, 0, 1, 1, 0, X.CopyFromParent, event_mask=X.PropertyChangeMask)
        prop = d.intern_atom(PROPERTY)
        for target, encoding in ((d.intern_atom("UTF8_STRING"), "utf-8"), (Xatom.STRING, "latin-1")):
            window.convert_selection(selection, target, prop, X.CurrentTime)
            d.flush()
            event = _wait(d, time.monotonic() + timeout_s,
                          lambda e: e.type == X.SelectionNotify and e.requestor == window)
            if event is None:
                log.warning("the owner of the X11 %s selection did not answer within %.1f s", name, timeout_s)
                return None
            if event.property == X.NONE:
                continue  # this owner does not offer that target
            data = _take(d, window, prop, timeout_s)
            return None if data is None else data.decode(encoding, errors="replace")
        return None
    finally:
        d.close()


def _wait(d: Any, deadline: float, wanted: Callable[[Any], bool]) -> Any:
    """The first queued or arriving event that is `wanted`, or None at the deadline."""
    while True:
        while d.pending_events():
            event = d.next_event()
            if wanted(event):
                return event
        left = deadline - time.monotonic()
        if left <= 0 or not select.select([d.fileno()], [], [], left)[0]:
            return None


def _take(d: Any, window: Any, prop: int, timeout_s: float) -> bytes | None:
    """The property's bytes, deleted after reading (which is also how INCR asks for the next chunk)."""
    from Xlib import X

    value = window.get_full_property(prop, X.AnyPropertyType)
    window.delete_property(prop)
    d.flush()
    if value is None:
        return b""
    if value.property_type != d.intern_atom("INCR"):
        return _bytes(value.value)
    chunks: list[bytes] = []
    while True:
        event = _wait(d, time.monotonic() + timeout_s,
                      lambda e: e.type == X.PropertyNotify and e.atom == prop and e.state == X.PropertyNewValue)
        if event is None:
            log.warning("an X11 selection stopped arriving after %d bytes", sum(map(len, chunks)))
            return None
        part = window.get_full_property(prop, X.AnyPropertyType)
        window.delete_property(prop)
        d.flush()
        if part is None or not len(part.value):
            return b"".join(chunks)
        chunks.append(_bytes(part.value))


def _bytes(value: Any) -> bytes:
    return value.encode("latin-1") if isinstance(value, str) else bytes(value)
