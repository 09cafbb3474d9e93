"""Is this recording a good XTTS voice reference? Measures and plain-words verdicts, one per property."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from daemon.voices.decoding import MAX_DECODE_S, Decoded, decode

OK, WARN, BAD = "ok", "warn", "bad"
FRAME_S = 0.02
SPEECH_GATE_DB = 30.0  # frames within this of the loudest count as speech (for trimming and duration)


@dataclass(frozen=True)
class Finding:
    """One measured property with its verdict: ok / warn / bad and what it means for the voice."""

    name: str
    value: str
    level: str
    words: str


@dataclass
class VoiceReport:
    path: Path
    duration_s: float
    speech_s: float
    rate: int
    channels: int
    level_db: float
    peak_db: float
    clipped_fraction: float
    leading_silence_s: float
    trailing_silence_s: float
    noise_db: float
    snr_db: float
    findings: list[Finding] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        """Usable as a reference (warnings allowed, nothing bad)."""
        return all(f.level != BAD for f in self.findings)

    def summary(self) -> str:
        mark = {OK: "ok  ", WARN: "warn", BAD: "BAD "}
        lines = [f"{self.path.name}: " + ("usable voice reference" if self.ok else "NOT usable as a voice reference")]
        lines += [f"  [{mark[f.level]}] {f.name}: {f.value} - {f.words}" for f in self.findings]
        return "\n".join(lines)

    def problems(self) -> str:
        return "; ".join(f"{f.name}: {f.words}" for f in self.findings if f.level == BAD)


def _db(x: float) -> float:
    return 20.0 * float(np.log10(x)) if x > 0 else -120.0


def frame_levels(mono: np.ndarray, rate: int) -> np.ndarray:
    """RMS level (dBFS) of consecutive 20 ms frames."""
    n = max(1, int(rate * FRAME_S))
    frames = mono[: mono.size // n * n].reshape(-1, n) if mono.size >= n else mono.reshape(1, -1)
    rms = np.sqrt(np.mean(np.square(frames, dtype=np.float64), axis=1))
    return np.where(rms > 0, 20.0 * np.log10(np.maximum(rms, 1e-12)), -120.0)


def speech_span(levels: np.ndarray) -> tuple[int, int] | None:
    """First and last (exclusive) frame loud enough to be speech, or None for silence."""
    if levels.size == 0 or levels.max() < -60.0:
        return None
    loud = np.flatnonzero(levels > max(levels.max() - SPEECH_GATE_DB, -60.0))
    return int(loud[0]), int(loud[-1]) + 1


def analyse(dec: Decoded, path: Path) -> VoiceReport:
    """Measure a decoded recording and give each property a verdict."""
    mono = dec.mono()
    rate = dec.rate
    levels = frame_levels(mono, rate)
    span = speech_span(levels)
    peak = float(np.max(np.abs(dec.samples))) if dec.samples.size else 0.0
    clipped = float(np.mean(np.abs(dec.samples) >= 0.999)) if dec.samples.size else 0.0
    if span is None:
        lead = trail = dec.duration_s
        speech_s, level, noise, snr = 0.0, -120.0, -120.0, 0.0
    else:
        lead, trail = span[0] * FRAME_S, max(0.0, dec.duration_s - span[1] * FRAME_S)
        speech_s = (span[1] - span[0]) * FRAME_S
        inside = levels[span[0] : span[1]]
        level = float(np.percentile(inside, 90))
        noise = float(np.percentile(levels, 10))
        snr = level - noise
    r = VoiceReport(path, dec.total_s, speech_s, rate, dec.channels, level, _db(peak), clipped, lead, trail, noise, snr)
    r.findings = _verdicts(r, dec.truncated)
    return r


def _verdicts(r: VoiceReport, truncated: bool) -> list[Finding]:
    f: list[Finding] = []
    s = r.speech_s
    if s == 0.0:
        f.append(Finding("speech", "none", BAD, "the file is silent; record 10-20 s of someone speaking"))
        return [*f, _rate(r), _channels(r)]
    dur = f"{s:.1f} s of speech" + (f" (file longer than {MAX_DECODE_S / 60:g} min, only the start read)" if truncated else "")
    if s < 6:
        f.append(Finding("duration", dur, BAD, "too short: XTTS needs at least 6 s; use 10-20 s"))
    elif s > 30:
        f.append(Finding("duration", dur, BAD, "too long: XTTS uses at most 30 s; cut a clean 10-20 s stretch"))
    elif s < 10 or s > 20:
        f.append(Finding("duration", dur, WARN, "usable; 10-20 s clones best"))
    else:
        f.append(Finding("duration", dur, OK, "ideal length"))
    if r.level_db < -40:
        f.append(Finding("level", f"{r.level_db:.0f} dBFS", WARN, "very quiet; it is normalised on import"))
    else:
        f.append(Finding("level", f"{r.level_db:.0f} dBFS", OK, "fine (normalised on import)"))
    pct = r.clipped_fraction * 100
    if pct > 0.5:
        f.append(Finding("clipping", f"{pct:.1f}% of samples", BAD, "badly clipped (distorted); record it quieter"))
    elif pct > 0.01:
        f.append(Finding("clipping", f"{pct:.2f}% of samples", WARN, "some clipping; the clone may sound harsh"))
    else:
        f.append(Finding("clipping", "none", OK, "no distortion"))
    edges = f"{r.leading_silence_s:.1f} s at the start, {r.trailing_silence_s:.1f} s at the end"
    long_edges = max(r.leading_silence_s, r.trailing_silence_s) > 1.0
    f.append(Finding("silence", edges, WARN if long_edges else OK, "trimmed on import" if long_edges else "fine"))
    f.append(_rate(r))
    f.append(_channels(r))
    noise = f"floor {r.noise_db:.0f} dBFS, speech {r.snr_db:.0f} dB above it"
    if r.snr_db < 12:
        f.append(Finding("noise", noise, BAD, "too much background noise; record somewhere quieter"))
    elif r.snr_db < 25:
        f.append(Finding("noise", noise, WARN, "audible background noise; the clone will copy it"))
    else:
        f.append(Finding("noise", noise, OK, "clean"))
    return f


def _rate(r: VoiceReport) -> Finding:
    if r.rate < 16000:
        return Finding("sample rate", f"{r.rate} Hz", WARN, "low (telephone quality); 22050 Hz or more is better")
    return Finding("sample rate", f"{r.rate} Hz", OK, "fine (converted to 24000 Hz on import)")


def _channels(r: VoiceReport) -> Finding:
    if r.channels > 1:
        return Finding("channels", str(r.channels), OK, "mixed down to mono on import")
    return Finding("channels", "1 (mono)", OK, "fine")


def check_file(path: Path) -> VoiceReport:
    """Decode and analyse a file (VoiceError when it is not readable audio)."""
    return analyse(decode(Path(path)), Path(path))
