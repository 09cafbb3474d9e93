"""VoxTray as a real package: `pip install .` into a fresh venv gives working `voxtray` / `voxtray-tray` commands,
and an installed VoxTray keeps its settings, voices and caches in the per-user folders (daemon/paths.py).

The install test builds and installs for real (pip, setuptools from pyproject.toml's [build-system], the console
and gui scripts) from a clean copy of the checkout (its git-tracked and untracked-but-not-ignored files), so no
build/ or *.egg-info ever lands in the checkout. One fake, to keep it under a minute: the fresh venv does not
download VoxTray's ~6 GB of dependencies (torch, coqui-tts, ...); a .pth file in it makes the packages of the venv
running the tests visible, so pip finds every declared dependency already satisfied and installs VoxTray alone
(asserted: "Successfully installed voxtray-0.1.0" and nothing else). Building needs setuptools in pip's isolated
build environment: from the pip cache, else from PyPI (~1 MB).
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import sysconfig
from pathlib import Path

import pytest
import tomllib
from packaging.requirements import Requirement

from daemon import __version__, paths
from daemon import settings as settings_mod
from daemon.desktop.autostart.windows import WindowsAutostart, split_windows_command, windows_command
from daemon.desktop.autostart.xdg import XdgAutostart

ROOT = Path(__file__).resolve().parent.parent
PYPROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))


def requirements_txt() -> set[str]:
    lines = (ROOT / "requirements.txt").read_text(encoding="utf-8").splitlines()
    reqs = [line.split("#", 1)[0].strip() for line in lines]
    return {str(Requirement(r)) for r in reqs if r and not r.startswith("-")}


def test_pyproject_declares_exactly_what_requirements_txt_lists() -> None:
    declared = {str(Requirement(r)) for r in PYPROJECT["project"]["dependencies"]}
    assert declared == requirements_txt(), (
        f"only in pyproject.toml: {sorted(declared - requirements_txt())}; "
        f"only in requirements.txt: {sorted(requirements_txt() - declared)}")


def test_every_package_under_daemon_is_in_the_wheel_list() -> None:
    """A folder of modules (with or without __init__.py) missing from [tool.setuptools] packages would be left
    out of `pip install .`; daemon.bundled is the clone's voices/ folder."""
    found = {".".join(d.relative_to(ROOT).parts) for d in [ROOT / "daemon", *(ROOT / "daemon").rglob("*")]
             if d.is_dir() and d.name != "__pycache__" and any(d.glob("*.py"))}
    setuptools = PYPROJECT["tool"]["setuptools"]
    assert set(setuptools["packages"]) == found | {"daemon.bundled"}
    assert setuptools["package-dir"] == {"daemon.bundled": "voices"}
    assert all((ROOT / "voices" / name).is_file() for name in setuptools["package-data"]["daemon.bundled"])
    assert set(setuptools["package-data"]["daemon.bundled"]) == set(paths.BUNDLED_VOICES)
    assert PYPROJECT["project"]["scripts"] == {"voxtray": "daemon.__main__:main"}
    assert PYPROJECT["project"]["gui-scripts"] == {"voxtray-tray": "daemon.__main__:main"}


# --- the installed layout, in-process ------------------------------------------------------------------------------
@pytest.fixture
def installed(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> dict[str, Path]:
    """This process as an installed VoxTray: no project folder, per-user folders in tmp."""
    dirs = {name: tmp_path / name for name in ("config", "data", "cache")}
    monkeypatch.setattr(paths, "project_root", lambda: None)
    monkeypatch.delenv("VOXTRAY_HOME", raising=False)
    monkeypatch.setenv("XDG_CONFIG_HOME", str(dirs["config"]))
    monkeypatch.setenv("XDG_CACHE_HOME", str(dirs["cache"]))
    monkeypatch.setenv("VOXTRAY_DATA_DIR", str(dirs["data"]))
    return dirs


def test_installed_keeps_settings_voices_and_caches_in_the_user_folders(installed: dict[str, Path]) -> None:
    assert paths.settings_file() == installed["config"] / "voxtray" / "settings.json"
    assert paths.home() == installed["data"] and not paths.project_layout()
    settings = settings_mod.load()  # first run: settings and schema made, the sample voice seeded
    assert (installed["config"] / "voxtray" / "settings.json").is_file()
    schema = json.loads((installed["config"] / "voxtray" / "settings.schema.json").read_text(encoding="utf-8"))
    assert schema == settings_mod.json_schema()
    assert settings.reference_path == installed["data"] / "voices" / "sample.wav"
    assert settings.reference_path.read_bytes() == (ROOT / "voices" / "sample.wav").read_bytes()
    assert (installed["data"] / "voices" / "ATTRIBUTION.md").is_file()
    assert settings.voices_cache_path == installed["cache"] / "voxtray" / "latents"
    assert paths.command() == "voxtray"


def test_a_voices_folder_the_user_emptied_is_not_seeded_again(installed: dict[str, Path]) -> None:
    (installed["data"] / "voices").mkdir(parents=True)
    settings = settings_mod.load(check=False)
    assert list((installed["data"] / "voices").iterdir()) == []
    assert not settings.reference_path.exists()


def test_voxtray_home_is_a_project_folder_anywhere(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(paths, "project_root", lambda: None)
    monkeypatch.setenv("VOXTRAY_HOME", str(tmp_path / "portable"))
    settings = settings_mod.load()
    assert paths.settings_file() == tmp_path / "portable" / "settings.json" and paths.settings_file().is_file()
    assert settings.reference_path == tmp_path / "portable" / "voices" / "sample.wav"
    assert settings.reference_path.is_file()
    assert settings.voices_cache_path == tmp_path / "portable" / "voices" / ".cache"


def test_the_clone_keeps_its_project_layout() -> None:
    assert paths.project_root() == ROOT and paths.home() == ROOT
    assert paths.settings_file() == ROOT / "settings.json"
    assert settings_mod.Settings().voices_cache_path == ROOT / "voices" / ".cache"
    assert paths.bundled_voices_dir() == ROOT / "voices"
    assert paths.command() == "python -m daemon"  # pytest is not the voxtray script


def test_installed_means_in_site_packages_or_beside_pips_record(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A downloaded copy of the project (no pyproject.toml, no git) is a project folder; pip's target is not."""
    for folder, record, installed in (("Projets José/vox tray", None, False), ("lib/site-packages", None, True),
                                      ("prefix/lib", "voxtray-0.1.0.dist-info", True)):
        package = tmp_path / folder / "daemon"
        package.mkdir(parents=True)
        if record:
            (package.parent / record).mkdir()
        monkeypatch.setattr(paths, "PACKAGE_DIR", package)
        assert paths.project_root() == (None if installed else package.parent), folder


def test_the_command_is_voxtray_when_started_by_the_scripts(monkeypatch: pytest.MonkeyPatch) -> None:
    for argv0 in ("/home/u/.venv/bin/voxtray", r"C:\Py\Scripts\voxtray-tray", r"C:\Py\Scripts\voxtray-script.py"):
        monkeypatch.setattr(sys, "argv", [argv0, "doctor"])
        assert paths.command() == "voxtray", argv0


def test_the_gui_script_counts_as_a_process_without_console(monkeypatch: pytest.MonkeyPatch) -> None:
    """`voxtray-tray` on Windows: errors go to the log and a message box, never to streams nobody reads."""
    from daemon import logs

    monkeypatch.setattr(sys, "platform", "win32")
    monkeypatch.setattr(sys, "executable", r"C:\Py\Scripts\python.exe")
    assert not logs.gui_process()
    monkeypatch.setattr(sys, "__stdout__", None)
    monkeypatch.setattr(sys, "__stderr__", None)
    assert logs.gui_process() and not logs.has_console()
    monkeypatch.setattr(sys, "platform", "linux")
    assert not logs.gui_process()


def test_installed_autostart_runs_the_package_not_a_project_folder(installed: dict[str, Path], tmp_path: Path) -> None:
    pythonw = Path(r"C:\Users\José\venv\Scripts\pythonw.exe")
    assert windows_command(pythonw, None) == f'"{pythonw}" -m daemon run'
    assert split_windows_command(windows_command(pythonw, None)) == [str(pythonw), "-m", "daemon", "run"]
    probed: list[list[str]] = []
    fake = tmp_path / "Scripts" / "pythonw.exe"
    fake.parent.mkdir()
    fake.write_bytes(b"MZ")
    registry = _DictRegistry()

    def probe(argv: list[str]) -> None:  # install starts the registered command once, to prove it runs
        probed.append(argv)

    state = WindowsAutostart(registry, fake, None, probe=probe).install()
    assert state.current and probed == [[str(fake), "-m", "daemon", "run"]]

    python = tmp_path / "venv" / "bin" / "python"
    python.parent.mkdir(parents=True)
    python.write_text("")
    mech = XdgAutostart(python, project=None, config_home=tmp_path / "autostart-config")
    assert mech.install().current
    text = mech.path.read_text(encoding="utf-8")
    assert f"Exec={python} -m daemon run\n" in text and "Path=" not in text
    assert f"Icon={installed['data'] / 'voxtray.png'}\n" in text and (installed["data"] / "voxtray.png").is_file()
    clone_entry = XdgAutostart(python, project=tmp_path / "clone", config_home=tmp_path / "autostart-config")
    assert "stale" in clone_entry.status().note  # an entry made from a clone is not this installed VoxTray's


class _DictRegistry:
    def __init__(self) -> None:
        self.values: dict[tuple[str, str], tuple[object, int]] = {}

    def get(self, key: str, name: str) -> tuple[object, int] | None:
        return self.values.get((key, name))

    def set(self, key: str, name: str, value: str | bytes, kind: int) -> None:
        self.values[(key, name)] = (value, kind)

    def delete(self, key: str, name: str) -> bool:
        return self.values.pop((key, name), None) is not None


# --- pip install . for real ------------------------------------------------------------------------------------------
def clean_copy(dest: Path) -> Path:
    """The checkout's files as `git archive` of the working tree would give them: tracked and untracked files that
    git does not ignore (no .venv, build/, caches)."""
    listed = subprocess.run(["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"], cwd=ROOT,
                            capture_output=True, check=True).stdout.decode("utf-8").split("\0")
    for rel in filter(None, listed):
        source = ROOT / rel
        if source.is_file():
            (dest / rel).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, dest / rel)
    return dest


def run(argv: list[str], env: dict[str, str], cwd: Path, timeout: float = 180) -> subprocess.CompletedProcess[str]:
    return subprocess.run(argv, cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout, check=False)


@pytest.mark.slow
def test_pip_install_gives_working_voxtray_commands_from_any_folder(tmp_path: Path) -> None:
    source = clean_copy(tmp_path / "src")
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True, timeout=120, capture_output=True)
    scripts = Path(sysconfig.get_path("scripts", vars={"base": str(venv), "platbase": str(venv)}))
    python = scripts / ("python.exe" if sys.platform == "win32" else "python")
    site = Path(run([str(python), "-c", "import sysconfig; print(sysconfig.get_path('purelib'))"], dict(os.environ),
                    tmp_path).stdout.strip())
    ours = {sysconfig.get_path("purelib"), sysconfig.get_path("platlib")}
    (site / "voxtray_test_dependencies.pth").write_text("\n".join(sorted(ours)) + "\n", encoding="utf-8")

    pip_env = {k: v for k, v in os.environ.items() if not k.startswith("VOXTRAY_")}
    pip_env.update(PIP_DISABLE_PIP_VERSION_CHECK="1", PYTHONNOUSERSITE="1")
    installed = run([str(python), "-m", "pip", "install", str(source)], pip_env, tmp_path, timeout=300)
    assert installed.returncode == 0, installed.stdout + installed.stderr
    done = re.findall(r"^Successfully installed (.+)$", installed.stdout, re.M)
    assert done == [f"voxtray-{__version__}"], installed.stdout  # every dependency was already satisfied

    for name in ("voxtray", "voxtray-tray"):
        assert (scripts / (name + (".exe" if sys.platform == "win32" else ""))).is_file(), name
    record = next(site.glob("voxtray-*.dist-info")) / "RECORD"
    files = {line.split(",", 1)[0] for line in record.read_text(encoding="utf-8").splitlines()}
    assert {"daemon/speech/sapi_child.py", "daemon/bundled/sample.wav", "daemon/bundled/ATTRIBUTION.md"} <= files
    tracked = {p.relative_to(source).as_posix() for p in (source / "daemon").rglob("*.py")}
    assert tracked <= files, sorted(tracked - files)
    assert not any(f.endswith("settings.json") for f in files)

    home = tmp_path / "user"
    elsewhere = tmp_path / "somewhere else"
    elsewhere.mkdir()
    user_env = {k: v for k, v in pip_env.items() if not k.startswith(("XDG_", "PYTHONPATH"))}
    user_env.update(HOME=str(home), XDG_CONFIG_HOME=str(home / "config"), XDG_DATA_HOME=str(home / "share"),
                    XDG_CACHE_HOME=str(home / "cache"), XDG_STATE_HOME=str(home / "state"),
                    VOXTRAY_DATA_DIR=str(home / "data"), VOXTRAY_LOG_DIR=str(home / "logs"))
    where = run([str(python), "-c", "import daemon; print(daemon.__file__)"], user_env, elsewhere)
    assert Path(where.stdout.strip()).parent == site / "daemon", where.stdout + where.stderr

    for name in ("voxtray", "voxtray-tray"):
        version = run([str(scripts / name), "--version"], user_env, elsewhere, timeout=60)
        assert version.returncode == 0 and version.stdout.strip() == f"VoxTray {__version__}", version
    usage = run([str(scripts / "voxtray"), "--help"], user_env, elsewhere, timeout=60)
    assert usage.stdout.startswith("usage: voxtray ") and "doctor" in usage.stdout, usage.stdout

    doctor = run([str(scripts / "voxtray"), "doctor", "--offline"], user_env, elsewhere)
    settings_file = home / "config" / "voxtray" / "settings.json"
    out = doctor.stdout
    assert doctor.returncode in (0, 1) and "Traceback" not in doctor.stderr, out + doctor.stderr  # 1: no sound card
    assert out.startswith(f"VoxTray doctor (settings: {settings_file})"), out
    assert re.search(rf"\[  ok\] Python +\S+ \({re.escape(str(python))}\)", out), out
    assert re.search(rf"\[  ok\] voices +1 in {re.escape(str(home / 'data' / 'voices'))}: sample\.wav", out), out
    assert "python -m daemon" not in out and re.search(r"problem\(s\), \d+ warning\(s\)", out), out
    assert settings_file.is_file() and settings_file.with_name("settings.schema.json").is_file()
    assert json.loads(settings_file.read_text(encoding="utf-8"))["cloning_reference_file"] == "voices/sample.wav"
    assert (home / "data" / "voices" / "sample.wav").read_bytes() == (ROOT / "voices" / "sample.wav").read_bytes()
    assert not list(venv.rglob("settings.json")) and not list(elsewhere.iterdir())
    assert (home / "logs" / "voxtray.log").is_file()

    voices = run([str(scripts / "voxtray"), "voices", "list"], user_env, elsewhere, timeout=60)
    assert voices.returncode == 0 and "sample" in voices.stdout, voices.stdout + voices.stderr
