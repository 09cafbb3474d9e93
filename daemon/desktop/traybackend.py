"""Choosing pystray's backend and finding out whether a tray can be shown at all (display + tray host).

pystray picks its Linux backend at import time and crashes (ValueError, not ImportError) when PyGObject is
installed without AppIndicator, so VoxTray probes the backends itself and sets PYSTRAY_BACKEND first:
appindicator (GNOME/KDE StatusNotifier) > gtk (XEmbed tray, with menus and notifications) > xorg (no menu).
"""

from __future__ import annotations

import logging
import os
import sys
import time
from typing import Any

log = logging.getLogger(__name__)

LINUX_BACKENDS = ("appindicator", "gtk", "xorg")


def _probe(backend: str) -> None:
    """Raise if `backend` cannot work in this process (needs DISPLAY for the GTK ones)."""
    if backend == "xorg":
        import Xlib.display  # noqa: F401
        return
    import gi

    if backend == "appindicator":
        for namespace in ("AyatanaAppIndicator3", "AppIndicator3"):
            try:
                gi.require_version(namespace, "0.1")
                break
            except ValueError:
                continue
        else:
            raise ImportError("no AppIndicator3 / AyatanaAppIndicator3 typelib")
    gi.require_version("Gtk", "3.0")
    from gi.repository import Gtk

    if not Gtk.init_check()[0]:
        raise ImportError("GTK could not open the display")


def select_backend() -> str:
    """The pystray backend to use (PYSTRAY_BACKEND wins); sets PYSTRAY_BACKEND so pystray imports cleanly."""
    chosen = os.environ.get("PYSTRAY_BACKEND")
    if chosen:
        return chosen
    if sys.platform in ("win32", "darwin"):
        return "win32" if sys.platform == "win32" else "darwin"
    errors = []
    for backend in LINUX_BACKENDS:
        try:
            _probe(backend)
        except (ImportError, ValueError) as exc:
            errors.append(f"{backend}: {exc}")
            continue
        os.environ["PYSTRAY_BACKEND"] = backend
        log.debug("pystray backend: %s", backend)
        return backend
    raise RuntimeError("no usable tray backend (" + "; ".join(errors) + "). Install PyGObject (pip install PyGObject).")


def load_pystray() -> Any:
    """Import pystray with a backend that works here."""
    select_backend()
    if sys.platform != "win32":
        name_the_app()
    import pystray

    return pystray


def name_the_app() -> None:
    """GTK names its windows after the program: "voxtray" (WM_CLASS voxtray/Voxtray) rather than "__main__.py",
    so window managers, panels and notification centres can tell it apart. Before GTK opens the display."""
    try:
        import gi

        gi.require_version("Gdk", "3.0")
        from gi.repository import Gdk, GLib

        GLib.set_prgname("voxtray")
        GLib.set_application_name("VoxTray")
        Gdk.set_program_class("VoxTray")
    except Exception as exc:  # no PyGObject (another backend): nothing to name
        log.debug("could not name the application for GTK: %s", exc)


def icon_size() -> int:
    """Pixel size to draw icons at: Windows' small-icon size (16 at 100 % scaling), else 64 (panels scale down)."""
    if sys.platform == "win32":
        try:
            import ctypes

            size = int(ctypes.windll.user32.GetSystemMetrics(49))  # SM_CXSMICON
            if size >= 16:
                return size
        except Exception:
            log.debug("GetSystemMetrics failed", exc_info=True)
        return 16
    return 64


def _xembed_tray_owner(timeout_s: float) -> bool:
    """True when some program owns _NET_SYSTEM_TRAY_S<screen> (an XEmbed tray host), waiting up to timeout_s."""
    import Xlib.display

    display = Xlib.display.Display()
    try:
        atom = display.intern_atom(f"_NET_SYSTEM_TRAY_S{display.get_default_screen()}")
        deadline = time.monotonic() + timeout_s
        while True:
            if display.get_selection_owner(atom) != 0:
                return True
            if time.monotonic() >= deadline:
                return False
            time.sleep(0.1)
    finally:
        display.close()


def _status_notifier_watcher() -> bool:
    """True when a StatusNotifier host (GNOME AppIndicator extension, KDE, ...) is on the session bus."""
    from gi.repository import Gio

    bus = Gio.bus_get_sync(Gio.BusType.SESSION, None)
    reply = bus.call_sync("org.freedesktop.DBus", "/org/freedesktop/DBus", "org.freedesktop.DBus", "NameHasOwner",
                          _variant("(s)", ("org.kde.StatusNotifierWatcher",)), None, 0, 2000, None)
    return bool(reply.unpack()[0])


def _variant(fmt: str, value: tuple[Any, ...]) -> Any:
    from gi.repository import GLib

    return GLib.Variant(fmt, value)


def tray_available(wait_s: float = 0.0) -> tuple[bool, str]:
    """(True, what) when a tray icon can be shown here; else (False, why and what to do). Never raises.

    `wait_s` waits that long for a tray host (a panel that starts after VoxTray at login).
    """
    if sys.platform in ("win32", "darwin"):
        return True, f"{select_backend()} tray"
    if not os.environ.get("DISPLAY"):
        hint = " (Wayland without XWayland?)" if os.environ.get("WAYLAND_DISPLAY") else ""
        return False, f"no X display: DISPLAY is not set{hint}; running headless (no tray icon, no hotkeys)"
    try:
        backend = select_backend()
    except Exception as exc:
        return False, f"no tray: {exc}"
    display = os.environ["DISPLAY"]
    try:
        if backend in ("gtk", "appindicator"):
            from gi.repository import Gio

            Gio.bus_get_sync(Gio.BusType.SESSION, None)
        if backend == "appindicator" and _status_notifier_watcher():
            return True, f"appindicator backend, StatusNotifier host on the session bus, display {display}"
        if _xembed_tray_owner(wait_s):
            return True, f"{backend} backend, system tray found on display {display}"
    except Exception as exc:
        return False, f"no tray: cannot talk to the desktop on {display} ({type(exc).__name__}: {exc})"
    return False, (f"no system tray on display {display} (nothing owns _NET_SYSTEM_TRAY_S0); start a panel with a "
                   "notification area (or `trayer`) and restart VoxTray; running headless meanwhile")
