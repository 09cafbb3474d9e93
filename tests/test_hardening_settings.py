"""Issue 13 items 4 and 5, settings: real upper bounds (no 1e10 / Infinity timeouts that overflow settimeout),
encodings (Latin-1 is one clear line and exit 2; Notepad's UTF-8 BOM and UTF-16 are accepted), and an unwritable
folder never stops VoxTray from starting on the defaults."""

from __future__ import annotations

import codecs
import json
import logging
import os
import subprocess
import sys
from pathlib import Path

import pytest

from daemon import settings as S
from daemon.errors import SettingsError
from tests.conftest import ROOT


def run_cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "daemon", *args], cwd=ROOT, capture_output=True, text=True,
                          timeout=60, env={**os.environ}, check=False)


@pytest.mark.parametrize("key", ["llm_connect_timeout_s", "llm_first_token_timeout_s", "llm_idle_timeout_s",
                                 "llm_max_answer_s", "first_chunk_deadline_s", "vram_poll_interval_s"])
@pytest.mark.parametrize("value", ["1e10", "Infinity", "-Infinity", "NaN", "1e400"])
def test_huge_and_infinite_timeouts_are_rejected_naming_the_key(tmp_path: Path, key: str, value: str) -> None:
    path = tmp_path / "settings.json"
    path.write_text(f'{{"{key}": {value}}}')
    with pytest.raises(SettingsError) as info:
        S.load(path, check=False)
    message = str(info.value)
    assert f"bad value for '{key}'" in message and str(path) in message
    assert ("less than or equal" in message) if value == "1e10" else ("finite" in message or "greater" in message)


def test_every_number_has_a_real_upper_bound() -> None:
    schema = S.json_schema()["properties"]
    unbounded = [k for k, v in schema.items() if v.get("type") in ("number", "integer") and "maximum" not in v]
    assert unbounded == []


def test_the_cli_rejects_an_infinite_timeout_with_one_line_and_exit_2(tmp_path: Path) -> None:
    path = tmp_path / "settings.json"
    path.write_text('{"llm_idle_timeout_s": Infinity, "use_local_cloning": false}')
    proc = run_cli("--settings", str(path), "ask", "Hello?")
    lines = [ln for ln in proc.stderr.splitlines() if ln.startswith("voxtray:")]
    assert proc.returncode == 2 and "Traceback" not in proc.stderr
    assert len(lines) == 1 and "'llm_idle_timeout_s'" in lines[0] and "finite" in lines[0]


def test_a_latin1_file_is_one_clear_line_and_exit_2_and_left_untouched(tmp_path: Path) -> None:
    path = tmp_path / "settings.json"
    path.write_bytes('{"system_prompt": "Sei kurz und höflich", "use_local_cloning": false}'.encode("latin-1"))
    before = path.read_bytes()
    with pytest.raises(SettingsError) as info:
        S.load(path)
    assert "is not UTF-8 text (byte 0xf6 on line 1" in str(info.value) and "Save it as UTF-8" in str(info.value)
    proc = run_cli("--settings", str(path), "ask", "Hello?")
    lines = [ln for ln in proc.stderr.splitlines() if ln.startswith("voxtray:")]
    assert proc.returncode == 2 and "Traceback" not in proc.stderr and len(lines) == 1
    assert "not UTF-8" in lines[0]
    assert path.read_bytes() == before


@pytest.mark.parametrize(("bom", "encoding"), [(codecs.BOM_UTF8, "utf-8"), (codecs.BOM_UTF16_LE, "utf-16-le"),
                                                (codecs.BOM_UTF16_BE, "utf-16-be")])
def test_notepads_byte_order_marks_are_accepted(tmp_path: Path, bom: bytes, encoding: str) -> None:
    path = tmp_path / "settings.json"
    text = json.dumps({"system_prompt": "Sei kurz und höflich", "use_local_cloning": False}, ensure_ascii=False)
    path.write_bytes(bom + text.encode(encoding))
    loaded = S.load(path)
    assert loaded.system_prompt == "Sei kurz und höflich" and loaded.use_local_cloning is False
    assert S.parse(path, "\ufeff" + text).system_prompt == "Sei kurz und höflich"


def test_a_deeply_nested_file_is_a_clear_error(tmp_path: Path) -> None:
    path = tmp_path / "settings.json"
    path.write_text("[" * 100_000 + "]" * 100_000)
    with pytest.raises(SettingsError, match=r"nested too deeply|top level"):
        S.load(path)


def test_an_unwritable_folder_starts_on_the_defaults_with_a_warning(tmp_path: Path, caplog) -> None:
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("a file where the settings folder should be")
    path = blocker / "settings.json"
    with caplog.at_level(logging.WARNING, logger="daemon.settings"):
        loaded = S.load(path, check=False)
    assert loaded == S.Settings()
    assert f"could not create {path}" in caplog.text and "using the default settings" in caplog.text
