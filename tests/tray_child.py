"""Runs the real Tray on its own main thread for the X11 tests (`python -m tests.tray_child`).

The TrayActions are a FAKE that records each call as a JSON line on stdout ({"event": "call", ...}); the app's
real actions belong to daemon/app.py and are tested there. Everything else is real: StatusBus, Notifier,
pystray with the backend in PYSTRAY_BACKEND, GTK, D-Bus, the tray host and the notification daemon.

stdin takes JSON commands, one per line:
  {"op": "status", "changes": {...}}   bus.update(**changes) (tier/activity as their string values)
  {"op": "invoke", "path": [...]}      call the pystray MenuItem at that text path, as a click would
  {"op": "menu"}                       print the menu (texts, enabled, submenus)
  {"op": "title"}                      print the icon's title and (gtk) its hover tooltip
  {"op": "stop"}                       tray.stop()
"""

from __future__ import annotations

import json
import os
import sys
import threading
import time
from pathlib import Path
from typing import Any

from daemon.desktop.dialogs import ModelOffer
from daemon.desktop.notify import Notifier
from daemon.desktop.setup_report import Report
from daemon.desktop.tray import Tray, tray_available
from daemon.settings import Settings
from daemon.status import Activity, StatusBus, Tier

_out_lock = threading.Lock()


def emit(event: str, **data: Any) -> None:
    with _out_lock:
        sys.stdout.write(json.dumps({"event": event, **data}) + "\n")
        sys.stdout.flush()


class RecordingActions:
    """Fake TrayActions: records calls; quit() stops the tray like the real app does."""

    def __init__(self) -> None:
        self.tray: Tray | None = None
        self.settings = Settings(use_local_cloning=False)
        self._autostart = False
        self._voices = os.environ.get("TRAY_CHILD_VOICES", "alice.wav,bob.wav,carol.wav").split(",")

    def _call(self, name: str, *args: Any) -> None:
        emit("call", name=name, args=[str(a) for a in args], thread=threading.current_thread().name)

    def ask(self) -> None: self._call("ask")
    def stop_speaking(self) -> None: self._call("stop_speaking")
    def use_voice(self, name: str) -> None: self._call("use_voice", name)
    def add_voice(self, path: Path) -> None: self._call("add_voice", path)
    def set_engine(self, name: str) -> None:
        self._call("set_engine", name)
        self.settings = self.settings.model_copy(update={"engine": name})  # as the daemon saves it
    def new_conversation(self) -> None: self._call("new_conversation")
    def pause_resume(self) -> None: self._call("pause_resume")
    def repeat_last(self) -> None: self._call("repeat_last")
    def can_repeat(self) -> bool: return False
    def toggle_hotkeys(self) -> None: self._call("toggle_hotkeys")
    def open_settings(self) -> None: self._call("open_settings")
    def open_voices_folder(self) -> None: self._call("open_voices_folder")
    def open_log(self) -> None: self._call("open_log")

    def set_autostart(self, enabled: bool) -> None:
        self._call("set_autostart", enabled)
        self._autostart = enabled

    def autostart_enabled(self) -> bool:
        return self._autostart

    def voices(self) -> list[str]:
        return list(self._voices)

    def model_offer(self) -> ModelOffer:
        return ModelOffer("about 1.9 GB", Path("/tmp/models/xtts_v2"), "9 GB free there", "Test Licence",
                          "https://example.invalid/licence", "Non-commercial use only (test summary).")

    def validate_model_folder(self, folder: Path) -> list[str]:
        return [] if (folder / "model.pth").is_file() else ["model.pth is missing"]

    def accept_model_license(self) -> None: self._call("accept_model_license")
    def use_model_folder(self, folder: Path) -> None: self._call("use_model_folder", folder)
    def cancel_download(self) -> None: self._call("cancel_download")
    def open_url(self, url: str) -> None: self._call("open_url", url)

    def last_answer(self) -> None:
        self._call("last_answer")
        return None  # no answer yet: the window says how to ask

    def engine_problems(self) -> dict[str, str]:
        return {"xtts": "not ready"}

    def check_setup(self, progress: Any = None) -> Report:
        self._call("check_setup")
        for i, name in enumerate(("Python", "XTTS model")):
            if progress is not None:
                progress(i, 2, name)
            time.sleep(0.2)
        return [("Python", "ok", "3.11", ""), ("XTTS model", "FAIL", "not downloaded", "Get the cloned voice")]

    def quit(self) -> None:
        self._call("quit")
        assert self.tray is not None
        self.tray.stop()


def _describe(menu: Any) -> list[dict[str, Any]]:
    out = []
    for item in menu.items:
        sub = item.submenu
        out.append({"text": item.text, "enabled": item.enabled, "checked": item.checked,
                    "submenu": _describe(sub) if sub else []})
    return out


def _find(menu: Any, path: list[str]) -> Any:
    item = None
    for text in path:
        item = next(i for i in menu.items if i.text.split("   (")[0] == text)  # (a hotkey hint may follow)
        menu = item.submenu
    return item


def _commands(bus: StatusBus, tray: Tray) -> None:
    for line in sys.stdin:
        cmd = json.loads(line)
        op = cmd["op"]
        if op == "status":
            changes = dict(cmd["changes"])
            if "tier" in changes:
                changes["tier"] = Tier(changes["tier"])
            if "activity" in changes:
                changes["activity"] = Activity(changes["activity"])
            bus.update(**changes)
        elif op == "invoke":
            icon = tray._icon
            _find(icon.menu, cmd["path"])(icon)
        elif op == "title":  # what pystray was told, and the tooltip GTK shows on hover (gtk backend)
            icon = tray._icon
            status_icon = getattr(icon, "_status_icon", None)
            emit("title", title=icon.title, tooltip=status_icon.get_tooltip_text() if status_icon else None)
        elif op == "menu":
            emit("menu", items=_describe(tray._icon.menu))
        elif op == "stop":
            tray.stop()
        emit("done", op=op)


def main() -> int:
    bus = StatusBus()
    actions = RecordingActions()
    tray = Tray(bus, actions, lambda: actions.settings, pick_file=lambda: Path("/tmp/picked.wav"),
                refresh_s=float(os.environ.get("TRAY_CHILD_REFRESH_S", "15")))
    actions.tray = tray
    notifier = Notifier(bus, tray.notify, cooldown_s=float(os.environ.get("TRAY_CHILD_COOLDOWN_S", "0"))).start()
    ok, why = tray_available(wait_s=5)
    threading.Thread(target=_commands, args=(bus, tray), name="child-stdin", daemon=True).start()
    tray.run(on_ready=lambda: emit("ready", available=ok, why=why, backend=os.environ.get("PYSTRAY_BACKEND")))
    notifier.close()
    others = [t.name for t in threading.enumerate() if t is not threading.main_thread() and t.name != "child-stdin"]
    emit("exited", threads=others)
    return 0


if __name__ == "__main__":
    sys.exit(main())
