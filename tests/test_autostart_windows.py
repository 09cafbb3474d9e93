"""Windows autostart through the injected Registry interface, on Linux.

There is no winreg on Linux, so the registry is a FAKE here: a dict keyed by (key, value name) that records every
write and delete, at the narrowest boundary (get/set/delete of HKCU values); the probe that starts the registered
command is injected too. The same code runs for real against Wine's registry, with the real Windows CPython and the
registered command executed through `cmd /c`, in the Windows lane (tests_win/test_autostart.py).
"""

from __future__ import annotations

import struct
from pathlib import Path, PureWindowsPath

from daemon.desktop.autostart.windows import (
    APPROVED_KEY,
    LAUNCHER,
    REG_BINARY,
    REG_SZ,
    RUN_KEY,
    WindowsAutostart,
    disabled_by_user,
    split_windows_command,
    windows_command,
)


class FakeRegistry:
    def __init__(self) -> None:
        self.values: dict[tuple[str, str], tuple[object, int]] = {}
        self.log: list[tuple[str, str, str]] = []

    def get(self, key: str, name: str) -> tuple[object, int] | None:
        return self.values.get((key, name))

    def set(self, key: str, name: str, value: str | bytes, kind: int) -> None:
        self.values[(key, name)] = (value, kind)
        self.log.append(("set", key, name))

    def delete(self, key: str, name: str) -> bool:
        self.log.append(("delete", key, name))
        return self.values.pop((key, name), None) is not None


def disabled_blob() -> bytes:
    return bytes([3, 0, 0, 0]) + struct.pack("<Q", 133_000_000_000_000_000)  # 03 + FILETIME: Task Manager "Disabled"


def layout(tmp_path: Path) -> tuple[Path, Path]:
    """A project folder with its launcher and a Python folder with pythonw.exe (files only: nothing runs here)."""
    project, python = tmp_path / "Jos\u00e9 voxtray", tmp_path / "Python 311"
    project.mkdir()
    python.mkdir()
    (project / LAUNCHER).write_text("# launcher\n")
    (python / "pythonw.exe").write_bytes(b"MZ")
    return project, python / "pythonw.exe"


def test_the_exact_run_value_needs_no_venv_and_no_pth() -> None:
    pythonw = PureWindowsPath("C:/Users/Jos\u00e9 L/AppData/Local/Programs/Python/Python311/pythonw.exe")
    project = PureWindowsPath("C:/Users/Jos\u00e9 L/my voxtray")
    command = windows_command(pythonw, project)
    assert command == (r'"C:\Users\Jos' + "\u00e9" + r' L\AppData\Local\Programs\Python\Python311\pythonw.exe" '
                       r'"C:\Users\Jos' + "\u00e9" + r' L\my voxtray\voxtray.pyw" run')
    assert split_windows_command(command) == [str(pythonw), str(project / LAUNCHER), "run"]
    assert RUN_KEY == r"Software\Microsoft\Windows\CurrentVersion\Run"
    assert APPROVED_KEY == r"Software\Microsoft\Windows\CurrentVersion\Explorer\StartupApproved\Run"


def test_install_writes_the_run_value_probes_it_and_uninstall_removes_it(tmp_path: Path) -> None:
    reg, probed = FakeRegistry(), []
    project, pythonw = layout(tmp_path)
    mech = WindowsAutostart(reg, pythonw, project, probe=lambda argv: probed.append(argv))  # type: ignore[func-returns-value]
    assert not mech.status().installed
    state = mech.install()
    expected = f'"{pythonw}" "{project / LAUNCHER}" run'
    assert reg.values == {(RUN_KEY, "VoxTray"): (expected, REG_SZ)}
    assert probed == [[str(pythonw), str(project / LAUNCHER), "run"]]  # install proves the command can start
    assert state.enabled and state.current and state.command == expected
    assert state.location == r"HKEY_CURRENT_USER\Software\Microsoft\Windows\CurrentVersion\Run\VoxTray"
    assert mech.install().current and reg.values == {(RUN_KEY, "VoxTray"): (expected, REG_SZ)}  # idempotent
    assert mech.uninstall() is True
    assert reg.values == {}
    assert ("delete", RUN_KEY, "VoxTray") in reg.log and ("delete", APPROVED_KEY, "VoxTray") in reg.log
    assert mech.uninstall() is False and not mech.status().installed


def test_install_removes_the_old_pth_of_earlier_versions(tmp_path: Path) -> None:
    project, _ = layout(tmp_path)
    venv = tmp_path / ".venv"
    (venv / "Scripts").mkdir(parents=True)
    (venv / "Scripts" / "pythonw.exe").write_bytes(b"MZ")
    pth = venv / "Lib" / "site-packages" / "voxtray.pth"
    pth.parent.mkdir(parents=True)
    pth.write_text(f"{project}\n")
    WindowsAutostart(FakeRegistry(), venv / "Scripts" / "pythonw.exe", project, probe=lambda argv: None).install()
    assert not pth.exists()


def test_a_command_that_cannot_start_is_stale_not_enabled(tmp_path: Path) -> None:
    reg = FakeRegistry()
    project, pythonw = layout(tmp_path)
    mech = WindowsAutostart(reg, pythonw, project, probe=lambda argv: "it exits with code 1 instead of starting")
    state = mech.install()
    assert state.installed and not state.current
    assert "cannot start" in state.describe() and "exits with code 1" in state.describe()
    assert mech.status().current  # without the probe only the files are checked


def test_disabled_in_task_manager_is_reported_and_install_enables_it_again(tmp_path: Path) -> None:
    reg = FakeRegistry()
    project, pythonw = layout(tmp_path)
    mech = WindowsAutostart(reg, pythonw, project, probe=lambda argv: None)
    mech.install()
    reg.set(APPROVED_KEY, "VoxTray", disabled_blob(), REG_BINARY)
    state = mech.status()
    assert state.installed and not state.enabled
    assert "Task Manager" in state.describe() and state.describe().startswith("autostart: disabled by the user")
    assert mech.install().enabled
    assert (APPROVED_KEY, "VoxTray") not in reg.values


def test_startup_approved_flags() -> None:
    assert disabled_by_user((disabled_blob(), REG_BINARY))
    assert not disabled_by_user((bytes([2]) + bytes(11), REG_BINARY))
    assert not disabled_by_user((bytes([6]) + bytes(11), REG_BINARY))
    assert not disabled_by_user(None) and not disabled_by_user((b"", REG_BINARY)) and not disabled_by_user(("x", 1))


def test_a_value_from_another_checkout_or_a_missing_interpreter_is_stale(tmp_path: Path) -> None:
    reg = FakeRegistry()
    project, pythonw = layout(tmp_path)
    mech = WindowsAutostart(reg, pythonw, project, probe=lambda argv: None)
    reg.set(RUN_KEY, "VoxTray", r'"D:\old\.venv\Scripts\pythonw.exe" -m daemon run', REG_SZ)
    state = mech.status()
    assert state.installed and not state.current and "stale" in state.describe()
    mech.install()
    pythonw.unlink()
    assert "does not exist" in mech.status().describe() and not mech.status().current
