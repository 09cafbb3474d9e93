"""Waking a Tk thread from other threads at once, with no polling and no Tcl call from those threads.

    waker = TkWaker(root, on_wake=handle_requests)   # on the Tk thread, before its mainloop
    waker.wake()                                     # any thread: on_wake runs soon on the Tk thread
    waker.close()                                    # on the Tk thread

A loopback TCP connection whose receiving end Tcl itself watches (`fileevent ... readable`): the same on Windows
(whose Tk has no file handlers for pipes) and Linux. Why not `root.after_idle(...)` from the other thread:
tkinter hands such a call to the Tk thread, but with several Tk interpreters in one process's life that hand-over
hung the caller (seen on Linux), and a hung hotkey thread is a dead hotkey. The listening socket takes exactly
one connection, checked to be this process's own (its port), then stops listening.
"""

from __future__ import annotations

import logging
import socket
from collections.abc import Callable
from typing import Any

log = logging.getLogger(__name__)


class TkWaker:
    """See the module docstring."""

    def __init__(self, root: Any, on_wake: Callable[[], None]) -> None:
        self._root = root
        self._on_wake = on_wake
        self._chan: str | None = None
        self._accept_cmd = root.register(self._accepted)
        self._drain_cmd = root.register(self._drain)
        self._server: str | None = str(root.tk.call("socket", "-server", self._accept_cmd, "-myaddr", "127.0.0.1",
                                                    0))
        port = int(root.tk.splitlist(root.tk.call("fconfigure", self._server, "-sockname"))[2])
        self._sock = socket.create_connection(("127.0.0.1", port), timeout=5.0)  # accepted by Tcl's event loop
        self._sock.setblocking(False)
        self._own_port = self._sock.getsockname()[1]

    def wake(self) -> None:
        """Any thread: have `on_wake` run on the Tk thread soon."""
        try:
            self._sock.send(b"!")
        except BlockingIOError:  # the Tk thread has plenty of unread wake-ups already
            pass
        except OSError as exc:  # closed (quitting)
            log.debug("Tk waker: %s", exc)

    def close(self) -> None:
        """On the Tk thread: stop listening and close both ends."""
        tk = self._root.tk
        for chan in (self._chan, self._server):
            if chan is not None:
                try:
                    tk.call("close", chan)
                except Exception:
                    pass
        self._chan = self._server = None
        self._sock.close()

    # ---- Tk thread --------------------------------------------------------------------------------------------
    def _accepted(self, chan: str, _address: str, port: str) -> None:
        tk = self._root.tk
        if self._chan is not None or int(port) != self._own_port:  # not our own connection: refuse it
            log.warning("Tk waker: refused a connection from port %s", port)
            tk.call("close", chan)
            return
        self._chan = chan
        tk.call("fconfigure", chan, "-blocking", 0, "-translation", "binary")
        tk.call("fileevent", chan, "readable", f"{self._drain_cmd} {chan}")
        if self._server is not None:
            tk.call("close", self._server)  # one connection, ours: nobody else can connect now
            self._server = None

    def _drain(self, chan: str) -> None:
        tk = self._root.tk
        try:
            tk.call("read", chan)
            if int(tk.call("eof", chan)):
                tk.call("close", chan)
                self._chan = None
        except Exception as exc:
            log.debug("Tk waker: %s", exc)
        self._on_wake()
