"""Voice import and validation on real recordings (LJ Speech WAV, MP3 with an ID3 tag, FLAC) and on bad inputs
made from them. Real PyAV decoding, real files; nothing faked.
"""

from __future__ import annotations

import os
import wave
from pathlib import Path

import numpy as np
import pytest

from daemon.__main__ import main
from daemon.audio import read_wav, resample, write_wav
from daemon.errors import VoiceError
from daemon.settings import Settings
from daemon.voices import VOICE_RATE, VoiceLibrary, VoiceRef, safe_name
from daemon.voices.decoding import load_mono


@pytest.fixture
def library(tmp_path: Path) -> VoiceLibrary:
    return VoiceLibrary(Settings(voices_dir=str(tmp_path / "voices")))


def _lj(ljspeech: Path, *names: str) -> np.ndarray:
    return np.concatenate([load_mono(ljspeech / n, 22050) for n in names])


def _voices_dir_is_clean(lib: VoiceLibrary, expected: set[str]) -> None:
    present = {p.name for p in lib.folder.iterdir()} if lib.folder.exists() else set()
    assert present == expected, f"unexpected files left in voices/: {present - expected}"


@pytest.mark.parametrize("clip", ["LJ001-0001.wav", "LJ001-0009.mp3", "LJ001-0010.flac"])
def test_lj_clips_in_every_format_import_as_24k_mono_normalised_wavs(
    library: VoiceLibrary, ljspeech: Path, clip: str
) -> None:
    report = library.check(ljspeech / clip)
    assert report.ok and report.rate == 22050 and report.channels == 1
    assert 6 < report.speech_s < 10
    seen: list[VoiceRef] = []
    info = library.add(ljspeech / clip, precompute=seen.append)
    assert info.path == library.folder / f"{Path(clip).stem}.wav"
    assert seen == [VoiceRef(info.name, info.path)] and "precomputed" in info.note
    samples, rate = read_wav(info.path)
    assert rate == VOICE_RATE
    assert abs(samples.size / rate - report.speech_s) < 0.6, "only the speech (plus a little room) is kept"
    rms_db = 20 * np.log10(np.sqrt(np.mean(samples.astype(np.float64) ** 2)))
    assert -23 < rms_db < -17 and np.abs(samples).max() < 0.95
    assert [v.name for v in library.list()] == [info.name]
    assert library.find(info.name.upper()).path == info.path


def test_a_two_second_clip_is_too_short(library: VoiceLibrary, ljspeech: Path) -> None:
    report = library.check(ljspeech / "LJ001-0002.wav")
    assert not report.ok and "too short" in report.summary()
    with pytest.raises(VoiceError, match="too short"):
        library.add(ljspeech / "LJ001-0002.wav")
    _voices_dir_is_clean(library, set())


def test_five_minutes_of_audio_is_too_long(library: VoiceLibrary, ljspeech: Path, tmp_path: Path) -> None:
    speech = _lj(ljspeech, *(f"LJ001-000{i}.wav" for i in range(1, 9)))
    long = np.tile(speech, int(300 * 22050 / speech.size) + 1)[: 300 * 22050]
    write_wav(tmp_path / "long.wav", long, 22050)
    report = library.check(tmp_path / "long.wav")
    assert not report.ok and 290 < report.duration_s < 301 and "too long" in report.problems()
    with pytest.raises(VoiceError, match="too long"):
        library.add(tmp_path / "long.wav")
    _voices_dir_is_clean(library, set())


def test_silence_is_refused(library: VoiceLibrary, tmp_path: Path) -> None:
    write_wav(tmp_path / "silence.wav", np.zeros(15 * 22050, dtype=np.float32), 22050)
    report = library.check(tmp_path / "silence.wav")
    assert not report.ok and "silent" in report.summary()
    with pytest.raises(VoiceError, match="silent"):
        library.add(tmp_path / "silence.wav")
    _voices_dir_is_clean(library, set())


def test_a_clipped_recording_is_refused(library: VoiceLibrary, ljspeech: Path, tmp_path: Path) -> None:
    loud = np.clip(_lj(ljspeech, "LJ001-0001.wav", "LJ001-0004.wav") * 12.0, -1.0, 1.0)
    write_wav(tmp_path / "clipped.wav", loud, 22050)
    report = library.check(tmp_path / "clipped.wav")
    assert not report.ok and "clipped" in report.problems()
    with pytest.raises(VoiceError, match="clipped"):
        library.add(tmp_path / "clipped.wav")
    _voices_dir_is_clean(library, set())


def test_stereo_48k_is_mixed_to_mono_24k(library: VoiceLibrary, ljspeech: Path, tmp_path: Path) -> None:
    mono = resample(_lj(ljspeech, "LJ001-0001.wav", "LJ001-0004.wav"), 22050, 48000)
    stereo = np.stack([mono, mono * 0.5], axis=1)
    with wave.open(str(tmp_path / "stereo.wav"), "wb") as w:
        w.setnchannels(2)
        w.setsampwidth(2)
        w.setframerate(48000)
        w.writeframes((np.clip(stereo, -1, 1) * 32767).astype(np.int16).tobytes())
    report = library.check(tmp_path / "stereo.wav")
    assert report.ok and report.rate == 48000 and report.channels == 2
    assert "mixed down to mono" in report.summary() and "ideal length" in report.summary()
    info = library.add(tmp_path / "stereo.wav", name="Stereo Voice")
    assert info.name == "Stereo-Voice"
    samples, rate = read_wav(info.path)
    assert rate == VOICE_RATE and samples.ndim == 1 and 13 < samples.size / rate < 16


def test_a_text_file_renamed_wav_is_not_audio(library: VoiceLibrary, tmp_path: Path) -> None:
    fake = tmp_path / "notes.wav"
    fake.write_text("these are my notes, not a recording\n" * 20)
    with pytest.raises(VoiceError, match="not an audio file"):
        library.check(fake)
    with pytest.raises(VoiceError, match="not an audio file"):
        library.add(fake)
    _voices_dir_is_clean(library, set())


def test_path_tricks_in_names_stay_inside_voices(library: VoiceLibrary, ljspeech: Path, tmp_path: Path) -> None:
    assert safe_name("../../etc/passwd") == "passwd"
    assert safe_name("..\\..\\evil.wav") == "evil"
    assert safe_name("...") == "voice"
    info = library.add(ljspeech / "LJ001-0010.flac", name="../../escaped")
    assert info.path.parent == library.folder and info.name == "escaped"
    assert not (tmp_path / "escaped.wav").exists() and not (library.folder.parent.parent / "escaped.wav").exists()
    with pytest.raises(VoiceError, match="already exists"):
        library.add(ljspeech / "LJ001-0009.mp3", name="escaped")
    # A source path written with ../ is just a path: it resolves, or fails with a plain message.
    rel = Path(os.path.relpath(ljspeech / "LJ001-0009.mp3", Path.cwd()))
    assert library.add(rel, name="from-relative").path.is_file()
    with pytest.raises(VoiceError, match="no such file"):
        library.add(Path("../../no/such/voice.wav"))
    _voices_dir_is_clean(library, {"escaped.wav", "from-relative.wav"})


def test_a_failed_write_leaves_nothing_behind(
    library: VoiceLibrary, ljspeech: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import daemon.voices.library as voices_mod

    def broken_write(path: Path, samples: np.ndarray, rate: int) -> None:
        path.write_bytes(b"RIFF half")  # half a file, then the disk "fills up"
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(voices_mod, "write_wav", broken_write)
    with pytest.raises(OSError):
        library.add(ljspeech / "LJ001-0001.wav")
    _voices_dir_is_clean(library, set())


def test_find_names_the_known_voices_when_one_is_missing(library: VoiceLibrary, ljspeech: Path) -> None:
    library.add(ljspeech / "LJ001-0001.wav", name="alice")
    with pytest.raises(VoiceError, match=r"no voice 'bob'\. Known voices: alice\. Add one with"):
        library.find("bob")
    assert library.find(str(ljspeech / "LJ001-0003.wav")).name == "LJ001-0003"


def test_voices_cli_lists_checks_and_adds(
    tmp_path: Path, ljspeech: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    settings_file = tmp_path / "settings.json"
    settings_file.write_text(f'{{"voices_dir": "{tmp_path / "voices"}", "use_local_cloning": false}}')
    base = ["--settings", str(settings_file), "voices"]
    assert main([*base, "check", str(ljspeech / "LJ001-0002.wav")]) == 2
    assert "too short" in capsys.readouterr().out
    assert main([*base, "add", str(ljspeech / "LJ001-0010.flac"), "--name", "flac voice"]) == 0
    assert "added voice 'flac-voice'" in capsys.readouterr().out
    assert main([*base, "list"]) == 0
    assert "flac-voice" in capsys.readouterr().out
    assert main([*base, "add", str(tmp_path / "missing.wav")]) == 2
    assert "no such file" in capsys.readouterr().err


@pytest.mark.parametrize(("raw", "name"), [("Zoë Smith.wav", "Zoë-Smith"), ("Иван", "Иван"), ("李雷", "李雷"),
                                          ("CON", "CON-voice"), ("../../etc/passwd", "passwd"), ("a b*c?.mp3", "a-b-c"),
                                          ("😀", "voice")])
def test_voice_names_keep_letters_of_any_script_safely(raw: str, name: str) -> None:
    assert safe_name(raw) == name
