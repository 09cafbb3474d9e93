"""The speech recogniser: one faster-whisper (CTranslate2) model, loaded once and kept warm.

    rec = Recognizer.from_settings(settings, progress=print)   # nothing loads yet
    rec.load()                      # idempotent and thread-safe; a size name is downloaded first (with progress)
    heard = rec.transcribe(audio)   # float32 mono 16 kHz -> Transcript(text, language, seconds, audio_s)
    heard = rec.transcribe_file(path)   # any format PyAV reads
    future = rec.submit(audio)      # the same on the recogniser's own thread ("stt"), one job at a time
    rec.close()

`stt_model` is a size (tiny, base, small, ... and .en variants: downloaded once into the Hugging Face cache, with
progress reported to `progress`) or the path of a local CTranslate2 Whisper folder (model.bin, config.json,
tokenizer.json; works offline). CPU int8 by default, so the GPU stays XTTS's; `stt_device: auto` takes CUDA only
when `headroom()` says the VRAM guard has room. Silence is trimmed by faster-whisper's built-in Silero VAD.

Whisper's encoder sees a 30 s window (most of the cost on a CPU: 1.15 s of a 2-core CPU for base int8).
`_OneEncode` gives it a window fitted to the audio instead (the audio and 2 s more, at least 10 s: 0.2 s for a
short question; CTranslate2 takes any even length), which recognises the LJ Speech and espeak test questions
as well as the 30 s window does (bench/stt_latency.py prints the word error rate of both, "before" beside it). Windows much shorter than 10 s make the
decoder repeat itself, so 10 s is the floor, and the tokens per recognition are bounded by the audio's length
(`max_tokens`), so a loop costs a fraction of a second, not 30 s. It also keeps the encoder's last output:
faster-whisper's language detection encodes the window once to detect the language and once again to
transcribe, so with `stt_language: auto` each question is still encoded once.
"""

from __future__ import annotations

import logging
import os
import threading
import time
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from daemon import paths
from daemon.errors import EngineUnavailableError, MissingRuntimeError, SettingsError
from daemon.listen import RATE, whisperlib
from daemon.winruntime import explain_import_error

log = logging.getLogger(__name__)

MODEL_FILES = ("model.bin", "config.json", "tokenizer.json")
DOWNLOAD_PATTERNS = ["config.json", "preprocessor_config.json", "model.bin", "tokenizer.json", "vocabulary.*"]
Progress = Callable[[str], None]
FRAMES_PER_S = 100  # Whisper's mel frames per second of audio
WINDOW_FRAMES = 3000  # the 30 s window Whisper was trained on
MIN_WINDOW_FRAMES = 1000  # shorter windows make the decoder repeat a phrase (measured: 5 s windows loop)
WINDOW_MARGIN_FRAMES = 200


def window_frames(samples: int) -> int:
    """The encoder window for `samples` of 16 kHz audio: the audio and 2 s more, 10 s at least, 30 s at most."""
    frames = samples * FRAMES_PER_S // RATE + WINDOW_MARGIN_FRAMES
    return min(WINDOW_FRAMES, max(MIN_WINDOW_FRAMES, frames + frames % 2))


def max_tokens(samples: int) -> int:
    """Tokens one recognition may produce: 12 per second of audio (fast speech is ~5) and 16 more."""
    return min(440, 16 + 12 * samples // RATE)


class RecognizerError(EngineUnavailableError):
    """The speech model cannot be found, downloaded or loaded (the message says what to do)."""


@dataclass(frozen=True)
class Transcript:
    text: str
    language: str
    seconds: float  # time spent recognising
    audio_s: float  # length of the audio

    @property
    def rtf(self) -> float:
        return self.seconds / self.audio_s if self.audio_s > 0 else 0.0


def sizes() -> list[str]:
    return list(whisperlib.load("faster_whisper.utils").available_models())


def model_source(value: str, base_dir: Path) -> tuple[str, Path | None]:
    """('size', None) for a size name, ('folder', path) for a local model folder; SettingsError otherwise."""
    value = value.strip()
    known = sizes()
    if value in known:
        return value, None
    path = Path(value).expanduser()
    path = path if path.is_absolute() else base_dir / path
    if path.is_dir():
        missing = [f for f in MODEL_FILES if not (path / f).is_file()]
        if missing:
            raise SettingsError(f"'stt_model' points to {path}, which lacks {', '.join(missing)}: a faster-whisper "
                                "(CTranslate2) model folder holds model.bin, config.json, tokenizer.json and "
                                "vocabulary.json.")
        return str(path), path
    raise SettingsError(f"'stt_model' is {value!r}: neither a model size ({', '.join(known)}) nor an existing "
                        "folder.")


def _repo_for(size: str) -> str:
    return str(whisperlib.load("faster_whisper.utils")._MODELS[size])


def download(size: str, progress: Progress | None = None) -> Path:
    """The folder of a size's model: from the Hugging Face cache, else downloaded with progress reports."""
    import huggingface_hub
    from huggingface_hub import constants

    repo = _repo_for(size)
    try:
        return Path(huggingface_hub.snapshot_download(repo, allow_patterns=DOWNLOAD_PATTERNS, local_files_only=True))
    except Exception:
        pass  # not cached yet
    say = progress or (lambda text: log.info("%s", text))
    total = 0
    try:
        info = huggingface_hub.HfApi().model_info(repo, files_metadata=True)
        total = sum(int(s.size or 0) for s in info.siblings or [] if s.rfilename in ("model.bin", "tokenizer.json",
                                                                                   "config.json", "vocabulary.txt",
                                                                                   "vocabulary.json"))
    except Exception as exc:
        raise RecognizerError(f"the speech model '{size}' is not downloaded yet and cannot be downloaded ({exc}). "
                              "Connect to the internet once, or set stt_model to a local model folder.") from None
    blobs = Path(constants.HF_HUB_CACHE) / f"models--{repo.replace('/', '--')}" / "blobs"
    done = threading.Event()

    def watch() -> None:
        last = -1
        while not done.wait(0.5):
            got = sum(p.stat().st_size for p in blobs.glob("*") if p.is_file()) if blobs.is_dir() else 0
            pct = min(99, int(100 * got / total)) if total else 0
            if pct != last:
                say(f"Downloading speech model '{size}': {got / 2**20:.0f} of {total / 2**20:.0f} MB ({pct} %)")
                last = pct

    say(f"Downloading speech model '{size}' ({total / 2**20:.0f} MB, once) from {repo}")
    watcher = threading.Thread(target=watch, name="stt-download", daemon=True)
    watcher.start()
    try:
        path = Path(huggingface_hub.snapshot_download(repo, allow_patterns=DOWNLOAD_PATTERNS))
    except Exception as exc:
        raise RecognizerError(f"downloading the speech model '{size}' failed ({exc}). Try again, or set stt_model "
                              "to a local model folder.") from None
    finally:
        done.set()
        watcher.join(1.0)
    say(f"Downloaded speech model '{size}' to {path}")
    return path


def _one_encode_class() -> type:
    WhisperModel: Any = whisperlib.load("faster_whisper").WhisperModel

    class _OneEncode(WhisperModel):  # type: ignore[misc,valid-type]
        """Encodes a window fitted to the audio (`frames`), once, also when the language is detected first."""

        _memo: tuple[np.ndarray, Any] | None = None
        frames = WINDOW_FRAMES

        def detect_language(self, audio: Any = None, features: Any = None, **kw: Any) -> Any:
            if audio is None and features is not None and features.shape[-1] > 1:
                features = features[..., : features.shape[-1] - 1]  # the window transcription will encode
            return super().detect_language(audio=audio, features=features, **kw)

        def encode(self, features: np.ndarray) -> Any:
            if features.shape[-1] > self.frames:
                features = np.ascontiguousarray(features[..., : self.frames])
            memo = self._memo
            if memo is not None and memo[0].shape == features.shape and np.array_equal(memo[0], features):
                return memo[1]
            out = super().encode(features)
            self._memo = (np.array(features, copy=True), out)
            return out

    return _OneEncode


def collapse_repeats(text: str, min_words: int = 2) -> str:
    """A phrase said twice or more in a row, kept once: Whisper's decoder loop ("Yes. Yes. Yes.") on a short
    stretch. Phrases of `min_words` words or more only, compared without case and punctuation, so "very, very"
    stays; a speaker who really repeats a whole phrase at once loses the repeat, which an LLM does not need."""
    words = text.split()
    keys = ["".join(ch for ch in w.lower() if ch.isalnum()) for w in words]
    i = 0
    while i < len(words):
        for n in range(min_words, (len(words) - i) // 2 + 1):
            if keys[i:i + n] == keys[i + n:i + 2 * n] and any(keys[i:i + n]):
                del words[i:i + n], keys[i:i + n]  # the last copy stays: its punctuation leads on
                break
        else:
            i += 1
    return " ".join(words)


def spoken_language(setting: str) -> str | None:
    """stt_language as Whisper takes it: a language code, or None to detect it ("auto" or empty)."""
    value = setting.strip().lower()
    return None if value in ("", "auto") else value


class Recognizer:
    """Loads lazily (or on `load()`), then transcribes one question at a time."""

    def __init__(self, model: str = "base", *, device: str = "cpu", compute_type: str = "int8",
                 language: str = "auto", beam_size: int = 1, base_dir: Path | None = None, cpu_threads: int = 0,
                 progress: Progress | None = None, headroom: Callable[[], bool] | None = None,
                 fitted_window: bool = True) -> None:
        self.model_name = model
        self.device = device
        self.compute_type = compute_type
        self.language = spoken_language(language)
        self.beam_size = beam_size
        self.base_dir = base_dir or Path.cwd()
        self.cpu_threads = cpu_threads or min(4, os.cpu_count() or 1)
        self.progress = progress
        self.headroom = headroom
        self.fitted_window = fitted_window  # False: always the 30 s window (bench/stt_latency.py's "before")
        self.state = "not loaded"  # not loaded | loading | warm | failed
        self.error = ""
        self.load_s: float | None = None
        self._model: Any = None
        self._lock = threading.Lock()  # one load / one transcription at a time
        self._executor: ThreadPoolExecutor | None = None

    @classmethod
    def from_settings(cls, settings: Any, **kw: Any) -> Recognizer:
        return cls(settings.stt_model, device=settings.stt_device, compute_type=settings.stt_compute_type,
                   language=settings.stt_language, beam_size=settings.stt_beam_size, base_dir=settings.base_dir(),
                   **kw)

    def on_disk(self) -> bool:
        """Whether loading needs no download: a model folder, or a size already in the Hugging Face cache.

        Raises SettingsError for an stt_model that is neither."""
        kind, folder = model_source(self.model_name, self.base_dir)
        if folder is not None:
            return True
        try:
            import huggingface_hub

            huggingface_hub.snapshot_download(_repo_for(kind), allow_patterns=DOWNLOAD_PATTERNS,
                                              local_files_only=True)
        except Exception:
            return False
        return True

    @property
    def loaded(self) -> bool:
        return self._model is not None

    def load(self) -> None:
        """Load (downloading a named size first) and warm up; raises RecognizerError / SettingsError."""
        if self._model is not None:
            return
        with self._lock:
            if self._model is not None:
                return
            self.state = "loading"
            t0 = time.monotonic()
            try:
                self._model = self._build()
            except (RecognizerError, SettingsError) as exc:
                self.state, self.error = "failed", str(exc)
                raise
            except MissingRuntimeError as exc:  # already one sentence naming the Redistributable (whisperlib)
                self.state, self.error = "failed", str(exc)
                raise RecognizerError(str(exc)) from None
            except Exception as exc:  # RuntimeError from CTranslate2, ImportError, ...
                why = explain_import_error(exc)  # ctranslate2 without msvcp140.dll: name the Redistributable
                self.state, self.error = "failed", why or f"{type(exc).__name__}: {exc}"
                raise RecognizerError(why or f"the speech model could not be loaded ({self.error}); check "
                                      f"stt_model and `{paths.command()} doctor`.") from None
            self._transcribe_locked(np.zeros(RATE // 2, dtype=np.float32))  # first call pays one-time costs
            self.load_s = time.monotonic() - t0
            self.state = "warm"
            log.info("speech model %s loaded and warm in %.1f s (%s, %s)", self.model_name, self.load_s,
                     self.device, self.compute_type)

    def _build(self) -> Any:
        kind, folder = model_source(self.model_name, self.base_dir)
        path = folder if folder is not None else download(kind, self.progress)
        device = self.device
        if device == "auto":
            device = "cuda" if self._cuda_ok() else "cpu"
        compute = self.compute_type
        if device == "cpu" and "float16" in compute:
            compute = "int8"
        cls = _one_encode_class()
        return cls(str(path), device=device, compute_type=compute, cpu_threads=self.cpu_threads)

    def _cuda_ok(self) -> bool:
        try:
            import ctranslate2

            if ctranslate2.get_cuda_device_count() < 1:
                return False
        except Exception:
            return False
        return bool(self.headroom()) if self.headroom is not None else False

    def load_async(self) -> Future[None]:
        return self._pool().submit(self.load)

    def transcribe(self, audio: np.ndarray, language: str | None = None) -> Transcript:
        self.load()
        with self._lock:
            return self._transcribe_locked(audio, language)

    def _decode(self, audio: np.ndarray, language: str | None, **options: Any) -> tuple[list[Any], Any]:
        """One faster-whisper run (lock held) on the window fitted to `audio`, its tokens bounded by its length:
        the segments (decoded here, while the window is this audio's) and the run's info."""
        self._model.frames = window_frames(audio.size) if self.fitted_window else WINDOW_FRAMES
        try:
            segments, info = self._model.transcribe(
                audio, language=language or self.language, beam_size=self.beam_size,
                condition_on_previous_text=False, max_new_tokens=max_tokens(audio.size), **options)
            return list(segments), info
        finally:
            self._model._memo = None  # only within one run: never answer new audio from an old window

    def _transcribe_locked(self, audio: np.ndarray, language: str | None = None) -> Transcript:
        audio = np.asarray(audio, dtype=np.float32).reshape(-1)
        t0 = time.monotonic()
        segments, info = self._decode(
            audio, language, vad_filter=True, without_timestamps=True, temperature=(0.0, 0.4),
            vad_parameters={"min_silence_duration_ms": 500, "speech_pad_ms": 200})
        text = collapse_repeats(" ".join(s.text.strip() for s in segments).strip())
        return Transcript(text, str(info.language), time.monotonic() - t0, audio.size / RATE)

    def words(self, audio: np.ndarray, language: str | None = None) -> list[tuple[str, float, float]]:
        """(word, start s, end s) of everything said in `audio` (16 kHz), no VAD trim: for checking what a voice
        said (daemon/speech/check.py), babble included."""
        audio = np.asarray(audio, dtype=np.float32).reshape(-1)
        self.load()
        with self._lock:
            segments, _info = self._decode(audio, language, vad_filter=False, word_timestamps=True, temperature=0.0)
        return [(w.word.strip(), float(w.start), float(w.end)) for seg in segments for w in (seg.words or [])]

    def transcribe_file(self, path: Path, language: str | None = None) -> Transcript:
        return self.transcribe(decode_file(path), language)

    def submit(self, audio: np.ndarray, language: str | None = None) -> Future[Transcript]:
        return self._pool().submit(self.transcribe, audio, language)

    def _pool(self) -> ThreadPoolExecutor:
        if self._executor is None:
            self._executor = ThreadPoolExecutor(1, thread_name_prefix="stt")
        return self._executor

    def close(self) -> None:
        if self._executor is not None:
            self._executor.shutdown(wait=False, cancel_futures=True)
            self._executor = None
        self._model = None
        self.state = "not loaded"


def decode_file(path: Path) -> np.ndarray:
    """Any audio file PyAV reads, as float32 mono 16 kHz."""
    from daemon.errors import BadInputError

    if not Path(path).is_file():
        raise BadInputError(f"{path}: no such audio file")
    try:
        decode_audio = whisperlib.load("faster_whisper.audio").decode_audio
        return np.asarray(decode_audio(str(path), sampling_rate=RATE), dtype=np.float32)
    except Exception as exc:
        raise BadInputError(f"{path}: cannot be read as audio ({type(exc).__name__}: {exc})") from None
