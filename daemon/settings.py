"""settings.json <-> a typed, validated Settings model: defaults, one clear error, atomic save."""

from __future__ import annotations

import codecs
import json
import logging
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from daemon import paths
from daemon.errors import SettingsError
from daemon.fsio import atomic_write_text, file_lock

log = logging.getLogger(__name__)

SCHEMA_FILENAME = "settings.schema.json"

EngineName = Literal["xtts", "edge", "system"]
EngineChoice = Literal["auto", "xtts", "edge", "system"]
XTTS_MODEL_ID = "tts_models/multilingual/multi-dataset/xtts_v2"
XTTS_DOWNLOAD_URL = "https://huggingface.co/coqui/XTTS-v2/resolve/main/"
DEFAULT_ENGINE_ORDER: list[EngineName] = ["xtts", "edge", "system"]


class Settings(BaseModel):
    """Everything VoxTray can be told; every key has a default and a description."""

    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False)  # snapshots: changes make a new one

    # --- the seed's keys (names kept) ---
    use_local_cloning: bool = Field(True, description="Speak with the cloned XTTS voice when the GPU allows it.")
    cloning_reference_file: str = Field(
        "voices/sample.wav", description="Reference clip (10-20 s of clean speech) of the voice to clone."
    )
    xtts_model_path: str = Field(
        XTTS_MODEL_ID, description="A coqui model id (downloaded on first use) or a local XTTS model folder."
    )
    remote_llm_url: str = Field(
        "", description="Base URL of the remote LLM (Ollama or OpenAI-compatible), e.g. a Colab tunnel URL."
    )

    # --- speech engines ---
    engine: EngineChoice = Field("auto", description="auto picks by health; or force one engine.")
    engine_order: list[EngineName] = Field(
        default_factory=lambda: list(DEFAULT_ENGINE_ORDER),
        description="Fallback order of the engines, best first.",
    )
    voices_dir: str = Field("voices", description="Folder of voice reference clips (a relative path starts in the "
                            "project folder, or in the per-user data folder when VoxTray is installed with pip).")
    xtts_license_accepted: bool = Field(
        False, description="You accept the Coqui Public Model License (CPML) of XTTS v2 (needed to download it)."
    )
    xtts_download_url: str = Field(
        XTTS_DOWNLOAD_URL, pattern=r"^https?://[^/?#]+",
        description="Where VoxTray downloads the XTTS v2 files from (config.json, model.pth, vocab.json, "
        "speakers_xtts.pth, hash.md5 under this base URL): the model's page on Hugging Face, or a mirror.",
    )
    xtts_device: Literal["auto", "cuda", "cpu"] = Field("auto", description="Where XTTS runs.")
    xtts_allow_cpu: bool = Field(
        False, description="Let XTTS run on the CPU when there is no usable GPU (slow: seconds per sentence)."
    )
    xtts_fp16: bool = Field(True, description="Half precision (autocast) on CUDA: faster and smaller.")
    xtts_language: str = Field("auto", description="auto: each sentence in its own language, by every voice (one "
                               "XTTS does not speak: the next voice); a code (en, de, ...): everything in it.")
    xtts_first_chunk_tokens: int = Field(
        8, ge=2, le=400, description="Tokens in the first streamed chunk of a reply (smaller = sooner first audio)."
    )
    xtts_chunk_tokens: int = Field(
        48, ge=2, le=400, description="Largest chunk, in tokens: chunks grow to it; later sentences use it."
    )
    xtts_chunk_growth: float = Field(
        1.25, ge=1.0, le=4.0,
        description="Each chunk of a reply's first sentence is this many times the previous one (1 = fixed size).",
    )
    xtts_temperature: float = Field(0.75, gt=0, le=2.0, description="XTTS sampling temperature.")
    speech_check: Literal["off", "last-resort", "on"] = Field(
        "last-resort", description="XTTS's sentences checked by ear: on (all), last-resort (one that ran long), off.")
    xtts_max_rtf: float = Field(
        1.0, gt=0, le=1000, description="XTTS is treated as unhealthy when its real-time factor stays above this."
    )
    first_chunk_deadline_s: float = Field(4.0, gt=0, le=600, description="An engine that gives no audio within "
                                          "this many seconds is failed over.")
    edge_tts_voice: str = Field("en-US-AriaNeural", description="edge-tts voice (others: its gender, or pinned:)")
    edge_tts_voices: dict[str, str] = Field({}, description='edge-tts voice per language: {"fr": "fr-CA-SylvieNeural"}')
    edge_tts_rate: str = Field("+0%", pattern=r"^[+-]\d+%$", description="edge-tts speaking rate, e.g. +10%.")
    edge_tts_pitch: str = Field("+0Hz", pattern=r"^[+-]\d+Hz$", description="edge-tts pitch, e.g. -5Hz.")
    system_voice: str = Field("", description="System voice id or name (empty = the system default).")
    system_rate: int = Field(175, ge=50, le=500, description="System voice speed in words per minute (at 1x).")
    speech_speed: float = Field(1.0, ge=0.5, le=2.0, description="Speed of every voice (the tray's Speed menu): "
                                "XTTS's speed, edge_tts_rate and system_rate are each multiplied by it.")

    # --- audio output ---
    output_device: str | int | None = Field(
        None, description="Output device name (substring) or index; null = the system default."
    )
    output_sample_rate: int | None = Field(
        None, ge=8000, le=192000, description="Output sample rate; null = the device's default rate."
    )
    volume: float = Field(1.0, ge=0.0, le=2.0, description="Loudness of every voice: the output gain (the tray's "
                          "Volume menu: quiet 0.5, normal 1, loud 1.5).")
    sentence_gap_s: float = Field(0.2, ge=0.0, le=2.0, description="Silence between the sentences of an answer "
                                  "(each voice's own silence at sentence ends is trimmed where it can be).")
    duck_others: bool = Field(True, description="Lower other apps (music, videos) while VoxTray speaks; put back after.")
    duck_level: float = Field(0.3, ge=0.0, le=1.0, description="Other apps' loudness while lowered (0.3 = 30 %).")

    # --- hotkeys ---
    hotkey_ask: str = Field("ctrl+alt+space", description="Global hotkey that opens the question box.")
    hotkey_stop: str = Field(
        "ctrl+alt+backspace",
        description="Global hotkey that stops speaking. Not ctrl+alt+<letter>: where AltGr = Ctrl+Alt that types a "
        "character.",
    )
    hotkey_read: str = Field("ctrl+alt+insert", description="Global hotkey that reads the selected text aloud (none "
                             "selected: the clipboard's); empty = none. Insert, as Ctrl+Insert is copy.")
    read_max_chars: int = Field(200_000, ge=100, le=10_000_000, description="Longest text read aloud (read hotkey, "
                                "tray, `read`), in characters after cleanup; the rest is skipped with a notice.")
    hotkey_pause: str = Field("ctrl+alt+shift+space", description="Global hotkey that pauses what is being said "
                              "at the current sample and resumes it from there; empty = none.")
    repeat_audio_max_s: float = Field(300.0, ge=0.0, le=3600.0, description="The last answer's audio kept for "
                                      "'Repeat the last answer' (~96 kB a second); a longer one is re-synthesised "
                                      "from its text (no new LLM request); 0 = never keep audio.")

    # --- asking by voice ---
    hotkey_talk: str = Field(
        "ctrl+alt+enter",
        description="Global hotkey to ask by voice (see talk_mode); empty = no talk hotkey. Pressing it while "
        "VoxTray speaks stops the speech first.",
    )
    talk_mode: Literal["toggle", "hold"] = Field(
        "toggle",
        description="toggle: press, speak, and the question is sent after a short pause (or press again); hold: "
        "speak while the combo is held, release to ask.",
    )
    talk_pause_s: float = Field(
        0.8, ge=0.2, le=5.0, description="In toggle mode, this much silence after speech sends the question."
    )
    talk_sentence_pause_s: float = Field(
        0.3, ge=0.0, le=5.0, description="In toggle mode, when what was heard is a finished sentence (ends with . ? "
        "!), this much silence sends it (0 = always wait talk_pause_s)."
    )
    talk_max_s: float = Field(30.0, ge=2.0, le=120.0, description="Longest spoken question; listening stops then.")
    talk_no_speech_s: float = Field(8.0, ge=1.0, le=60.0, description="In toggle mode, listening stops when no "
                                    "speech starts within this time.")
    input_device: str | int | None = Field(None, description="Microphone: device name (substring) or index; "
                                           "null = the system default.")
    stt_model: str = Field(
        "base",
        description="Speech recognition (faster-whisper) model: a size (tiny, base, small, medium, large-v3, and "
        ".en variants such as base.en; downloaded on first use) or the path of a local model folder (offline).",
    )
    stt_language: str = Field("auto", description="Language spoken to VoxTray (en, de, fr, ...), or auto to "
                              "detect it per question.")
    stt_device: Literal["cpu", "cuda", "auto"] = Field(
        "cpu",
        description="Where speech recognition runs: cpu keeps the GPU for XTTS; auto uses CUDA only when the VRAM "
        "guard says there is room.",
    )
    stt_compute_type: str = Field("int8", description="CTranslate2 compute type (int8, int8_float16, float16, ...).")
    stt_beam_size: int = Field(1, ge=1, le=10, description="Beam size (1 = greedy: fastest, fine for questions).")
    stt_preload: bool = Field(
        False, description="Load the speech model at start-up (else at the first talk press); it then stays loaded."
    )
    talk_debug_audio: bool = Field(
        False, description="Debugging: keep each spoken question as a WAV in the log folder (else audio stays in "
        "memory only)."
    )

    # --- remote LLM ---
    llm_api: Literal["auto", "ollama", "openai"] = Field("auto", description="Protocol of the remote LLM.")
    llm_model: str = Field("", description="Model name; empty = the first model the server lists.")
    llm_api_key: str = Field("", description="Bearer token for the LLM (or set VOXTRAY_LLM_API_KEY). Never logged.")
    llm_headers: dict[str, str] = Field(
        default_factory=lambda: {"ngrok-skip-browser-warning": "1"},
        description="Extra HTTP headers sent to the LLM.",
    )
    llm_connect_timeout_s: float = Field(5.0, gt=0, le=300, description="Seconds to connect to the LLM.")
    llm_first_token_timeout_s: float = Field(
        30.0, gt=0, le=3600, description="Seconds to wait for the first word of the answer (keep-alives do not count)."
    )
    llm_idle_timeout_s: float = Field(
        15.0, gt=0, le=3600, description="Longest gap between words of the answer before giving up (keep-alives and "
        "empty pieces do not count)."
    )
    llm_max_answer_s: float = Field(
        300.0, gt=0, le=3600, description="Longest time one answer may take; then what arrived is spoken and it is cut."
    )
    llm_max_answer_chars: int = Field(
        40000, ge=100, le=1_000_000, description="Longest answer read from the LLM (characters); the rest is cut."
    )
    llm_health_interval_s: float = Field(30.0, ge=0, le=86400, description="LLM health poll interval; 0 = off.")
    history_turns: int = Field(6, ge=0, le=100, description="Question/answer pairs remembered.")
    answers_kept: int = Field(20, ge=0, le=1000, description="Questions and answers kept in answers.json (per-user "
                              "data folder) for the tray's Show the last answer; 0 = none kept on disk.")
    speak_max_chars: int = Field(
        20000, ge=100, le=1_000_000, description="Longest text read aloud at once (characters, after cleanup); the "
        "rest is skipped with a short notice."
    )
    first_fragment_words: int = Field(
        3, ge=0, le=50, description="Start speaking a reply's first sentence at its first comma, colon, semicolon "
        "or dash once it has this many words (0 = wait for the whole sentence)."
    )
    system_prompt: str = Field("", description="Overrides the built-in prompt that asks for short spoken answers.")

    # --- GPU guard ---
    vram_poll_interval_s: float = Field(2.0, gt=0, le=3600, description="Seconds between VRAM readings.")
    xtts_vram_required_mb: int = Field(
        2500, ge=0, le=1_048_576, description="VRAM XTTS needs to load (refined after the first load)."
    )
    vram_low_water_mb: int = Field(
        400, ge=0, le=1_048_576, description="Free VRAM below this for vram_pressure_s unloads XTTS (when keep_warm)."
    )
    vram_high_water_mb: int = Field(
        3000, ge=0, le=1_048_576, description="Free VRAM above this for vram_pressure_s reloads XTTS."
    )
    vram_pressure_s: float = Field(5.0, ge=0, le=3600, description="How long a VRAM condition must hold before acting.")
    keep_warm: bool = Field(True, description="Unload/reload XTTS as other programs take and give back VRAM.")
    ollama_unload: bool = Field(True, description="Ask a local Ollama to unload its models when XTTS needs VRAM.")
    ollama_stop_processes: bool = Field(
        False, description="If unloading is not enough, stop this user's Ollama processes."
    )
    ollama_url: str = Field("http://127.0.0.1:11434", description="The local Ollama API.")
    ollama_process_names: list[str] = Field(
        default_factory=lambda: [
            "ollama",
            "ollama.exe",
            "ollama app.exe",
            "ollama_llama_server",
            "ollama_llama_server.exe",
        ],
        description="Process names (case-insensitive) the guard may stop.",
    )

    # --- desktop ---
    notifications: bool = Field(True, description="Show tray notifications for engine and LLM changes.")
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = Field("INFO", description="Log file level.")

    @field_validator("engine_order")
    @classmethod
    def _order_unique(cls, value: list[str]) -> list[str]:
        if not value:
            raise ValueError("must name at least one engine")
        if len(set(value)) != len(value):
            raise ValueError("must not repeat an engine")
        return value

    # --- derived values ---
    def edge_rate(self) -> str:
        """edge-tts's rate at speech_speed: (1 + edge_tts_rate) x speed, within its -50%..+100%."""
        percent = round((100 + int(self.edge_tts_rate[:-1])) * self.speech_speed) - 100
        return f"{max(-50, min(100, percent)):+d}%"

    def system_wpm(self) -> int:
        """The system voice's words per minute at speech_speed: system_rate x speed."""
        return max(50, min(500, round(self.system_rate * self.speech_speed)))

    def base_dir(self) -> Path:
        """Where relative paths start: the project folder, or the per-user data folder when installed."""
        return paths.home()

    def resolve(self, path: str) -> Path:
        """A settings path made absolute against base_dir()."""
        p = Path(path).expanduser()
        return p if p.is_absolute() else self.base_dir() / p

    @property
    def voices_path(self) -> Path:
        return self.resolve(self.voices_dir)

    @property
    def reference_path(self) -> Path:
        return self.resolve(self.cloning_reference_file)

    @property
    def voices_cache_path(self) -> Path:
        """Where the voices' speaker latents are cached (voices/.cache, or the per-user cache when installed)."""
        return paths.voices_cache_dir(self.voices_path)


def default_path() -> Path:
    """settings.json when --settings names none: the project's, or the per-user config folder's when installed."""
    return paths.settings_file()


def _describe_error(path: Path, err: ValidationError) -> str:
    """One message naming the file, the key and what is allowed."""
    first = err.errors()[0]
    key = ".".join(str(p) for p in first["loc"]) or "(top level)"
    typ = first["type"]
    if typ == "extra_forbidden":
        allowed = ", ".join(sorted(Settings.model_fields))
        return f"{path}: unknown key '{key}'. Known keys: {allowed}."
    field = Settings.model_fields.get(str(first["loc"][0])) if first["loc"] else None
    hint = f" ({field.description})" if field and field.description else ""
    got = first.get("input")
    return f"{path}: bad value for '{key}': {first['msg']}; got {json.dumps(got, default=str)}{hint}."


def parse(path: Path, text: str) -> Settings:
    """Validate settings text; raise SettingsError with one clear message."""
    try:
        data = json.loads(text.removeprefix("\ufeff"))
    except json.JSONDecodeError as exc:
        raise SettingsError(
            f"{path}: not valid JSON at line {exc.lineno}, column {exc.colno}: {exc.msg}. "
            "Fix the file (it was left untouched) or delete it to get the defaults."
        ) from None
    except RecursionError:
        raise SettingsError(f"{path}: nested too deeply to be settings; the file was left untouched.") from None
    if not isinstance(data, dict):
        raise SettingsError(f"{path}: the top level must be a JSON object {{...}}, got {type(data).__name__}.")
    data.pop("$schema", None)
    try:
        return Settings.model_validate(data)
    except ValidationError as exc:
        raise SettingsError(_describe_error(path, exc)) from None


def check_files(settings: Settings, path: Path) -> None:
    """Cross-checks that need the disk: the reference clip must exist when cloning is on."""
    if settings.use_local_cloning and not settings.reference_path.is_file():
        raise SettingsError(
            f"{path}: 'cloning_reference_file' points to {settings.reference_path}, which does not exist. "
            "Put a 10-20 s speech clip there, pick one from voices/, or set use_local_cloning to false."
        )


def decode(path: Path, data: bytes) -> str:
    """The text of settings.json: UTF-8, with or without the BOM Notepad writes; UTF-16 with a BOM (Notepad's
    "Unicode"); anything else (e.g. Latin-1) is one clear SettingsError."""
    if data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        try:
            return data.decode("utf-16")
        except UnicodeDecodeError:
            pass
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        raise SettingsError(
            f"{path}: is not UTF-8 text (byte 0x{data[exc.start]:02x} on line {line} cannot be read). Save it as "
            "UTF-8 (in Notepad: File > Save as > Encoding: UTF-8); the file was left untouched."
        ) from None


def load(path: Path | None = None, *, check: bool = True) -> Settings:
    """Read settings.json (creating it with defaults when missing); never modifies an existing file. The default
    file, when created, gets its schema beside it; the default voices folder is seeded on first use."""
    path = Path(path) if path else default_path()
    _seed_voices()
    if not path.exists():
        settings = Settings()
        try:
            save(settings, path)
            log.info("created %s with default settings", path)
            if path == default_path() and not path.with_name(SCHEMA_FILENAME).exists():
                write_schema(path.with_name(SCHEMA_FILENAME))
        except OSError as exc:  # an unwritable folder: run on the defaults, and say why nothing was saved
            log.warning("could not create %s (%s); using the default settings without saving them",
                        path, exc.strerror or exc)
    else:
        try:
            data = path.read_bytes()
        except OSError as exc:
            raise SettingsError(f"{path}: cannot be read: {exc.strerror}.") from None
        settings = parse(path, decode(path, data))
    if check:
        check_files(settings, path)
    return settings


def _seed_voices() -> None:
    """First use of a folder without voices/ (an installed VoxTray): the bundled sample voice, so the default
    cloning_reference_file exists. A folder that cannot be written is logged; check_files then says what to do."""
    folder = paths.home() / Settings.model_fields["voices_dir"].default
    try:
        if paths.seed_voices(folder):
            log.info("made %s with the bundled sample voice", folder)
    except OSError as exc:
        log.warning("could not make %s (%s)", folder, exc.strerror or exc)


def dump(settings: Settings) -> str:
    """Settings as the JSON text written to disk (with the schema reference for editors)."""
    data: dict[str, Any] = {"$schema": f"./{SCHEMA_FILENAME}"}
    data.update(settings.model_dump(mode="json"))
    return json.dumps(data, indent=2, ensure_ascii=False) + "\n"


def save(settings: Settings, path: Path | None = None) -> None:
    """Save settings atomically (temp file + replace)."""
    atomic_write_text(Path(path) if path else default_path(), dump(settings))


def update(path: Path, **changes: Any) -> Settings:
    """Re-read the file, apply changes, validate and save atomically; returns the new settings."""
    with file_lock(path):  # two writers (the daemon, a CLI verb) never lose each other's update
        current = load(path, check=False)
        data = current.model_dump()
        data.update(changes)
        try:
            merged = Settings.model_validate(data)
        except ValidationError as exc:
            raise SettingsError(_describe_error(path, exc)) from None
        save(merged, path)
        return merged


def json_schema() -> dict[str, Any]:
    """The JSON Schema of settings.json, for editors."""
    schema = Settings.model_json_schema()
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    schema["title"] = "VoxTray settings"
    schema.setdefault("properties", {})["$schema"] = {"type": "string"}
    return schema


def write_schema(path: Path | None = None) -> Path:
    """Write the JSON Schema next to settings.json."""
    target = path or default_path().with_name(SCHEMA_FILENAME)
    atomic_write_text(target, json.dumps(json_schema(), indent=2) + "\n")
    return target
