"""The tray icon (pystray): renders only the Status bus; menu clicks run TrayActions on a worker thread.

Threads: `run()` owns the calling (main) thread with pystray's loop; a render thread turns bus changes into
icon/tooltip/menu updates (coalesced); an action thread runs menu commands one at a time so the menu never
freezes. `stop()` may be called from any thread, including from inside an action (Quit).
"""

from __future__ import annotations

import logging
import os
import queue
import sys
import threading
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from daemon.desktop import answer_window, dialogs, llm_dialog, setup_report, traygtk, traymenu, traywin32
from daemon.desktop.icons import render_icon, render_icon_frames
from daemon.desktop.traybackend import icon_size, load_pystray, tray_available
from daemon.desktop.traymenu import Entry, Handlers, MenuModel
from daemon.errors import VoxTrayError
from daemon.live import SettingsSource
from daemon.status import Status, StatusBus, Tier

if TYPE_CHECKING:
    from daemon.desktop.notify_dbus import DbusNotifier

log = logging.getLogger(__name__)

__all__ = ["Tray", "TrayActions", "tray_available"]

# The voices folder and the autostart entry change outside VoxTray (a WAV dropped in, install_service.py run) with no
# event to wait for short of a file/registry watcher per platform: re-read every REFRESH_S (one wake of the render
# thread), after every menu action and on refresh(). Status changes (VRAM, tier, activity) only re-render.
REFRESH_S = 15.0


class TrayActions(Protocol):
    """What the menu can ask the daemon to do (daemon/commands.py implements it)."""

    def ask(self) -> None: ...
    def stop_speaking(self) -> None: ...
    def use_voice(self, name: str) -> None: ...
    def add_voice(self, path: Path) -> None: ...
    def set_engine(self, name: str) -> None: ...
    def set_speed(self, speed: float) -> None: ...
    def set_volume(self, gain: float) -> None: ...
    def new_conversation(self) -> None: ...
    def toggle_hotkeys(self) -> None: ...
    def open_settings(self) -> None: ...
    def open_voices_folder(self) -> None: ...
    def open_log(self) -> None: ...
    def set_autostart(self, enabled: bool) -> None: ...
    def autostart_enabled(self) -> bool: ...
    def voices(self) -> list[str]: ...
    def quit(self) -> None: ...
    def llm_values(self) -> llm_dialog.LLMValues: ...
    def read_llm_link(self, text: str) -> tuple[str, str, str]: ...
    def test_llm(self, address: str, token: str, model: str) -> llm_dialog.Tested: ...
    def save_llm(self, address: str, token: str, model: str, tested: llm_dialog.Tested | None) -> str: ...
    def ask_by_voice(self) -> None: ...
    def read_aloud(self) -> None: ...
    def model_offer(self) -> dialogs.ModelOffer: ...
    def validate_model_folder(self, folder: Path) -> list[str]: ...
    def accept_model_license(self) -> None: ...
    def use_model_folder(self, folder: Path) -> None: ...
    def cancel_download(self) -> None: ...
    def check_setup(self, progress: setup_report.Progress | None = None) -> setup_report.Report: ...
    def engine_problems(self) -> dict[str, str]: ...
    def open_url(self, url: str) -> None: ...
    def output_devices(self) -> tuple[tuple[str, ...], str]: ...
    def set_output_device(self, name: str) -> None: ...
    def last_answer(self) -> answer_window.ShownAnswer | None: ...
    def pause_resume(self) -> None: ...
    def repeat_last(self) -> None: ...
    def can_repeat(self) -> bool: ...


class Tray:
    """`Tray(bus, actions, settings).run(on_ready)` on the main thread; `.stop()` from anywhere.

    The engine radio shows `settings().engine` (the daemon's provider: a reload or a click shows at once)."""

    def __init__(
        self,
        status: StatusBus,
        actions: TrayActions,
        settings: SettingsSource,
        *,
        pick_file: Callable[[], Path | None] = dialogs.pick_audio_file,
        setup_llm: Callable[[llm_dialog.LLMSetupActions], object] = llm_dialog.ask_llm_setup,
        ask_model: Callable[..., dialogs.ModelChoice | None] = dialogs.ask_model_choice,
        show_report: Callable[..., None] = setup_report.show_setup_report,
        show_answer: Callable[..., None] = answer_window.show_answer,
        refresh_s: float = REFRESH_S,
        on_end_session: Callable[[], None] | None = None,
    ) -> None:
        self._on_end_session = on_end_session
        self._bus = status
        self._actions = actions
        self._settings = settings
        self._pick_file = pick_file
        self._setup_llm = setup_llm
        self._ask_model = ask_model
        self._show_report = show_report
        self._show_answer = show_answer
        self._windows: dict[str, threading.Thread] = {}
        self._refresh_s = refresh_s
        self._icon: Any = None
        self._pystray: Any = None
        self._dbus: DbusNotifier | None = None
        self._size = icon_size()
        self._stopping = threading.Event()
        self._dirty = threading.Event()
        self._reread = threading.Event()  # the next render re-reads the voices folder and autostart state
        self._reread.set()
        self._jobs: queue.SimpleQueue[Callable[[], None] | None] = queue.SimpleQueue()
        self._threads: list[threading.Thread] = []
        self._unsubscribe: Callable[[], None] | None = None
        self._rendered: dict[str, Any] = {}
        self._model = MenuModel(engine=settings().engine)
        self.menu: tuple[Entry, ...] = ()
        self.handlers = Handlers(
            ask=self._job(actions.ask),
            stop_speaking=self._job(actions.stop_speaking),
            use_voice=lambda name: self.submit(lambda: actions.use_voice(name)),
            add_voice=self._job(self._add_voice),
            set_engine=lambda name: self.submit(lambda: actions.set_engine(name)),
            set_speed=lambda v: self.submit(lambda: actions.set_speed(v)),
            set_volume=lambda v: self.submit(lambda: actions.set_volume(v)),
            new_conversation=self._job(actions.new_conversation),
            toggle_hotkeys=self._job(actions.toggle_hotkeys),
            open_settings=self._job(actions.open_settings),
            open_voices_folder=self._job(actions.open_voices_folder),
            open_log=self._job(actions.open_log),
            set_autostart=lambda on: self.submit(lambda: actions.set_autostart(on)),
            quit=self._job(actions.quit),
            connect_bridge=self._connect_bridge,
            ask_by_voice=self._job(lambda: actions.ask_by_voice()),
            read_aloud=self._job(lambda: actions.read_aloud()),
            pause_resume=self._job(lambda: actions.pause_resume()),
            repeat_last=self._job(lambda: actions.repeat_last()),
            get_model=lambda: self._window("model-dialog", self._get_model),
            cancel_download=self._job(actions.cancel_download),
            set_output=lambda name: self.submit(lambda: actions.set_output_device(name)),
            check_setup=lambda: self._window("setup-report", lambda: self._show_report(
                actions.check_setup, self._report_fixes(), (("Open log", self.handlers.open_log),))),
            show_last_answer=lambda: self._window("last-answer", lambda: self._show_answer(
                actions.last_answer(), traymenu.key_hint(settings().hotkey_ask))),
        )

    # --- public API -------------------------------------------------------------------------------------------
    def run(self, on_ready: Callable[[], None] | None = None) -> None:
        """Show the icon and block in the GUI loop until stop(); call on the main thread."""
        self._pystray = load_pystray()
        status = self._bus.current
        self.menu = traymenu.build_menu(status, self._model, self.handlers)
        self._icon = self._icon_class()(
            "voxtray", self._image(status), self._title(traymenu.tooltip(status)), menu=self._to_pystray(self.menu),
        )

        def setup(icon: Any) -> None:
            icon.visible = True
            self._start_threads()
            if self._stopping.is_set():
                icon.stop()
            elif on_ready is not None:
                try:
                    on_ready()
                except Exception:
                    log.exception("tray on_ready callback failed")

        log.info("tray starting (%s backend, %d px icons)", os.environ.get("PYSTRAY_BACKEND", sys.platform), self._size)
        try:
            self._icon.run(setup=setup)
        finally:
            self._shutdown()
        log.info("tray stopped")

    def stop(self) -> None:
        """Leave run(): thread-safe and idempotent."""
        self._stopping.set()
        self._dirty.set()
        icon = self._icon
        if icon is not None:
            icon.stop()

    def notify(self, title: str, text: str, *, kind: str = "tray", tier: Tier | None = None, sticky: bool = False,
               actions: tuple[tuple[str, str], ...] = ()) -> None:
        """Show a desktop notification (thread-safe, never raises); logs it when it cannot be shown.

        On Linux VoxTray sends it on the session bus itself (desktop/notify_dbus.py: app name, one notification per
        `kind`, the icon of `tier`, `sticky` ones stay, `actions` are buttons that run the menu's command of that
        id); on Windows the tray icon's balloon/toast shows it (its text names the menu item instead)."""
        icon = self._icon
        if icon is None or self._stopping.is_set():
            log.info("notification (not shown, no tray): %s: %s", title, text)
            return
        if sys.platform != "win32":
            if self._dbus is None:
                from daemon.desktop.notify_dbus import DbusNotifier

                self._dbus = DbusNotifier(on_action=self._notification_action)
            self._dbus.send(kind, title, text, tier or self._bus.current.tier, persistent=sticky, actions=actions)
            return
        if not getattr(icon, "HAS_NOTIFICATION", False):
            log.info("notification (not shown, no notification support): %s: %s", title, text)
            return
        try:
            icon.notify(text, title)
        except Exception:
            log.exception("could not show the notification %r: %s", title, text)

    def _report_fixes(self) -> dict[str, setup_report.Fix]:
        """The check-up window's buttons: a failing check -> the menu command that fixes it."""
        return {"XTTS model": ("Get the model…", self.handlers.get_model),
                "remote LLM": ("Set up the LLM…", self.handlers.connect_bridge)}

    def _notification_action(self, action: str) -> None:
        """A notification's button was clicked: run the menu command it names."""
        commands = {"get-model": self.handlers.get_model, "set-up-llm": self.handlers.connect_bridge}
        command = commands.get(action)
        if command is None:
            log.warning("unknown notification action %r", action)
            return
        log.info("notification button: %s", action)
        command()

    def submit(self, job: Callable[[], None]) -> None:
        """Run a job on the action thread (menu commands never block the GUI loop)."""
        if not self._stopping.is_set():
            self._jobs.put(job)

    def refresh(self) -> None:
        """Re-read voices/autostart and re-render soon."""
        self._reread.set()
        self._dirty.set()

    # --- menu commands ------------------------------------------------------------------------------------------
    def _job(self, fn: Callable[[], None]) -> Callable[[], None]:
        return lambda: self.submit(fn)

    def _add_voice(self) -> None:
        path = self._pick_file()
        if path is not None:
            self._actions.add_voice(path)

    def _connect_bridge(self) -> None:
        """"Set up the LLM…": its window on its own thread (it saves, reloads and notifies through the actions)."""
        self._window("llm-dialog", lambda: log.info("LLM set-up window closed (%s)",
                                                    self._setup_llm(self._actions) or "nothing saved"))

    def _get_model(self) -> None:
        actions = self._actions
        choice = self._ask_model(actions.model_offer(), actions.validate_model_folder, actions.open_url)
        if choice is None:
            log.info("model dialog cancelled")
        elif choice[0] == "folder" and choice[1] is not None:
            actions.use_model_folder(choice[1])
        elif choice[0] == "accept":
            actions.accept_model_license()

    def _window(self, name: str, show: Callable[[], None]) -> None:
        """Open a window on its own thread (it blocks until closed; menu commands go on meanwhile); a second click
        while it is open does not open a second one."""
        running = self._windows.get(name)
        if (running is not None and running.is_alive()) or self._stopping.is_set():
            return

        def run() -> None:
            try:
                self._run_job(show)
            except BaseException:
                log.exception("window %s: unexpected error", name)
            self.refresh()

        thread = self._windows[name] = threading.Thread(target=run, name=name, daemon=True)
        thread.start()

    def _action_loop(self) -> None:
        """Runs menu commands one at a time; survives anything a command (or telling about it) raises."""
        while True:
            job = self._jobs.get()
            if job is None:
                return
            try:
                self._run_job(job)
            except BaseException:
                log.exception("menu action loop: unexpected error")
            self.refresh()

    def _run_job(self, job: Callable[[], None]) -> None:
        try:
            job()
        except VoxTrayError as exc:
            log.warning("menu action failed: %s", exc)
            self.notify("VoxTray", str(exc))
        except Exception as exc:
            log.exception("menu action failed")
            self.notify("VoxTray", f"That did not work ({type(exc).__name__}: {exc}). See Open log.")

    # --- rendering ---------------------------------------------------------------------------------------------
    def _on_status(self, old: Status, new: Status) -> None:
        self._dirty.set()

    def _read_model(self, reread: bool = True) -> MenuModel:
        """The menu's model; `reread` False keeps the voices and autostart state last read (a status change)."""
        voices, autostart = self._model.voices, self._model.autostart
        try:
            voices = tuple(self._actions.voices()) if reread else voices
        except Exception:
            log.exception("could not list voices")
        try:
            autostart = bool(self._actions.autostart_enabled()) if reread else autostart
        except Exception:
            log.exception("could not read the autostart state")
        try:
            unavailable = tuple(sorted(self._actions.engine_problems().items()))
        except Exception:
            log.exception("could not read which engines can speak")
            unavailable = self._model.unavailable
        try:
            outputs, output = self._actions.output_devices()
        except Exception:
            log.exception("could not list the output devices")
            outputs, output = self._model.outputs, self._model.output
        try:
            can_repeat = bool(self._actions.can_repeat())
        except Exception:
            log.exception("could not tell whether there is an answer to repeat")
            can_repeat = self._model.can_repeat
        s = self._settings()
        hotkeys = (("ask", s.hotkey_ask), ("talk", s.hotkey_talk), ("read", s.hotkey_read), ("stop", s.hotkey_stop),
                   ("pause", s.hotkey_pause))
        return MenuModel(voices=voices, engine=s.engine, autostart=autostart, hotkeys=hotkeys, unavailable=unavailable,
                         speed=s.speech_speed, volume=s.volume, outputs=outputs, output=output, can_repeat=can_repeat)

    def _render_loop(self) -> None:
        while not self._stopping.is_set():
            woken = self._dirty.wait(self._refresh_s)
            self._dirty.clear()
            reread = not woken or self._reread.is_set()
            self._reread.clear()
            if self._stopping.is_set():
                return
            try:
                self._render(self._bus.current, self._read_model(reread))
            except Exception:
                log.exception("tray render failed")

    def _render(self, s: Status, model: MenuModel) -> None:
        icon = self._icon
        key_icon = (s.tier, s.activity)
        if self._rendered.get("icon") != key_icon:
            icon.icon = self._image(s)
            self._rendered["icon"] = key_icon
        title = self._title(traymenu.tooltip(s))
        if self._rendered.get("title") != title:
            icon.title = title
            self._rendered["title"] = title
        menu_key = (traymenu.voice_line(s), traymenu.llm_line(s), s.tier_reason if s.tier is Tier.NONE else "",
                    s.voice, s.activity, s.hotkeys_paused, s.speech_paused, s.model_setup, traymenu.download_line(s), model)
        if self._rendered.get("menu") != menu_key:
            self._model = model
            self.menu = traymenu.build_menu(s, model, self.handlers)
            icon.menu = self._to_pystray(self.menu)
            self._rendered["menu"] = menu_key
        log.debug("tray rendered %s/%s", s.tier.value, s.activity.value)

    def _win32(self) -> bool:
        return os.environ.get("PYSTRAY_BACKEND", "win32" if sys.platform == "win32" else "") == "win32"

    def _icon_class(self) -> Any:
        if self._pystray.Icon.__module__.endswith("._gtk"):
            return traygtk.icon_class(self._pystray.Icon)
        if not self._win32():
            return self._pystray.Icon
        return traywin32.icon_class(self._pystray.Icon, on_end_session=self._end_session,
                                    on_close=self.handlers.quit)

    def _end_session(self) -> None:
        """Windows is logging off: stop everything now (on the tray thread, before the handler returns)."""
        if self._on_end_session is not None:
            self._on_end_session()
        self.stop()

    def _image(self, s: Status) -> Any:
        if self._win32():
            return render_icon_frames(s.tier, s.activity, traywin32.ICON_SIZES)
        return render_icon(s.tier, s.activity, self._size)

    def _title(self, text: str) -> str:
        return traywin32.fit(text, traywin32.TIP_UNITS) if self._win32() else text

    def _to_pystray(self, entries: tuple[Entry, ...]) -> Any:
        ps = self._pystray

        def item(e: Entry) -> Any:
            if e.is_separator:
                return ps.Menu.SEPARATOR
            if e.submenu:
                return ps.MenuItem(e.text, ps.Menu(*[item(x) for x in e.submenu]), enabled=e.enabled)
            checked = None if e.checked is None else (lambda _item, v=e.checked: v)
            action = e.action
            text = e.text
            if e.hint:  # Windows menus right-align what follows a tab (the accelerator column)
                text = f"{text}\t{e.hint}" if self._win32() else f"{text}   ({e.hint})"
            return ps.MenuItem(text, (lambda: action()) if action else None, checked=checked, radio=e.radio,
                               enabled=e.enabled and action is not None, default=e.default)

        return ps.Menu(*[item(e) for e in entries])

    # --- lifecycle ---------------------------------------------------------------------------------------------
    def _start_threads(self) -> None:
        self._unsubscribe = self._bus.subscribe(self._on_status)
        for name, target in (("voxtray-tray-render", self._render_loop), ("voxtray-tray-actions", self._action_loop)):
            t = threading.Thread(target=target, name=name, daemon=True)
            t.start()
            self._threads.append(t)
        self._dirty.set()

    def _shutdown(self) -> None:
        self._stopping.set()
        self._dirty.set()
        if self._unsubscribe:
            self._unsubscribe()
        self._jobs.put(None)
        for t in self._threads:
            if t is not threading.current_thread():
                t.join(timeout=5)
                if t.is_alive():
                    log.warning("tray thread %s did not stop within 5 s", t.name)
        self._threads.clear()
        if self._dbus is not None:
            self._dbus.close()
