"""pystray's GTK backend with a real tooltip: pystray only calls GtkStatusIcon.set_title (an accessibility name
that no tray host shows on hover), so on Linux the icon had no tooltip at all. This subclass also sets the
tooltip text, on GTK's thread, whenever the title changes."""

from __future__ import annotations

from typing import Any


def icon_class(base: type[Any]) -> type[Any]:
    """A subclass of pystray's gtk Icon whose title is also its hover tooltip."""

    class VoxTrayGtkIcon(base):  # type: ignore[misc, valid-type]
        _status_icon: Any

        def _show(self) -> None:
            super()._show()
            self._update_title()

        def _update_title(self) -> None:
            super()._update_title()  # set_title, queued on GTK's main loop by pystray's decorator
            from gi.repository import GLib

            title = self.title or ""
            GLib.idle_add(lambda: self._status_icon.set_tooltip_text(title) and False)

    return VoxTrayGtkIcon
