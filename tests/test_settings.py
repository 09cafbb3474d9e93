"""settings.json: defaults, one clear message per bad value (exit 2, file untouched), atomic save."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from daemon import settings as S
from daemon.errors import SettingsError

ROOT = Path(__file__).resolve().parent.parent


def run_cli(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "daemon", *args], cwd=ROOT, capture_output=True, text=True, timeout=120,
        env={**os.environ, **(env or {})},
    )


def test_missing_file_is_created_with_defaults(tmp_path: Path) -> None:
    path = tmp_path / "settings.json"
    loaded = S.load(path, check=False)
    assert loaded == S.Settings()
    data = json.loads(path.read_text())
    assert data["use_local_cloning"] is True and data["$schema"] == "./settings.schema.json"
    assert S.load(path, check=False) == loaded


def test_committed_settings_and_schema_match_the_model() -> None:
    assert S.parse(ROOT / "settings.json", (ROOT / "settings.json").read_text()) == S.Settings()
    assert json.loads((ROOT / "settings.schema.json").read_text()) == S.json_schema()


BAD = [
    ("{ not json", "not valid JSON at line 1"),
    ('["a list"]', "top level must be a JSON object"),
    ('{"use_local_cloning": "maybe"}', "'use_local_cloning'"),
    ('{"engine": "bark"}', "'engine'"),
    ('{"engine_order": ["xtts", "piper"]}', "'engine_order.1'"),
    ('{"engine_order": []}', "'engine_order'"),
    ('{"xtts_first_chunk_tokens": 0}', "'xtts_first_chunk_tokens'"),
    ('{"edge_tts_rate": "fast"}', "'edge_tts_rate'"),
    ('{"volumee": 1}', "unknown key 'volumee'"),
    ('{"cloning_reference_file": "voices/nope.wav"}', "'cloning_reference_file'"),
]


@pytest.mark.parametrize(("text", "needle"), BAD)
def test_bad_settings_give_one_message_naming_the_key_and_leave_the_file(tmp_path: Path, text: str, needle: str) -> None:
    path = tmp_path / "settings.json"
    path.write_text(text)
    before = path.read_bytes()
    with pytest.raises(SettingsError) as info:
        S.load(path)
    assert needle in str(info.value) and str(path) in str(info.value)
    assert path.read_bytes() == before


def test_cli_exits_2_with_one_line_and_file_untouched(tmp_path: Path) -> None:
    path = tmp_path / "settings.json"
    path.write_text('{"engine": "bark"}')
    before = path.read_bytes()
    proc = run_cli("--settings", str(path), "say", "hi", "--out", str(tmp_path / "x.wav"))
    assert proc.returncode == 2
    lines = [ln for ln in proc.stderr.splitlines() if ln.startswith("voxtray:")]
    assert len(lines) == 1 and "'engine'" in lines[0] and "Traceback" not in proc.stderr
    assert path.read_bytes() == before


def test_save_is_atomic_when_the_write_crashes(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "settings.json"
    S.save(S.Settings(), path)
    before = path.read_bytes()

    def crash(*_a: object, **_k: object) -> None:
        raise OSError("disk yanked mid-write")

    monkeypatch.setattr(os, "fsync", crash)  # the crash happens after part of the temp file was written
    with pytest.raises(OSError):
        S.save(S.Settings(engine="edge"), path)
    assert path.read_bytes() == before
    assert [p.name for p in tmp_path.iterdir()] == ["settings.json"]  # no temp file left behind


def test_update_changes_one_key_and_keeps_the_rest(tmp_path: Path) -> None:
    path = tmp_path / "settings.json"
    S.save(S.Settings(edge_tts_voice="en-GB-SoniaNeural"), path)
    new = S.update(path, engine="system")
    assert new.engine == "system" and new.edge_tts_voice == "en-GB-SoniaNeural"
    assert S.load(path, check=False) == new


def test_update_with_bad_value_raises_settings_error_and_keeps_file(tmp_path: Path) -> None:
    path = tmp_path / "settings.json"
    S.save(S.Settings(), path)
    before = path.read_bytes()
    with pytest.raises(SettingsError, match="'engine'"):
        S.update(path, engine="bark")
    assert path.read_bytes() == before
