"""The check-up window's words: a summary line, everyday names, problems first, the fixes of this platform only.

Real: daemon/doctor.py's checks on this machine (Linux, no GPU) and the window's pure functions; the window itself
is driven under Xvfb in test_tray_dialogs_x11.py.
"""

from __future__ import annotations

from pathlib import Path

from daemon.desktop.setup_report import as_text, checklist, summary
from daemon.doctor import check_llm, run_checks
from daemon.settings import Settings

REPORT = [
    ("Python", "ok", "3.11.7", ""),
    ("edge-tts", "warn", "unreachable (timed out)", "needs internet; the system voice speaks offline"),
    ("XTTS model", "FAIL", "not downloaded yet", "right-click the tray icon > Get the cloned voice (XTTS v2)…"),
    ("remote LLM", "FAIL", "none set up", "right-click the tray icon > Set up the LLM…"),
    ("audio output", "ok", "default (48000 Hz)", ""),
]


def test_problems_come_first_in_everyday_words_with_a_summary() -> None:
    rows = checklist(REPORT)
    assert [(r.name, r.state) for r in rows] == [
        ("The LLM (answers)", "FAIL"), ("Cloned voice model", "FAIL"), ("Online voice (edge-tts)", "warn"),
        ("Speakers", "ok"), ("Python", "ok")]
    assert summary(REPORT) == "2 to fix (The LLM (answers) and 1 more), 1 to look at: start with the first one below."
    assert summary([r for r in REPORT if r[1] == "ok"]) == "Everything VoxTray needs works."
    assert summary([r for r in REPORT if r[1] != "FAIL"]) == "VoxTray works; 1 to look at below (Online voice (edge-tts))."
    text = as_text(REPORT)
    assert text.splitlines()[0] == summary(REPORT)
    assert "✖ The LLM (answers): none set up\n    → right-click the tray icon > Set up the LLM…" in text


def test_the_real_checks_give_fixes_for_this_platform_only(tmp_path: Path) -> None:
    report = run_checks(Settings(use_local_cloning=False, remote_llm_url=""), offline=True)
    by_name = {c.name: c for c in report}
    assert "VC++ runtime" not in by_name and "long paths" not in by_name, "Windows checks only on Windows"
    assert by_name["XTTS model"].state == "skip", "cloning off: no 'Get the cloned voice' advice"
    text = "\n".join(f"{c.detail} {c.fix}" for c in report)
    assert "on Windows" not in text and "(README)" not in text
    assert "Set up the LLM…" in check_llm(Settings(remote_llm_url="")).fix, "no URL: nothing leaves the computer"
    seen: list[tuple[int, int, str]] = []
    run_checks(Settings(use_local_cloning=False), offline=True, progress=lambda *a: seen.append(a))
    assert seen[0] == (0, len(report), "python") and seen[-1][0] == len(report) - 1, "progress before each check"
