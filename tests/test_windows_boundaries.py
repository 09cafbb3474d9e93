"""Windows-only rules checked on Linux as pure functions (the same code runs for real under Wine in tests_win/):
tray text limits in UTF-16 units, question-box placement on multi-monitor layouts, the session-end handlers,
and the shared atomic-write helper's retry on sharing violations (the OSError is FAKED here: Linux has none)."""

from __future__ import annotations

import errno
import os
from pathlib import Path

import pytest

from daemon import fsio
from daemon.desktop import traywin32
from daemon.desktop.placement import place


@pytest.mark.parametrize("limit", [63, 127, 255])
def test_fit_respects_utf16_units_and_never_splits_a_surrogate_pair(limit: int) -> None:
    for text in ("a" * 1000, "é" * 1000, "🎙️" * 400, "x" * (limit - 1) + "🎙️"):
        out = traywin32.fit(text, limit)
        assert traywin32.utf16_units(out) <= limit
        assert out.endswith("…")
        out.encode("utf-16-le")  # a lone surrogate would raise here
    assert traywin32.fit("short", limit) == "short"


def test_place_keeps_the_box_on_the_pointers_monitor_even_left_of_the_primary() -> None:
    left_monitor = (-1920, 0, 0, 1040)  # work area of a monitor left of the primary
    assert place((-1000, 500), left_monitor, (460, 72)) == (-1230, 516)
    assert place((-5, 1030), left_monitor, (460, 72)) == (-460, 968)  # clamped at its right and bottom edges
    assert place((-1919, 10), left_monitor, (460, 72)) == (-1920, 26)
    above = (0, -1080, 1920, 0)
    assert place((100, -50), above, (920, 144)) == (0, -144)


def test_replace_retries_sharing_violations_then_says_what_to_do(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[int] = []
    real = os.replace

    def flaky(src: str, dst: str) -> None:
        calls.append(1)
        if len(calls) < 3:
            exc = PermissionError(errno.EACCES, "sharing violation")
            exc.winerror = 32  # type: ignore[attr-defined]
            raise exc
        real(src, dst)

    monkeypatch.setattr(fsio.sys, "platform", "win32")
    monkeypatch.setattr(fsio.os, "replace", flaky)
    target = tmp_path / "a.json"
    fsio.atomic_write_text(target, "new")
    assert target.read_text() == "new" and len(calls) == 3

    def always(_src: str, _dst: str) -> None:
        calls.append(1)
        exc = PermissionError(errno.EACCES, "sharing violation")
        exc.winerror = 32  # type: ignore[attr-defined]
        raise exc

    calls.clear()
    monkeypatch.setattr(fsio.os, "replace", always)
    with pytest.raises(PermissionError, match=r"another program keeps .* open"):
        fsio.atomic_write(target, lambda tmp: tmp.write_text("newer"), delays=(0.0, 0.0))
    assert target.read_text() == "new" and len(calls) == 3
    assert [p.name for p in tmp_path.iterdir()] == ["a.json"], "the temp file is removed"


def test_a_real_permission_error_on_linux_is_not_retried(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[int] = []

    def denied(_src: str, _dst: str) -> None:
        calls.append(1)
        raise PermissionError(errno.EACCES, "Permission denied")

    monkeypatch.setattr(fsio.os, "replace", denied)
    with pytest.raises(PermissionError, match="Permission denied"):
        fsio.atomic_write_text(tmp_path / "b.json", "x")
    assert calls == [1] and not list(tmp_path.iterdir())


def test_torchcodec_failing_with_runtimeerror_means_xtts_unavailable_not_a_crash(monkeypatch: pytest.MonkeyPatch) -> None:
    """On Windows, torchcodec raises RuntimeError (not ImportError) when FFmpeg's DLLs are missing; `import TTS`
    probes it. FAKED here by a finder that raises that RuntimeError for `TTS` (FFmpeg DLLs exist only on Windows)."""
    import importlib.abc
    import sys

    from daemon.errors import EngineUnavailableError
    from daemon.settings import Settings
    from daemon.speech.xtts import model as xtts_model

    class Broken(importlib.abc.MetaPathFinder):
        def find_spec(self, name: str, path: object = None, target: object = None) -> None:
            if name == "TTS":
                raise RuntimeError("Could not load libtorchcodec. FFmpeg is not properly installed")
            return None

    monkeypatch.delitem(sys.modules, "TTS", raising=False)
    monkeypatch.setattr(sys, "meta_path", [Broken(), *sys.meta_path])
    with pytest.raises(EngineUnavailableError, match="XTTS cannot run: Could not load libtorchcodec"):
        xtts_model.acquire(Settings(use_local_cloning=True))
