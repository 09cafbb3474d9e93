"""The last answers kept (daemon/answerlog.py) and what of an answer was not read aloud (speech/unspoken.py).

Real: the store's file in a temp folder, its writer thread, child processes killed (SIGKILL) while they write, the
speech cleanup. Nothing is faked.
"""

from __future__ import annotations

import json
import logging
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from daemon.answerlog import AnswerLog
from daemon.speech.clean import clean
from daemon.speech.unspoken import spoken_parts

ROOT = Path(__file__).resolve().parent.parent
ANSWER = ("Use a loop.\n```python\nfor i in range(3):\n    print(i)\n```\nSee [the docs](https://docs.python.org/3/) "
          "or https://example.org/loops, and run `python -X dev app.py` or `pip`.\n| a | b |\n|---|---|\n| 1 | 2 |\n")


def test_the_parts_are_the_answer_and_split_it_as_the_speech_cleanup_reads_it() -> None:
    parts = spoken_parts(ANSWER)
    assert "".join(p for p, _ in parts) == ANSWER, "joined, the parts are the answer unchanged"
    skipped = [p for p, spoken in parts if not spoken]
    assert skipped == ["```python\nfor i in range(3):\n    print(i)\n```\n", "(https://docs.python.org/3/)",
                       "https://example.org/loops", "`python -X dev app.py`", "|---|---|\n"]
    spoken = "".join(p for p, s in parts if s)
    heard = clean(ANSWER)
    for word in ("loop", "docs", "pip"):  # what the cleanup reads is in the spoken parts
        assert word in heard and word in spoken
    assert "1, 2" in heard and "| 1 | 2 |" in spoken  # a table's row is read (its cells), its rule line is not
    for word in ("print", "range", "example.org", "python.org", "-X"):  # and what it drops is not
        assert word not in heard and word not in spoken


def test_an_unclosed_code_block_and_a_line_of_only_emoji_are_not_read() -> None:
    parts = spoken_parts("Here:\n🎉🎉\n~~~\nrm -rf /tmp/x\n")
    assert parts == [("Here:\n", True), ("🎉🎉\n~~~\nrm -rf /tmp/x\n", False)]
    assert clean("Here:\n🎉🎉\n~~~\nrm -rf /tmp/x\n").strip() == "Here:"


def test_the_store_keeps_the_last_n_across_a_restart_and_never_readings_or_more(tmp_path: Path) -> None:
    path = tmp_path / "answers.json"
    keep = [3]
    log = AnswerLog(lambda: keep[0], path)
    assert log.last() is None
    for i in range(5):
        log.record(f"question {i}", f"answer {i} ```code```", cancelled=i == 4)
    log.record("", "a secret the user selected", reading=True)
    assert log.wait_saved(10)
    assert log.last() is not None and log.last().reading  # type: ignore[union-attr]
    data = json.loads(path.read_text(encoding="utf-8"))
    assert [a["question"] for a in data["answers"]] == ["question 2", "question 3", "question 4"]
    assert {k for a in data["answers"] for k in a} == {"question", "text", "time", "cancelled", "truncated"}
    assert "secret" not in path.read_text(encoding="utf-8"), "texts read aloud stay in memory"
    if os.name == "posix":
        assert path.stat().st_mode & 0o077 == 0, "the user's questions are private to the user"

    again = AnswerLog(lambda: keep[0], path)  # a restart: read back from the file
    last = again.last()
    assert last is not None and (last.question, last.text, last.cancelled) == ("question 4", "answer 4 ```code```", True)
    keep[0] = 2  # fewer kept from now on: the file shrinks at the next answer
    again.record("question 5", "answer 5")
    assert again.wait_saved(10)
    assert [a.question for a in AnswerLog(lambda: 2, path).answers()] == ["question 4", "question 5"]
    keep[0] = 0  # none kept: the file holds none, the window still shows the one just given
    again.record("question 6", "answer 6")
    assert again.wait_saved(10)
    assert json.loads(path.read_text(encoding="utf-8"))["answers"] == []
    assert again.last() is not None and again.last().question == "question 6"  # type: ignore[union-attr]


def test_a_broken_file_is_logged_once_kept_aside_and_the_log_starts_afresh(
        tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    path = tmp_path / "answers.json"
    path.write_text('{"version": 1, "answers": [{"question": "half', encoding="utf-8")
    log = AnswerLog(lambda: 20, path)
    with caplog.at_level(logging.WARNING, logger="daemon.answerlog"):
        assert log.last() is None
        assert log.answers() == []
    assert len([r for r in caplog.records if "cannot be read" in r.getMessage()]) == 1
    assert (tmp_path / "answers.json.broken").read_text(encoding="utf-8").endswith('"half')
    log.record("q", "a")
    assert log.wait_saved(10)
    assert [a.question for a in AnswerLog(lambda: 20, path).answers()] == ["q"]


WRITER = """
import sys
from pathlib import Path
from daemon.answerlog import AnswerLog
log = AnswerLog(lambda: 5, Path(sys.argv[1]))
big = "x" * 40_000
print("ready", flush=True)
i = 0
while True:
    log.record(f"q{i}", f"{i} {big}")
    log.wait_saved(10)
    i += 1
"""


def test_the_file_is_never_half_written_when_the_daemon_is_killed_while_writing(tmp_path: Path) -> None:
    path = tmp_path / "answers.json"
    seen = -1
    for delay in (0.15, 0.3, 0.45, 0.6):
        proc = subprocess.Popen([sys.executable, "-c", WRITER, str(path)], cwd=ROOT, stdout=subprocess.PIPE)
        assert proc.stdout is not None and proc.stdout.readline().strip() == b"ready"
        reads, end = 0, time.monotonic() + delay
        while time.monotonic() < end:  # a reader meanwhile (the tray's window) sees whole files only
            try:
                json.loads(path.read_text(encoding="utf-8"))
                reads += 1
            except FileNotFoundError:
                pass  # before the first save
        assert reads > 10
        os.kill(proc.pid, signal.SIGKILL)  # mid-write, most likely: it writes 200 KB files back to back
        proc.wait(10)
        data = json.loads(path.read_text(encoding="utf-8"))  # whole: the old file or the new one, never a torn one
        numbers = [int(a["text"].split()[0]) for a in data["answers"]]
        assert 0 < len(numbers) <= 5 and numbers == sorted(numbers)
        assert numbers[-1] >= 0 and all(a["question"] == f"q{n}" for a, n in zip(data["answers"], numbers, strict=True))
        seen = max(seen, numbers[-1])
    assert seen > 0
    log = AnswerLog(lambda: 5, path)  # and the next start reads it back
    assert log.last() is not None
