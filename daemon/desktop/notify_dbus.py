"""Desktop notifications on Linux through org.freedesktop.Notifications, as VoxTray itself.

pystray's own notifier sends every notification with one id and an empty application name, so each one replaced
the last (the first-run welcome vanished 3 ms later under a "fell back" notice) and notification centres could
not group or mute VoxTray. Here:
- the application name is "VoxTray";
- one id per kind: a notification replaces only the previous one of its kind (download progress updates itself;
  a tier change never replaces the welcome);
- the icon is the state the notification talks about (a PNG drawn by desktop/icons.py), not the tray's icon of
  the moment, which may still be the grey "starting" one;
- a persistent notification (the welcome) stays until closed; actions become buttons when the server lists the
  "actions" capability, and a click (the ActionInvoked signal, delivered by the GTK tray's main loop) runs
  `on_action(action_id)`.
"""

from __future__ import annotations

import logging
import tempfile
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

from daemon.desktop.icons import render_icon
from daemon.status import Tier

log = logging.getLogger(__name__)

APP_NAME = "VoxTray"
BUS_NAME = "org.freedesktop.Notifications"
OBJECT_PATH = "/org/freedesktop/Notifications"


class DbusNotifier:
    """Sends notifications on the session bus (Gio); `send` never raises."""

    def __init__(self, on_action: Callable[[str], None] | None = None) -> None:
        self._ids: dict[str, int] = {}
        self._lock = threading.Lock()
        self._proxy: Any = None
        self._icons = Path(tempfile.mkdtemp(prefix="voxtray-icons-"))
        self._on_action = on_action
        self._capabilities: set[str] | None = None
        self._subscription: int | None = None

    def _bus(self) -> Any:
        if self._proxy is None:
            from gi.repository import Gio

            self._proxy = Gio.DBusProxy.new_for_bus_sync(Gio.BusType.SESSION, Gio.DBusProxyFlags.NONE, None,
                                                         BUS_NAME, OBJECT_PATH, BUS_NAME, None)
            if self._on_action is not None:
                self._subscription = self._proxy.get_connection().signal_subscribe(
                    None, BUS_NAME, "ActionInvoked", OBJECT_PATH, None, Gio.DBusSignalFlags.NONE, self._invoked)
        return self._proxy

    def capabilities(self) -> set[str]:
        """What the notification server can do (e.g. "actions", "persistence"); empty when it cannot be asked."""
        if self._capabilities is None:
            from gi.repository import Gio

            try:
                reply = self._bus().call_sync("GetCapabilities", None, Gio.DBusCallFlags.NONE, 5000, None)
                self._capabilities = set(reply.unpack()[0])
            except Exception as exc:
                log.info("notification server capabilities unknown: %s", exc)
                self._capabilities = set()
        return self._capabilities

    def _invoked(self, _conn: Any, _sender: Any, _path: Any, _iface: Any, _signal: Any, params: Any) -> None:
        notification_id, action = params.unpack()
        with self._lock:
            ours = notification_id in self._ids.values()
        if ours and self._on_action is not None and action != "default":
            try:
                self._on_action(str(action))
            except Exception:
                log.exception("notification action %r failed", action)

    def _icon(self, tier: Tier) -> str:
        path = self._icons / f"{tier.value}.png"
        if not path.is_file():
            render_icon(tier, size=64).save(path)
        return str(path)

    def send(self, kind: str, title: str, text: str, tier: Tier, *, persistent: bool = False,
             actions: tuple[tuple[str, str], ...] = ()) -> None:
        """Show `title`/`text` as the `kind` notification (replacing that kind's previous one only)."""
        from gi.repository import Gio, GLib

        buttons = [part for pair in actions for part in pair] if actions and "actions" in self.capabilities() else []
        hints = {"resident": GLib.Variant("b", True)} if persistent else {}
        with self._lock:
            try:
                args = GLib.Variant("(susssasa{sv}i)", (APP_NAME, self._ids.get(kind, 0), self._icon(tier), title,
                                                       text, buttons, hints, 0 if persistent else -1))
                reply = self._bus().call_sync("Notify", args, Gio.DBusCallFlags.NONE, 5000, None)
                self._ids[kind] = int(reply.unpack()[0])
            except Exception as exc:  # no notification server, bus gone: the log keeps it
                log.warning("notification %r not shown (%s): %s", title, exc, text)

    def close(self) -> None:
        """Stop listening for clicks; remove the icon files."""
        if self._subscription is not None and self._proxy is not None:
            self._proxy.get_connection().signal_unsubscribe(self._subscription)
            self._subscription = None
        for path in self._icons.glob("*.png"):
            path.unlink(missing_ok=True)
        try:
            self._icons.rmdir()
        except OSError:
            pass
