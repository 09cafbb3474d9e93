"""Global hotkeys: user32 RegisterHotKey on Windows (winhotkeys.py), pynput on Linux/X11.

    listener = HotkeyListener({settings.hotkey_ask: on_ask, settings.hotkey_stop: on_stop},
                              names={settings.hotkey_ask: "hotkey_ask", settings.hotkey_stop: "hotkey_stop"})
    listener.start()     # raises HotkeyError with what to do when hotkeys cannot work here
    listener.stop()

`releases` (optional) maps a bound combo to a callback for when it is let go (hold-to-talk), where the backend
can tell (`supports_release`): pynput sees key releases (an X autorepeat release that is followed at once by a
press of the same key is not a release); win32 polls GetAsyncKeyState after the press, since RegisterHotKey
reports presses only. The `keyboard` backend cannot: there, callers treat the combo as press-to-toggle.

Backends: "win32" (the Windows default: survives the lock screen, Ctrl+Alt+Del and UAC, works over elevated
windows, and a combo another program owns is an error naming the setting), "keyboard" (the `keyboard`
package's low-level hook; explicit only: it goes deaf after the lock screen, boppreh/keyboard#191), "pynput".
`names` (optional) maps each combo text to the setting it came from, for the error messages.

Combos are written like "ctrl+alt+space": modifiers (ctrl, alt, shift, win) and one key (a letter or digit,
f1-f24, or a named key such as space, enter, esc, tab, up, page_down), joined by '+', case-insensitive.
A bad combo raises SettingsError naming the setting. A ctrl+alt+<character> combo is logged as a warning
once (altgr_conflict): where AltGr = Ctrl+Alt it would take a character the user types. Callbacks never run
on the OS hook thread (a slow callback there would delay every key press system-wide): a dispatcher thread
calls them, one at a time.
"""

from __future__ import annotations

import logging
import os
import queue
import sys
import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from daemon import paths
from daemon.desktop import winhotkeys
from daemon.errors import SettingsError, VoxTrayError

log = logging.getLogger(__name__)

MODIFIERS = {"ctrl": "ctrl", "control": "ctrl", "alt": "alt", "option": "alt", "shift": "shift",
             "win": "win", "windows": "win", "super": "win", "cmd": "win", "meta": "win"}
NAMED_KEYS = {
    "space": "space", "enter": "enter", "return": "enter", "esc": "esc", "escape": "esc", "tab": "tab",
    "backspace": "backspace", "delete": "delete", "del": "delete", "insert": "insert", "ins": "insert",
    "home": "home", "end": "end", "page_up": "page_up", "pageup": "page_up", "pgup": "page_up",
    "page_down": "page_down", "pagedown": "page_down", "pgdn": "page_down", "up": "up", "down": "down",
    "left": "left", "right": "right", "pause": "pause", "print_screen": "print_screen",
    "printscreen": "print_screen", "menu": "menu",
    **{f"f{i}": f"f{i}" for i in range(1, 25)},
}
PUNCTUATION = set("`-=[];',./\\")
_MOD_ORDER = ["ctrl", "alt", "shift", "win"]
# Names as each backend spells them (where they differ from ours).
_PYNPUT_MODS = {"ctrl": "<ctrl>", "alt": "<alt>", "shift": "<shift>", "win": "<cmd>"}
_PYNPUT_KEYS = {"esc": "esc", "print_screen": "print_screen", "menu": "menu"}
_KEYBOARD_MODS = {"ctrl": "ctrl", "alt": "alt", "shift": "shift", "win": "windows"}
_KEYBOARD_KEYS = {"page_up": "page up", "page_down": "page down", "print_screen": "print screen",
                  "backspace": "backspace", "esc": "esc"}
HELP = ("Use modifiers (ctrl, alt, shift, win) and one key joined by '+', e.g. 'ctrl+alt+space' or "
        "'ctrl+shift+f9'.")


class HotkeyError(VoxTrayError):
    """Global hotkeys cannot work here (no X11 display, hook not allowed, package missing)."""


@dataclass(frozen=True)
class Combo:
    """A validated hotkey: a set of modifiers and one key, in canonical names."""

    modifiers: tuple[str, ...]
    key: str

    def __str__(self) -> str:
        return "+".join([*self.modifiers, self.key])

    def for_pynput(self) -> str:
        key = self.key if len(self.key) == 1 else f"<{_PYNPUT_KEYS.get(self.key, self.key)}>"
        return "+".join([*(_PYNPUT_MODS[m] for m in self.modifiers), key])

    def for_keyboard(self) -> str:
        return "+".join([*(_KEYBOARD_MODS[m] for m in self.modifiers), _KEYBOARD_KEYS.get(self.key, self.key)])


def parse_combo(text: str, setting: str = "hotkey") -> Combo:
    """'Ctrl+Alt+Space' -> Combo(('ctrl', 'alt'), 'space'); raises SettingsError naming `setting`."""

    def bad(why: str) -> SettingsError:
        return SettingsError(f"'{setting}' is not a valid hotkey ('{text}'): {why}. {HELP}")

    if not isinstance(text, str) or not text.strip():
        raise bad("it is empty")
    raw = text.strip().lower()
    parts = [p.strip() for p in raw.split("+")]
    if any(not p for p in parts):
        raise bad("it has an empty part (two '+' in a row or a '+' at an end)")
    mods: set[str] = set()
    keys: list[str] = []
    for part in parts:
        name = part.replace(" ", "_").replace("-", "_") if len(part) > 1 else part
        if name in MODIFIERS:
            if MODIFIERS[name] in mods:
                raise bad(f"'{part}' appears twice")
            mods.add(MODIFIERS[name])
        elif name in NAMED_KEYS:
            keys.append(NAMED_KEYS[name])
        elif len(name) == 1 and ((name.isalnum() and name.isascii()) or name in PUNCTUATION):
            keys.append(name)
        else:
            raise bad(f"'{part}' is not a key name")
    if len(keys) != 1:
        raise bad("it needs exactly one key besides the modifiers" if keys else "it has no key, only modifiers")
    key = keys[0]
    if not mods and not (key.startswith("f") and len(key) > 1 and key[1:].isdigit()):
        raise bad("a global hotkey needs at least one modifier (only f1-f24 may stand alone)")
    return Combo(tuple(m for m in _MOD_ORDER if m in mods), key)


def altgr_conflict(combo: Combo | str) -> str | None:
    """Why `combo` clashes with AltGr, or None. On Windows layouts with AltGr (German, Polish, French, ...)
    AltGr is Ctrl+Alt, so ctrl+alt+<letter, digit or punctuation> also takes AltGr+<key>, which types a
    character there (Polish AltGr+X = ź). Named keys (space, backspace, f1-f24, ...) and combos with shift or
    win are fine. A string is parsed first (SettingsError if it is not a valid combo)."""
    if isinstance(combo, str):
        combo = parse_combo(combo)
    if combo.modifiers != ("ctrl", "alt") or len(combo.key) != 1:
        return None
    return (f"'{combo}' is also AltGr+{combo.key.upper()} on keyboard layouts where AltGr = Ctrl+Alt (German, "
            f"Polish, French, ...), which types a character there (Polish AltGr+X = ź); prefer a named key "
            f"(e.g. ctrl+alt+backspace) or add shift or win")


_altgr_warned: set[Combo] = set()


def parse_bindings(bindings: dict[str, Callable[[], None]],
                   names: dict[str, str] | None = None) -> dict[Combo, Callable[[], None]]:
    """Validate every combo (errors name the setting from `names`, else 'hotkey'); two names for the same
    combo are an error too; an AltGr clash is a warning, logged once per combo."""
    out: dict[Combo, Callable[[], None]] = {}
    for text, callback in bindings.items():
        setting = (names or {}).get(text, "hotkey")
        combo = parse_combo(text, setting)
        if combo in out:
            raise SettingsError(f"two hotkeys are both '{combo}' — give each action its own combo. {HELP}")
        clash = altgr_conflict(combo)
        if clash and combo not in _altgr_warned:
            _altgr_warned.add(combo)
            log.warning("%s: %s", setting, clash)
        out[combo] = callback
    return out


def _nudge_xrecord(listener: Any) -> None:
    """pynput's X11 stop() queues its 'disable' on the connection its thread is blocked reading, so the
    thread only ends at the next X event; sending the disable on the other connection ends it now."""
    display, context = getattr(listener, "_display_stop", None), getattr(listener, "_context", None)
    if display is None or context is None:
        return
    try:
        display.record_disable_context(context)
        display.flush()
    except Exception:
        log.debug("XRecord nudge failed", exc_info=True)


BACKENDS = ("win32", "keyboard", "pynput")


def _within(combo: Combo, other: Combo) -> bool:
    """`combo` is `other` less some modifiers (ctrl+alt+space within ctrl+alt+shift+space)."""
    return combo != other and combo.key == other.key and set(combo.modifiers) < set(other.modifiers)


def default_backend() -> str:
    return "win32" if sys.platform == "win32" else "pynput"


class HotkeyListener:
    """Listens for global hotkeys and calls their callbacks (on its dispatcher thread, one at a time)."""

    def __init__(self, bindings: dict[str, Callable[[], None]], *, backend: str | None = None,
                 names: dict[str, str] | None = None, user32: Any = None,
                 last_error: Callable[[], int] | None = None,
                 releases: dict[str, Callable[[], None]] | None = None) -> None:
        """`names`: combo text -> setting name (e.g. {"ctrl+alt+space": "hotkey_ask"}) for error messages.
        `user32` / `last_error`: the win32 backend's ctypes seams (default: the real user32 and
        ctypes.get_last_error); tests pass a fake."""
        self.bindings = parse_bindings(bindings, names)
        self.setting_names = {parse_combo(text): (names or {}).get(text, "hotkey") for text in bindings}
        self.releases = {parse_combo(text, (names or {}).get(text, "hotkey")): callback
                         for text, callback in (releases or {}).items()}
        self.backend = backend or default_backend()
        if self.backend not in BACKENDS:
            raise ValueError(f"unknown hotkey backend {self.backend!r}")
        self._queue: queue.Queue[tuple[Combo, bool] | None] = queue.Queue()  # (combo, released)
        self._stopping = threading.Event()
        self._vks: dict[Combo, int] = {}
        self._dispatcher: threading.Thread | None = None
        self._pynput: Any = None
        self._keyboard: Any = None
        self._handles: list[Any] = []
        self._user32, self._last_error = user32, last_error
        self.win32: winhotkeys.HotkeyThread | None = None  # the message-loop thread while running (win32)

    @property
    def running(self) -> bool:
        return self._dispatcher is not None

    @property
    def supports_release(self) -> bool:
        """Whether `releases` callbacks can fire with this backend (hold-to-talk)."""
        return self.backend in ("pynput", "win32")

    def start(self) -> None:
        if self._dispatcher is not None:
            return
        self._stopping.clear()
        if self.backend == "win32":
            self._start_win32()
        elif self.backend == "keyboard":
            self._start_keyboard()
        else:
            self._start_pynput()
        self._dispatcher = threading.Thread(target=self._dispatch, name="hotkeys", daemon=True)
        self._dispatcher.start()
        log.info("global hotkeys (%s): %s", self.backend, ", ".join(str(c) for c in self.bindings))

    def stop(self) -> None:
        self._stopping.set()
        if self.win32 is not None:
            loop, self.win32 = self.win32, None
            loop.stop()
        if self._pynput is not None:
            listener, self._pynput = self._pynput, None
            listener.stopping = True
            listener.stop()
            _nudge_xrecord(listener)
            listener.join(2.0)  # let it release its X connections before anything else closes
        if self._keyboard is not None:
            for handle in self._handles:
                try:
                    self._keyboard.remove_hotkey(handle)
                except (KeyError, ValueError):
                    pass
            self._handles.clear()
            self._keyboard = None
        if self._dispatcher is not None:
            self._queue.put(None)
            self._dispatcher.join(timeout=2.0)
            self._dispatcher = None

    # ---- backends ----------------------------------------------------------------------------------
    def _fire(self, combo: Combo, released: bool = False) -> None:
        """Called on the OS hook thread: only enqueue."""
        self._queue.put((combo, released))

    def _watch_release_win32(self, combo: Combo) -> None:
        """Hold-to-talk on Windows: poll the combo's keys on a helper thread until one is up."""
        loop = self.win32
        if loop is None or combo not in self._vks:
            return
        groups = winhotkeys.release_groups(combo.modifiers, self._vks[combo])

        def watch() -> None:
            if winhotkeys.wait_release(groups, loop._user32, self._stopping):
                self._fire(combo, released=True)

        threading.Thread(target=watch, name="hotkeys-release", daemon=True).start()

    def _start_win32(self) -> None:
        combos = list(self.bindings)

        def retry(combo: Combo) -> str:
            return f"choose another combo for '{self.setting_names.get(combo, 'hotkey')}' in settings.json"

        keys: list[tuple[int, int]] = []
        for combo in combos:
            try:
                keys.append(winhotkeys.hotkey_for(combo.modifiers, combo.key, self._user32))
            except winhotkeys.KeyMapError as exc:
                raise HotkeyError(f"global hotkey {combo} cannot be registered: {exc}; {retry(combo)}") from None
            except winhotkeys.Win32HotkeyError as exc:
                raise HotkeyError(f"global hotkeys could not be registered: {exc}") from None
        self._vks = {combo: vk for combo, (_flags, vk) in zip(combos, keys, strict=True)}
        loop = winhotkeys.HotkeyThread(keys, lambda index: self._fire(combos[index]), user32=self._user32,
                                       last_error=self._last_error)
        try:
            loop.start()
        except winhotkeys.Win32HotkeyError as exc:
            if exc.index is None:
                raise HotkeyError(f"global hotkeys could not be registered: {exc}") from None
            combo = combos[exc.index]
            if exc.already_registered:
                raise HotkeyError(f"{combo} is already used by another program; {retry(combo)}") from None
            raise HotkeyError(f"global hotkey {combo} could not be registered ({exc}); {retry(combo)}") from None
        self.win32 = loop

    def _start_keyboard(self) -> None:
        try:
            import keyboard
        except ImportError:
            raise HotkeyError(
                "global hotkeys need the 'keyboard' package on Windows — run: pip install keyboard"
            ) from None
        self._keyboard = keyboard
        try:
            for combo in self.bindings:
                handle = keyboard.add_hotkey(combo.for_keyboard(), self._fire, args=(combo,), suppress=False)
                self._handles.append(handle)
        except (AssertionError, OSError, ImportError, ValueError) as exc:
            self.stop()
            raise HotkeyError(
                f"global hotkeys could not be registered ({type(exc).__name__}: {exc}) — on Linux the "
                "keyboard package needs root; VoxTray uses pynput there."
            ) from None

    def _start_pynput(self) -> None:
        if sys.platform.startswith("linux") and not os.environ.get("DISPLAY"):
            raise HotkeyError(
                "global hotkeys need an X11 session (DISPLAY is not set); under Wayland, log in to an "
                f"X11 session or bind a desktop shortcut to `{paths.command()} ask`."
            )
        try:
            from pynput import keyboard as pk
        except ImportError as exc:
            raise HotkeyError(f"global hotkeys need pynput ({exc}) — run: pip install pynput") from None
        done: list[Combo] = []  # the combos one key press completed (the listener's thread only)
        mapping = {combo.for_pynput(): (lambda c=combo: done.append(c)) for combo in self.bindings}
        owner = self

        class QuietHotKeys(pk.GlobalHotKeys):
            """pynput's X11 listener can hit a closed X connection while shutting down: ignore that then."""

            stopping = False

            def _on_press(self, key: Any, injected: bool) -> None:
                """pynput's HotKey ignores keys it does not name, so ctrl+alt+shift+space also completes ctrl+alt+space:
                of the combos one press completes, only those no other completed combo contains fire."""
                done.clear()
                super()._on_press(key, injected)  # type: ignore[misc]
                for combo in done:
                    if not any(_within(combo, other) for other in done):
                        owner._fire(combo)

            def _on_release(self, key: Any, injected: bool) -> None:
                if not injected and owner.releases:
                    canonical = self.canonical(key)
                    for hotkey, combo in zip(self._hotkeys, owner.bindings, strict=True):  # type: ignore[attr-defined]
                        if combo in owner.releases and canonical in hotkey._keys and hotkey._state == hotkey._keys:
                            owner._release_soon(combo, hotkey)
                super()._on_release(key, injected)  # type: ignore[misc]

            def _run(self) -> None:
                try:
                    super()._run()  # type: ignore[misc]
                except Exception:
                    if not self.stopping:
                        raise
                    log.debug("pynput listener shutdown error ignored", exc_info=True)

        try:
            listener = QuietHotKeys(mapping)
            listener.start()
            listener.wait()
        except Exception as exc:  # Xlib errors have no common base class
            raise HotkeyError(f"global hotkeys could not start ({type(exc).__name__}: {exc}).") from None
        self._pynput = listener

    def _release_soon(self, combo: Combo, hotkey: Any, wait_s: float = 0.06) -> None:
        """An X autorepeat sends release + press for a held key: a release only counts if no press follows."""

        def check() -> None:
            if hotkey._state != hotkey._keys and not self._stopping.is_set():
                self._fire(combo, released=True)

        timer = threading.Timer(wait_s, check)
        timer.daemon = True
        timer.start()

    def _dispatch(self) -> None:
        while True:
            item = self._queue.get()
            if item is None:
                return
            combo, released = item
            log.debug("hotkey %s%s", combo, " released" if released else "")
            try:
                if released:
                    self.releases[combo]()
                else:
                    self.bindings[combo]()
                    if combo in self.releases and self.backend == "win32":
                        self._watch_release_win32(combo)
            except Exception:  # a failing action must not end hotkeys
                log.exception("hotkey %s action failed", combo)
