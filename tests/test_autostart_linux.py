"""XDG autostart for real: .desktop files in a temp XDG_CONFIG_HOME, checked by desktop-file-validate, and
`python install_service.py install|status|uninstall` run as the user would run it."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from daemon.desktop import autostart
from daemon.desktop.autostart.xdg import XdgAutostart

ROOT = Path(__file__).resolve().parent.parent


def validate(path: Path) -> None:
    tool = shutil.which("desktop-file-validate")
    if tool is None:
        pytest.fail("desktop-file-validate is missing (apt: desktop-file-utils)")
    result = subprocess.run([tool, str(path)], capture_output=True, text=True, check=False)
    assert result.returncode == 0 and not result.stdout.strip(), result.stdout + result.stderr


def cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "install_service.py", *args], cwd=ROOT, capture_output=True, text=True,
                          env=os.environ.copy(), timeout=60, check=False)


def fake_python(folder: Path) -> Path:
    """An interpreter path that exists (the entry is only written and read here, never run)."""
    python = folder / "bin" / "python"
    python.parent.mkdir(parents=True, exist_ok=True)
    python.write_text("")
    return python


def test_install_writes_a_valid_entry_that_runs_the_venv_python_in_the_project(tmp_path: Path) -> None:
    venv = tmp_path / "venv"
    mech = XdgAutostart(fake_python(venv), project=ROOT, config_home=tmp_path / "config")
    assert not mech.status().installed
    state = mech.install()
    path = tmp_path / "config" / "autostart" / "voxtray.desktop"
    assert state.installed and state.enabled and state.current and state.location == str(path)
    text = path.read_text()
    assert f"Exec={venv}/bin/python -m daemon run\n" in text
    assert f"Path={ROOT}\n" in text and "Type=Application\n" in text and "Name=VoxTray\n" in text
    assert f"Icon={ROOT}/assets/voxtray.png\n" in text
    validate(path)


def test_install_is_idempotent_and_uninstall_removes_only_our_file(tmp_path: Path) -> None:
    mech = XdgAutostart(fake_python(tmp_path / "venv"), project=ROOT, config_home=tmp_path)
    mech.install()
    first = mech.path.read_bytes()
    other = mech.path.with_name("someone-else.desktop")
    other.write_text("[Desktop Entry]\nType=Application\nName=X\nExec=true\n")
    assert mech.install().current and mech.path.read_bytes() == first
    assert sorted(p.name for p in mech.path.parent.iterdir()) == ["someone-else.desktop", "voxtray.desktop"]
    assert mech.uninstall() is True and mech.uninstall() is False
    assert not mech.path.exists() and other.exists()
    assert not mech.status().installed


def test_paths_with_spaces_quotes_dollars_and_percent_are_escaped_validly(tmp_path: Path) -> None:
    odd = tmp_path / 'My "Voice" $HOME 100% \\ stuff'
    mech = XdgAutostart(fake_python(odd / ".venv"), project=odd, config_home=tmp_path / "cfg")
    state = mech.install()
    validate(mech.path)
    exec_line = next(line for line in mech.path.read_text().splitlines() if line.startswith("Exec="))
    # the spec: quote the argument, backslash-escape " ` $ \ inside it, then escape \ again for a string value
    # and double % for field codes
    assert exec_line == ('Exec="' + str(tmp_path) + '/My \\\\"Voice\\\\" \\\\$HOME 100%% \\\\\\\\ stuff/.venv/bin/python"'
                         " -m daemon run")
    assert state.current


def test_an_entry_switched_off_by_the_user_is_reported_and_install_switches_it_back_on(tmp_path: Path) -> None:
    mech = XdgAutostart(fake_python(tmp_path / "venv"), project=ROOT, config_home=tmp_path)
    mech.install()
    mech.path.write_text(mech.path.read_text().replace("X-GNOME-Autostart-enabled=true", "Hidden=true"))
    state = mech.status()
    assert state.installed and not state.enabled
    assert state.describe().startswith("autostart: disabled by the user")
    assert mech.install().enabled


def test_an_entry_for_another_checkout_is_stale(tmp_path: Path) -> None:
    XdgAutostart(fake_python(tmp_path / "old-venv"), project=tmp_path / "old", config_home=tmp_path).install()
    state = XdgAutostart(fake_python(tmp_path / "venv"), project=ROOT, config_home=tmp_path).status()
    assert state.installed and state.enabled and not state.current
    assert "stale" in state.describe() and "run `install` again" in state.describe()


def verb(*args: str) -> subprocess.CompletedProcess[str]:
    """The same through the CLI verb (`voxtray autostart ...` when installed with pip)."""
    return subprocess.run([sys.executable, "-m", "daemon", "autostart", *args], cwd=ROOT, capture_output=True,
                          text=True, env=os.environ.copy(), timeout=60, check=False)


@pytest.mark.parametrize("cli", [cli, verb], ids=["install_service.py", "autostart-verb"])
def test_install_service_cli_reports_truthfully_after_install_and_uninstall(cli: Any) -> None:
    """Acceptance: status after install and after uninstall (XDG_CONFIG_HOME is a temp folder, see conftest)."""
    entry = Path(os.environ["XDG_CONFIG_HOME"]) / "autostart" / "voxtray.desktop"
    before = cli("status")
    assert before.returncode == 3 and before.stdout.startswith("autostart: not installed")
    installed = cli("install")
    assert installed.returncode == 0, installed.stderr
    assert entry.is_file()
    validate(entry)
    status = cli("status")
    assert status.returncode == 0 and status.stdout.startswith("autostart: enabled.")
    assert f"command: {sys.executable} -m daemon run" in status.stdout
    assert cli("install").returncode == 0  # again: same result
    removed = cli("uninstall")
    assert removed.returncode == 0 and removed.stdout.strip() == "autostart: removed."
    after = cli("status")
    assert after.returncode == 3 and after.stdout.startswith("autostart: not installed") and not entry.exists()
    assert cli("uninstall").stdout.strip() == "autostart: was not installed; nothing to remove."


def test_help_explains_why_it_is_not_a_windows_service() -> None:
    out = cli("--help")
    assert out.returncode == 0
    assert "session 0" in out.stdout and "tray" in out.stdout


def test_the_tray_checkbox_helpers_follow_the_real_file() -> None:
    assert autostart.is_enabled() is False
    assert autostart.set_enabled(True).enabled and autostart.is_enabled() is True
    assert not autostart.set_enabled(False).installed and autostart.is_enabled() is False
