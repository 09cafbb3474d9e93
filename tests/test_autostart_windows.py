"""Windows autostart through the injected Registry interface.

There is no winreg on Linux, so the registry is a FAKE: a dict keyed by (key, value name) that records every
write and delete, at the narrowest boundary (get/set/delete of HKCU values). The command line, the key, the value
name and type, the StartupApproved handling and the .pth file are the real code's.
"""

from __future__ import annotations

import struct
from pathlib import Path, PureWindowsPath

from daemon.desktop.autostart import (
    APPROVED_KEY,
    REG_BINARY,
    REG_SZ,
    RUN_KEY,
    WindowsAutostart,
    disabled_by_user,
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


def test_the_exact_run_value_for_a_windows_venv() -> None:
    venv = PureWindowsPath(r"C:\Users\Ada Lovelace\voxtray\.venv")
    assert windows_command(venv) == r'"C:\Users\Ada Lovelace\voxtray\.venv\Scripts\pythonw.exe" -m daemon run'
    assert RUN_KEY == r"Software\Microsoft\Windows\CurrentVersion\Run"
    assert APPROVED_KEY == r"Software\Microsoft\Windows\CurrentVersion\Explorer\StartupApproved\Run"


def test_install_writes_the_run_value_and_the_pth_then_uninstall_removes_them(tmp_path: Path) -> None:
    reg = FakeRegistry()
    venv, project = tmp_path / ".venv", tmp_path / "voxtray"
    mech = WindowsAutostart(reg, venv, project)
    assert not mech.status().installed
    state = mech.install()
    expected = f'"{venv / "Scripts" / "pythonw.exe"}" -m daemon run'
    assert reg.values == {(RUN_KEY, "VoxTray"): (expected, REG_SZ)}
    assert state.enabled and state.current and state.command == expected
    assert state.location == r"HKEY_CURRENT_USER\Software\Microsoft\Windows\CurrentVersion\Run\VoxTray"
    # a Run command starts in System32, so `-m daemon` needs the project on the venv's path
    assert (venv / "Lib" / "site-packages" / "voxtray.pth").read_text() == f"{project}\n"
    assert mech.install().current and reg.values == {(RUN_KEY, "VoxTray"): (expected, REG_SZ)}  # idempotent
    assert mech.uninstall() is True
    assert reg.values == {}
    assert ("delete", RUN_KEY, "VoxTray") in reg.log and ("delete", APPROVED_KEY, "VoxTray") in reg.log
    assert mech.uninstall() is False and not mech.status().installed


def test_disabled_in_task_manager_is_reported_and_install_enables_it_again(tmp_path: Path) -> None:
    reg = FakeRegistry()
    mech = WindowsAutostart(reg, tmp_path / ".venv", tmp_path)
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


def test_a_value_from_another_checkout_or_a_missing_pth_is_stale(tmp_path: Path) -> None:
    reg = FakeRegistry()
    mech = WindowsAutostart(reg, tmp_path / ".venv", tmp_path)
    reg.set(RUN_KEY, "VoxTray", r'"D:\old\.venv\Scripts\pythonw.exe" -m daemon run', REG_SZ)
    state = mech.status()
    assert state.installed and not state.current and "stale" in state.describe()
    mech.install()
    mech.pth_file.unlink()
    assert "pth" in mech.status().describe() and not mech.status().current
