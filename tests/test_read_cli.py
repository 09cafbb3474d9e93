"""`python -m daemon read` as a user runs it: a real child process, espeak-ng, a WAV out, real X11 selections."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from daemon.audio import read_wav
from tests.conftest import ROOT
from tests.procs import stop_process

CLIPBOARD_APP = """import sys, tkinter as tk
root = tk.Tk(); root.clipboard_clear(); root.clipboard_append(sys.argv[1])
root.update(); print("ready", flush=True); root.mainloop()
"""


def run_read(tmp_path: Path, *args: str, display: str = "") -> subprocess.CompletedProcess[str]:
    settings = tmp_path / "settings.json"
    settings.write_text(json.dumps({"engine": "system", "use_local_cloning": False}))
    return subprocess.run([sys.executable, "-m", "daemon", "--settings", str(settings), "read", *args], cwd=ROOT,
                          capture_output=True, text=True, timeout=120, check=False,
                          env=dict(os.environ, DISPLAY=display))


def test_read_a_markdown_file_to_a_wav(tmp_path: Path) -> None:
    text = tmp_path / "notes.md"
    text.write_text("# Notes\n\nThis is **one** sentence. And `code` two.\n", encoding="utf-8-sig")
    out = tmp_path / "notes.wav"
    proc = run_read(tmp_path, str(text), "--out", str(out))
    assert proc.returncode == 0, proc.stderr
    samples, rate = read_wav(out)
    assert samples.size / rate > 1.0 and proc.stdout.startswith(f"wrote {out}")


def test_read_clipboard_and_nothing_to_read(tmp_path: Path, ask_display) -> None:
    owner = subprocess.Popen([sys.executable, "-c", CLIPBOARD_APP, "Copied words to read."], stdout=subprocess.PIPE,
                             text=True, env=dict(os.environ, DISPLAY=ask_display.name))
    try:
        assert owner.stdout is not None and owner.stdout.readline().strip() == "ready"
        out = tmp_path / "clip.wav"
        proc = run_read(tmp_path, "--out", str(out), display=ask_display.name)  # nothing selected: the clipboard
        assert proc.returncode == 0, proc.stderr
        assert "nothing selected; reading the clipboard" in proc.stderr
        assert read_wav(out)[0].size > 0
    finally:
        stop_process(owner)
    proc = run_read(tmp_path, "--clipboard", display=ask_display.name)
    assert (proc.returncode, proc.stderr.strip()) == (2, "voxtray: nothing to read: the clipboard holds no text")


def test_bad_input_is_one_line_and_exit_2(tmp_path: Path) -> None:
    binary = tmp_path / "x.bin"
    binary.write_bytes(b"\xff\xfe\x00\xd8abc\x00\x00")
    latin = tmp_path / "latin.txt"
    latin.write_bytes("caf\xe9".encode("latin-1"))
    empty = tmp_path / "empty.md"
    empty.write_text("  \n")
    for args, needle in [((str(tmp_path / "missing.txt"),), "does not exist"), ((str(latin),), "not UTF-8"),
                         ((str(empty),), "is empty"), ((str(empty), "--clipboard"), "not both"),
                         ((str(binary),), "not ")]:
        proc = run_read(tmp_path, *args)
        assert proc.returncode == 2 and needle in proc.stderr and len(proc.stderr.strip().splitlines()) == 1, args
