"""The tray's menu and tooltip as plain data built from a Status snapshot (no GUI toolkit needed).

`build_menu` returns `Entry` trees; tray.py turns them into pystray items. Every clickable entry carries a
zero-argument `action` that the tray runs on its worker thread, so tests can call menu items directly.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from daemon.desktop.icons import TIER_LABELS
from daemon.download.manifest import GET_MODEL
from daemon.status import SETUP_DOWNLOADING, SETUP_FAILED, SETUP_NEEDED, Activity, Status, Tier

log = logging.getLogger(__name__)

GET_MODEL_ITEM = f"{GET_MODEL}…"  # opens the licence dialog (desktop/dialogs.py)
SETUP_WORDS = {SETUP_NEEDED: "not downloaded", SETUP_DOWNLOADING: "downloading", SETUP_FAILED: "download failed"}
TOOLTIP_MAX = 127  # Windows truncates a tray tip at 128 UTF-16 units
ENGINES: list[tuple[str, str]] = [
    ("auto", "Auto"),
    ("xtts", "XTTS clone"),
    ("edge", "edge-tts"),
    ("system", "System voice"),
]


@dataclass(frozen=True)
class Entry:
    """One menu line: a command (action), a check/radio item (checked), a submenu, or a separator (text '-')."""

    text: str
    action: Callable[[], None] | None = None
    checked: bool | None = None
    radio: bool = False
    enabled: bool = True
    default: bool = False
    submenu: tuple[Entry, ...] = field(default_factory=tuple)

    @property
    def is_separator(self) -> bool:
        return self.text == "-"


SEPARATOR = Entry("-", enabled=False)


@dataclass(frozen=True)
class MenuModel:
    """What the menu needs besides Status: read off the main thread before each rebuild."""

    voices: tuple[str, ...] = ()
    engine: str = "auto"
    autostart: bool = False


@dataclass(frozen=True)
class Handlers:
    """Callbacks the menu items run (already wrapped to run off the GUI thread)."""

    ask: Callable[[], None]
    stop_speaking: Callable[[], None]
    use_voice: Callable[[str], None]
    add_voice: Callable[[], None]
    set_engine: Callable[[str], None]
    new_conversation: Callable[[], None]
    toggle_hotkeys: Callable[[], None]
    open_settings: Callable[[], None]
    open_voices_folder: Callable[[], None]
    open_log: Callable[[], None]
    set_autostart: Callable[[bool], None]
    quit: Callable[[], None]
    connect_bridge: Callable[[], None] = lambda: None
    ask_by_voice: Callable[[], None] = lambda: None
    get_model: Callable[[], None] = lambda: None
    cancel_download: Callable[[], None] = lambda: None
    check_setup: Callable[[], None] = lambda: None


def same_voice(name: str, current: str) -> bool:
    """True when a voice list entry names the current voice (file name or stem, any folder)."""
    if not name or not current:
        return False
    a, b = Path(name), Path(current)
    return a.name == b.name or a.stem == b.stem


def gpu_line(s: Status) -> str:
    if s.vram_free_mb is not None:
        total = f" / {s.vram_total_mb / 1024:.1f}" if s.vram_total_mb else ""
        name = f"{s.gpu_name}: " if s.gpu_name else ""
        return f"GPU: {name}{s.vram_free_mb / 1024:.1f}{total} GB free"
    return f"GPU: {s.gpu_note or 'unknown'}"


def llm_line(s: Status) -> str:
    if s.llm_ok is None:
        state = "not configured" if not s.llm_url else "checking…"
    else:
        state = "reachable" if s.llm_ok else "unreachable"
    note = f" ({s.llm_note})" if s.llm_note and not s.llm_ok else ""
    return f"LLM: {state}{note}"


def voice_line(s: Status) -> str:
    voice = f" · {s.voice}" if s.voice else ""
    model = f" (model {s.model_state})" if s.tier is Tier.STARTING or s.model_state in ("loading", "failed") else ""
    if s.model_setup:
        model = f" (model {SETUP_WORDS.get(s.model_setup, s.model_setup)})"
    return f"Voice: {TIER_LABELS[s.tier]}{voice}{model}"


def tooltip(s: Status) -> str:
    """Short multi-line tooltip: engine and voice, free VRAM, LLM, last time to first audio."""
    lines = [f"VoxTray: {TIER_LABELS[s.tier]}" + (f" · {s.voice}" if s.voice else "")]
    if s.activity is not Activity.IDLE:
        lines[0] += f" ({s.activity.value})"
    if s.vram_free_mb is not None:
        lines.append(f"VRAM free: {s.vram_free_mb / 1024:.1f} GB")
    elif s.gpu_note:
        lines.append(f"GPU: {s.gpu_note}")
    lines.append(llm_line(s))
    if s.setup_note:
        lines.insert(1, s.setup_note)
    if s.last_first_audio_s is not None:
        lines.append(f"Hotkey to voice: {s.last_first_audio_s:.2f} s")
    if s.last_voice_s is not None:
        lines.append(f"End of speech → asked: {s.last_voice_s:.2f} s")
    text = "\n".join(lines)
    return text if len(text) <= TOOLTIP_MAX else text[: TOOLTIP_MAX - 1] + "…"


def download_line(s: Status) -> str:
    """The menu's progress line, coarser than the tooltip's (whole percents, whole minutes), so an open menu is
    rebuilt at most once per percent or minute, never on every tick."""
    if s.setup_percent is None:
        return "Downloading the cloned voice…"
    eta = s.setup_eta_s
    left = "" if eta is None else (", under a minute left" if eta < 60 else f", {round(eta / 60)} min left")
    return f"Downloading the cloned voice: {s.setup_percent} %{left}"


def setup_entries(s: Status, h: Handlers) -> tuple[Entry, ...]:
    """What getting the cloned voice needs now: first in the menu, since nothing else gives that voice."""
    if s.model_setup == SETUP_DOWNLOADING:
        return Entry(download_line(s), enabled=False), \
            Entry("Cancel download", action=h.cancel_download), SEPARATOR
    if s.model_setup in (SETUP_NEEDED, SETUP_FAILED):
        return Entry(GET_MODEL_ITEM, action=h.get_model), SEPARATOR
    return ()


def build_menu(s: Status, model: MenuModel, h: Handlers) -> tuple[Entry, ...]:
    """The whole right-click menu for one snapshot."""
    voices = tuple(
        Entry(name, action=(lambda n=name: h.use_voice(n)), checked=same_voice(name, s.voice), radio=True)  # type: ignore[misc]
        for name in model.voices
    ) or (Entry("(no voices in voices/)", enabled=False),)
    engines = tuple(
        Entry(label, action=(lambda n=name: h.set_engine(n)), checked=model.engine == name, radio=True)  # type: ignore[misc]
        for name, label in ENGINES
    )
    return (
        *setup_entries(s, h),
        Entry("Ask…", action=h.ask, default=True),
        Entry("Ask by voice", action=h.ask_by_voice),
        Entry("Stop speaking", action=h.stop_speaking),
        Entry("Voices", submenu=(*voices, SEPARATOR, Entry("Add voice from file…", action=h.add_voice))),
        Entry("Engine", submenu=engines),
        SEPARATOR,
        Entry(voice_line(s), enabled=False),
        Entry(gpu_line(s), enabled=False),
        Entry(llm_line(s), enabled=False),
        SEPARATOR,
        Entry("New conversation", action=h.new_conversation),
        Entry("Connect to Colab bridge…", action=h.connect_bridge),
        Entry("Resume hotkeys" if s.hotkeys_paused else "Pause hotkeys", action=h.toggle_hotkeys),
        SEPARATOR,
        Entry("Open settings", action=h.open_settings),
        Entry("Open voices folder", action=h.open_voices_folder),
        Entry("Open log", action=h.open_log),
        Entry("Check set-up…", action=h.check_setup),
        SEPARATOR,
        Entry("Start at login", action=lambda: h.set_autostart(not model.autostart), checked=model.autostart),
        Entry("Quit", action=h.quit),
    )


def find(entries: tuple[Entry, ...], *path: str) -> Entry:
    """The entry at a path of texts (e.g. "Voices", "bob.wav"); raises KeyError."""
    current: Entry | None = None
    level = entries
    for text in path:
        current = next((e for e in level if e.text == text), None)
        if current is None:
            raise KeyError(f"no menu entry {text!r} among {[e.text for e in level]}")
        level = current.submenu
    if current is None:
        raise KeyError("empty path")
    return current
