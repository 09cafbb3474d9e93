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
SHOW_ANSWER_ITEM = "Show the last answer"  # opens desktop/answer_window.py
REPEAT_ITEM = "Repeat the last answer"  # its kept audio, else its text re-synthesised (never the LLM again)
SETUP_WORDS = {SETUP_NEEDED: "not downloaded", SETUP_DOWNLOADING: "downloading", SETUP_FAILED: "download failed"}
TOOLTIP_MAX = 127  # Windows truncates a tray tip at 128 UTF-16 units
LINE_MAX = 48  # characters in a menu line: longer status/problem text is cut at a word (details: Check set-up)
ENGINES: list[tuple[str, str]] = [
    ("auto", "Auto"),
    ("xtts", "XTTS clone"),
    ("edge", "edge-tts"),
    ("system", "System voice"),
]
SPEEDS: list[tuple[float, str]] = [(0.8, "0.8×"), (1.0, "1×"), (1.25, "1.25×"), (1.5, "1.5×")]  # speech_speed
VOLUMES: list[tuple[float, str]] = [(0.5, "Quiet"), (1.0, "Normal"), (1.5, "Loud")]  # volume (the output gain)


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
    hint: str = ""  # e.g. the hotkey, shown beside the text (tray.py lays it out per platform)

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
    hotkeys: tuple[tuple[str, str], ...] = ()  # (command, combo as typed in settings), e.g. ("ask", "ctrl+alt+space")
    unavailable: tuple[tuple[str, str], ...] = ()  # (engine, why it cannot speak now), e.g. ("xtts", "not downloaded")
    outputs: tuple[str, ...] = ()  # output devices by name, as last listed (speech/devices.py)
    output: str = ""  # the chosen one ("" = the system default)
    speed: float = 1.0  # speech_speed
    volume: float = 1.0
    can_repeat: bool = False  # there is a last answer (or reading) to repeat


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
    read_aloud: Callable[[], None] = lambda: None
    get_model: Callable[[], None] = lambda: None
    cancel_download: Callable[[], None] = lambda: None
    check_setup: Callable[[], None] = lambda: None
    set_output: Callable[[str], None] = lambda _name: None
    show_last_answer: Callable[[], None] = lambda: None
    pause_resume: Callable[[], None] = lambda: None
    repeat_last: Callable[[], None] = lambda: None
    set_speed: Callable[[float], None] = lambda _speed: None
    set_volume: Callable[[float], None] = lambda _gain: None


def same_voice(name: str, current: str) -> bool:
    """True when a voice list entry names the current voice (file name or stem, any folder)."""
    if not name or not current:
        return False
    a, b = Path(name), Path(current)
    return a.name == b.name or a.stem == b.stem


def cap(text: str, limit: int = LINE_MAX) -> str:
    """`text` within `limit` characters, cut at a word with "…" (never mid-word unless one word is that long)."""
    text = " ".join(text.split())
    if len(text) <= limit:
        return text
    cut = text[: limit - 1]
    space = cut.rfind(" ")
    if space > limit // 2:
        cut = cut[:space]
    return cut.rstrip(" ,;:·—-(") + "…"


def brief(headline: str, detail: str) -> str:
    """A problem line: the headline with its detail when that fits whole, else a pointer to the details."""
    line = f"{headline}: {detail}" if detail else headline
    return line if len(line) <= LINE_MAX else f"{headline} (details…)"


def key_hint(combo: str) -> str:
    """A settings hotkey as menus show it: "ctrl+alt+space" -> "Ctrl+Alt+Space"."""
    names = {"ctrl": "Ctrl", "alt": "Alt", "shift": "Shift", "win": "Win", "cmd": "Win", "super": "Win",
             "esc": "Esc", "pgup": "PgUp", "pgdn": "PgDn"}
    return "+".join(names.get(p.strip().lower(), p.strip().capitalize() if len(p.strip()) > 1 else p.strip().upper())
                    for p in combo.split("+") if p.strip())


def gpu_line(s: Status) -> str:
    if s.vram_free_mb is not None:
        total = f" / {s.vram_total_mb / 1024:.1f}" if s.vram_total_mb else ""
        name = f"{s.gpu_name}: " if s.gpu_name else ""
        return f"GPU: {name}{s.vram_free_mb / 1024:.1f}{total} GB free"
    return f"GPU: {s.gpu_note or 'unknown'}"


def llm_line(s: Status) -> str:
    if s.llm_ok is None:
        state = "not set up" if not s.llm_url else "checking…"
    else:
        state = "reachable" if s.llm_ok else "unreachable"
    note = f" ({s.llm_note})" if s.llm_note and not s.llm_ok else ""
    return f"LLM: {state}{note}"


def voice_name(s: Status) -> str:
    """The voice the next sentence gets, in everyday words (the clone's name only when it is the clone)."""
    if s.tier is Tier.XTTS:
        return f"cloned voice · {Path(s.voice).stem}" if s.voice else "cloned voice"
    return TIER_LABELS[s.tier]


def voice_line(s: Status) -> str:
    """The menu's first line: which voice speaks the next sentence."""
    if s.tier is Tier.STARTING:
        model = SETUP_WORDS.get(s.model_setup, "") if s.model_setup else ""
        return "Starting…" + (f" (cloned voice {model})" if model else "")
    if s.tier is Tier.NONE:
        return "Nothing can speak now"
    return cap(f"Speaking with: {voice_name(s)}")


def chip_text(s: Status) -> str:
    """The question box's status line: is there an LLM to ask, and which voice answers."""
    if not s.llm_url:
        llm = "⚠ No LLM set up (right-click the tray icon > Set up the LLM…)"
    elif s.llm_ok is False:
        llm = "⚠ LLM unreachable: the answer may fail"
    else:
        llm = "LLM ready" if s.llm_ok else "LLM: checking…"
    voice = "nothing can speak" if s.tier is Tier.NONE else "voice starting" if s.tier is Tier.STARTING \
        else voice_name(s)
    return f"{llm} · {voice}"


def problem_entries(s: Status, h: Handlers) -> tuple[Entry, ...]:
    """What stands in the way, each a click away from its fix or its details (Check set-up)."""
    out: list[Entry] = []
    if s.tier is Tier.NONE:
        out.append(Entry(brief("⚠ Nothing can speak", s.tier_reason), action=h.check_setup))
    if not s.llm_url:
        out.append(Entry("⚠ No LLM set up: set it up…", action=h.connect_bridge))
    elif s.llm_ok is False:
        out.append(Entry(brief("⚠ LLM unreachable", s.llm_note), action=h.check_setup))
    return tuple(out)


def tooltip(s: Status) -> str:
    """Short multi-line tooltip: engine and voice, free VRAM, LLM, last time to first audio; within TOOLTIP_MAX,
    dropping whole lines from the end (never cut mid-word)."""
    lines = [f"VoxTray: {voice_name(s)}" + (f" ({s.activity.value})" if s.activity is not Activity.IDLE else "")]
    if s.setup_note:
        lines.append(s.setup_note)
    if s.vram_free_mb is not None:
        lines.append(f"VRAM free: {s.vram_free_mb / 1024:.1f} GB")
    elif s.gpu_note:
        lines.append(f"GPU: {s.gpu_note}")
    lines.append(cap(llm_line(s)))
    if s.last_first_audio_s is not None:
        lines.append(f"Hotkey to voice: {s.last_first_audio_s:.2f} s")
    if s.last_voice_s is not None:
        lines.append(f"End of speech → asked: {s.last_voice_s:.2f} s")
    lines = [cap(line, TOOLTIP_MAX) for line in lines]
    while len(lines) > 1 and len("\n".join(lines)) > TOOLTIP_MAX:
        lines.pop()
    return "\n".join(lines)


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
        return Entry(download_line(s), enabled=False), Entry("Cancel download", action=h.cancel_download)
    if s.model_setup in (SETUP_NEEDED, SETUP_FAILED):
        return (Entry(GET_MODEL_ITEM, action=h.get_model),)
    return ()


def presets(choices: list[tuple[float, str]], current: float, pick: Callable[[float], None],
            other: str) -> tuple[Entry, ...]:
    """Radio items for a setting's presets, the current one checked; a value set in settings.json that is none of
    them is shown first (greyed), so the menu never claims a preset that is not in use."""
    items = tuple(Entry(label, action=(lambda v=value: pick(v)), checked=abs(current - value) < 1e-6,  # type: ignore[misc]
                        radio=True) for value, label in choices)
    if any(e.checked for e in items):
        return items
    return (Entry(other.format(current), checked=True, radio=True, enabled=False), *items)


def output_entries(model: MenuModel, h: Handlers) -> tuple[Entry, ...]:
    """The Output device submenu: the system default, then each device by name; a chosen one that is not listed now
    shows greyed (speech goes to the default meanwhile, and back to it when it returns)."""
    gone = (model.output,) if model.output and model.output not in model.outputs else ()
    return (Entry("System default", action=lambda: h.set_output(""), checked=not model.output, radio=True),
            *(Entry(name, action=(lambda n=name: h.set_output(n)), checked=model.output == name,  # type: ignore[misc]
                    radio=True) for name in model.outputs),
            *(Entry(f"{name} (not connected)", checked=True, radio=True, enabled=False) for name in gone))


def build_menu(s: Status, model: MenuModel, h: Handlers) -> tuple[Entry, ...]:
    """The whole right-click menu for one snapshot: status and problems first, then the everyday commands."""
    voices = tuple(
        Entry(name, action=(lambda n=name: h.use_voice(n)), checked=same_voice(name, s.voice), radio=True)  # type: ignore[misc]
        for name in model.voices
    ) or (Entry("(no voices in voices/)", enabled=False),)
    unavailable = dict(model.unavailable)
    if "xtts" in unavailable and s.model_setup:  # the clearer reason: its model
        unavailable["xtts"] = f"model {SETUP_WORDS.get(s.model_setup, s.model_setup)}"
    engines = tuple(
        Entry(label + (f" — {cap(unavailable[name], 32)}" if name in unavailable else ""),
              action=(lambda n=name: h.set_engine(n)), checked=model.engine == name, radio=True,  # type: ignore[misc]
              enabled=name not in unavailable or model.engine == name)
        for name, label in ENGINES
    )
    keys = {command: key_hint(combo) for command, combo in model.hotkeys if combo}
    speaking = s.activity in (Activity.SPEAKING, Activity.THINKING)
    return (
        Entry(voice_line(s), enabled=False),
        *setup_entries(s, h),  # the first command: what the welcome's button does, where notifications have none
        *problem_entries(s, h),
        SEPARATOR,
        Entry("Ask…", action=h.ask, default=True, hint=keys.get("ask", "")),
        Entry("Ask by voice", action=h.ask_by_voice, hint=keys.get("talk", "")),
        Entry("Read aloud", action=h.read_aloud, hint=keys.get("read", "")),
        Entry("Stop speaking", action=h.stop_speaking, hint=keys.get("stop", ""), enabled=speaking),
        Entry("Resume" if s.speech_paused else "Pause", action=h.pause_resume, hint=keys.get("pause", ""),
              enabled=s.speech_paused or s.activity is Activity.SPEAKING),
        Entry(REPEAT_ITEM, action=h.repeat_last, enabled=model.can_repeat),
        Entry(SHOW_ANSWER_ITEM, action=h.show_last_answer),
        Entry("Voices", submenu=(*voices, SEPARATOR, Entry("Add voice from file…", action=h.add_voice))),
        Entry("Voice engine", submenu=engines),
        Entry("Output device", submenu=output_entries(model, h)),
        Entry("Speed", submenu=presets(SPEEDS, model.speed, h.set_speed, "{:g}× (settings.json)")),
        Entry("Volume", submenu=presets(VOLUMES, model.volume, h.set_volume, "Gain {:g} (settings.json)")),
        Entry("New conversation", action=h.new_conversation),
        SEPARATOR,
        Entry("Set up the LLM…", action=h.connect_bridge),
        Entry("Check set-up…", action=h.check_setup),
        Entry("Resume hotkeys" if s.hotkeys_paused else "Pause hotkeys", action=h.toggle_hotkeys),
        Entry("Files", submenu=(
            Entry("Open settings", action=h.open_settings),
            Entry("Open voices folder", action=h.open_voices_folder),
            Entry("Open log", action=h.open_log),
        )),
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
