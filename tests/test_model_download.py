"""The XTTS model download against a real loopback HTTP stand-in (tests/fixtures/model_server.py): resume after
a drop and after a restart, a changed file, a corrupted file, disk space, cancel, licence, progress."""

from __future__ import annotations

import hashlib
import shutil
import time
from pathlib import Path

import pytest

from daemon import paths
from daemon.download import (
    LICENSE_NAME,
    LICENSE_SUMMARY,
    LICENSE_URL,
    XTTS_APPROX_BYTES,
    DownloadProgress,
    ModelDownload,
    installed_folder,
    model_status,
    remove_model,
    validate_folder,
)
from daemon.download import job as job_mod
from daemon.settings import Settings
from tests.fixtures.model_server import ModelServer, model_files, serve


@pytest.fixture(autouse=True)
def _fast_retries(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(job_mod, "RETRY_DELAYS_S", (0.05, 0.1, 0.2))
    monkeypatch.delenv("COQUI_TOS_AGREED", raising=False)


def settings_for(server: ModelServer, **kw: object) -> Settings:
    return Settings(xtts_download_url=server.url, xtts_license_accepted=True, **kw)  # type: ignore[arg-type]


def run(settings: Settings, timeout: float = 60) -> tuple[DownloadProgress, list[DownloadProgress]]:
    seen: list[DownloadProgress] = []
    dl = ModelDownload(settings, on_progress=seen.append)
    dl.start()
    final = dl.join(timeout)
    assert not dl.running, "the download did not finish in time"
    return final, seen


def installed() -> Path:
    return paths.models_dir() / "xtts_v2"


def partial() -> Path:
    return paths.models_dir() / "xtts_v2.partial"


def test_a_full_download_is_verified_and_installed_in_one_step(model_server: ModelServer) -> None:
    settings = settings_for(model_server)
    before = model_status(settings)
    assert not before.present and before.folder == installed() and before.total_bytes is None
    assert before.license_accepted and before.source == model_server.url
    final, seen = run(settings)
    assert final.state == "done", final.message
    assert final.folder == installed() and final.percent == 100
    for name, data in model_server.files.items():
        assert (installed() / name).read_bytes() == data
    assert (installed() / "tos_agreed.txt").is_file()
    assert not list(installed().glob("*.meta")) and not list(installed().glob("*.part"))
    assert not partial().exists()
    assert validate_folder(installed()) == [] and installed_folder(settings) == installed()
    status = model_status(settings)
    assert status.present and status.folder == installed() and status.partial_bytes == 0
    assert "ready" in final.message and str(installed()) in final.message
    # redirects followed to the "CDN", and never a credential anywhere
    assert model_server.gets("model.pth") and all(s.status == 200 for s in model_server.gets("model.pth"))
    assert all("Authorization" not in s.headers and "Cookie" not in s.headers for s in model_server.seen)
    states = [p.state for p in seen]
    assert states[0] == "checking" and states[-1] == "done" and "verifying" in states
    # a second run finds it installed and fetches nothing
    n = len(model_server.seen)
    again, _ = run(settings)
    assert again.state == "done" and len(model_server.seen) == n


def test_progress_is_monotonic_throttled_and_has_percent_and_eta(model_server: ModelServer) -> None:
    model_server.rate_bps = 250_000  # ~1.2 s for the 300 KB checkpoint
    final, seen = run(settings_for(model_server))
    assert final.state == "done"
    downloading = [p for p in seen if p.state == "downloading"]
    assert len(downloading) >= 3
    done = [p.done_bytes for p in seen if p.state in ("downloading", "verifying", "done")]
    assert done == sorted(done), "done_bytes went backwards"
    assert all(p.total_bytes == sum(len(d) for d in model_server.files.values()) for p in downloading)
    pct = [p.percent for p in downloading]
    assert all(x is not None for x in pct) and pct == sorted(pct)  # type: ignore[type-var]
    with_eta = [p for p in downloading if p.eta_s is not None]
    assert with_eta, "no ETA was ever given"
    assert all(p.message.startswith("Downloading the cloned voice: ") for p in downloading)
    assert any(p.message.endswith(" left") and " %, " in p.message for p in with_eta), with_eta[-1].message
    # throttled: about 4 a second while downloading (state changes come on top)
    span = 1.3
    assert len(downloading) <= 4 * span * 2 + 4


def test_a_dropped_connection_resumes_within_the_run_without_resending(model_server: ModelServer) -> None:
    size = len(model_server.files["model.pth"])
    model_server.drop_after["model.pth"] = 100_000
    final, _ = run(settings_for(model_server))
    assert final.state == "done", final.message
    gets = model_server.gets("model.pth")
    assert len(gets) == 2
    assert "Range" not in gets[0].headers and gets[0].sent == 100_000
    assert gets[1].headers["Range"] == "bytes=100000-" and gets[1].headers.get("If-Range") == model_server.etags[
        "model.pth"]
    assert gets[1].status == 206 and gets[1].sent == size - 100_000  # the first 100 KB were not sent again
    assert (installed() / "model.pth").read_bytes() == model_server.files["model.pth"]


def test_a_server_that_cannot_be_reached_fails_clearly() -> None:
    dead = Settings(xtts_download_url="http://127.0.0.1:9/coqui/", xtts_license_accepted=True)
    final, _ = run(dead)
    assert final.state == "failed"
    assert "cannot be reached" in final.message and "Check the internet connection" in final.message
    assert not installed().exists()


def test_a_restart_resumes_from_the_part_file(model_server: ModelServer) -> None:
    size = len(model_server.files["model.pth"])
    model_server.rate_bps = 200_000
    settings = settings_for(model_server)
    first = ModelDownload(settings)
    first.start()
    deadline = time.monotonic() + 10
    while first.progress.done_bytes < 80_000 and time.monotonic() < deadline:
        time.sleep(0.02)
    first.cancel()
    assert first.join(5).state == "cancelled"
    part = partial() / "model.pth.part"
    kept = part.stat().st_size
    assert 0 < kept < size and (partial() / "model.pth.meta").is_file()
    status = model_status(settings)
    assert not status.present and status.partial_bytes >= kept and status.total_bytes == sum(
        len(d) for d in model_server.files.values())
    model_server.rate_bps = 0
    final, _ = run(settings)  # a new ModelDownload, as after a restart of the process
    assert final.state == "done", final.message
    last = model_server.gets("model.pth")[-1]
    assert last.headers["Range"] == f"bytes={kept}-" and last.status == 206 and last.sent == size - kept
    assert (installed() / "model.pth").read_bytes() == model_server.files["model.pth"]


def test_a_file_changed_on_the_server_restarts_from_zero(model_server: ModelServer) -> None:
    model_server.rate_bps = 200_000
    settings = settings_for(model_server)
    first = ModelDownload(settings)
    first.start()
    while first.progress.done_bytes < 60_000:
        time.sleep(0.02)
    first.cancel()
    first.join(5)
    new = bytes(reversed(model_server.files["model.pth"]))
    model_server.change("model.pth", new)
    model_server.change("hash.md5", hashlib.md5(new).hexdigest().encode())
    model_server.rate_bps = 0
    final, _ = run(settings)
    assert final.state == "done", final.message
    last = model_server.gets("model.pth")[-1]
    assert "If-Range" in last.headers and last.status == 200 and last.sent == len(new)
    assert (installed() / "model.pth").read_bytes() == new


def test_a_corrupted_file_is_fetched_again_once(model_server: ModelServer) -> None:
    model_server.corrupt["model.pth"] = 1
    final, _ = run(settings_for(model_server))
    assert final.state == "done", final.message
    assert len(model_server.gets("model.pth")) == 2
    assert (installed() / "model.pth").read_bytes() == model_server.files["model.pth"]


@pytest.mark.parametrize("published", [True, False], ids=["sha256-published", "mirror-md5-only"])
def test_a_file_corrupted_twice_fails_and_nothing_is_installed(model_server: ModelServer, published: bool) -> None:
    """Hugging Face publishes each large file's SHA-256 (X-Linked-Etag on its redirect): that is what model.pth is
    checked against; a mirror without it is checked by model.pth's md5 against hash.md5."""
    model_server.linked_sha256 = published
    model_server.corrupt["model.pth"] = 2
    final, seen = run(settings_for(model_server))
    assert final.state == "failed"
    assert "model.pth" in final.message and "twice" in final.message and "nothing was installed" in final.message
    assert ("the server published" if published else "hash.md5 says") in final.message
    assert not installed().exists() and installed_folder(settings_for(model_server)) is None
    assert len(model_server.gets("model.pth")) == 2
    assert [p.state for p in seen].count("verifying") == 2


def test_the_published_sha256_is_what_model_pth_is_checked_against(model_server: ModelServer) -> None:
    """hash.md5 names coqui's model version; it need not be model.pth's md5 when the SHA-256 is published."""
    model_server.files["hash.md5"] = b"0123456789abcdef0123456789abcdef"  # not model.pth's md5
    final, _ = run(settings_for(model_server))
    assert final.state == "done", final.message
    assert (installed() / "model.pth").read_bytes() == model_server.files["model.pth"]


def test_a_bad_json_file_is_never_installed(model_server: ModelServer) -> None:
    model_server.files["config.json"] = b"{ not json"
    final, _ = run(settings_for(model_server))
    assert final.state == "failed" and "config.json is not valid JSON" in final.message
    assert not installed().exists()


def test_the_default_source_pins_the_known_checksum(model_server: ModelServer,
                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    """With the default URL, a hash.md5 other than coqui's published one is refused (URL pointed at the stand-in)."""
    from daemon.download import manifest

    monkeypatch.setattr(manifest, "XTTS_DOWNLOAD_URL", model_server.url)
    final, _ = run(settings_for(model_server))
    assert final.state == "failed" and "10f92b55c512af7a8d39d650547a15a7" in final.message
    assert not installed().exists()


def test_not_enough_disk_space_fails_first_and_says_how_much_and_where(
    model_server: ModelServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    total = sum(len(d) for d in model_server.files.values())
    real = shutil.disk_usage

    def fake(free: int):  # type: ignore[no-untyped-def]
        return lambda path: real(path)._replace(free=free)

    monkeypatch.setattr(shutil, "disk_usage", fake(total + job_mod.SPACE_MARGIN_BYTES - 1))
    final, _ = run(settings_for(model_server))
    assert final.state == "failed", final.message
    assert "Not enough disk space" in final.message and str(paths.models_dir()) in final.message
    assert model_server.gets("model.pth") == []  # checked before any byte of the model
    monkeypatch.setattr(shutil, "disk_usage", fake(total + job_mod.SPACE_MARGIN_BYTES))
    final, _ = run(settings_for(model_server))
    assert final.state == "done", final.message


def test_cancel_stops_within_a_second_and_keeps_the_part(model_server: ModelServer) -> None:
    model_server.rate_bps = 50_000
    seen: list[DownloadProgress] = []
    dl = ModelDownload(settings_for(model_server), on_progress=seen.append)
    dl.start()
    while dl.progress.state != "downloading" or dl.progress.done_bytes < 20_000:
        time.sleep(0.02)
    t0 = time.monotonic()
    dl.cancel()
    final = dl.join(5)
    assert time.monotonic() - t0 < 1.0 and not dl.running
    assert final.state == "cancelled" and seen[-1] == final
    assert "paused" in final.message and "resumes" in final.message
    assert (partial() / "model.pth.part").stat().st_size > 0 and not installed().exists()


def test_the_licence_must_be_accepted(model_server: ModelServer, monkeypatch: pytest.MonkeyPatch) -> None:
    settings = Settings(xtts_download_url=model_server.url)
    final, seen = run(settings)
    assert final.state == "failed" and [p.state for p in seen] == ["failed"]
    assert LICENSE_NAME in final.message and "python -m daemon model get" in final.message
    assert "Get the cloned voice" in final.message
    assert model_server.seen == [] and not model_status(settings).license_accepted
    monkeypatch.setenv("COQUI_TOS_AGREED", "1")
    assert run(settings)[0].state == "done"


def test_the_licence_texts() -> None:
    assert LICENSE_NAME == "Coqui Public Model License (CPML)" and LICENSE_URL == "https://coqui.ai/cpml"
    assert "non-commercial" in LICENSE_SUMMARY and "\n" not in LICENSE_SUMMARY
    assert 1_500_000_000 < XTTS_APPROX_BYTES < 2_500_000_000


def test_an_optional_file_the_source_lacks_is_skipped() -> None:
    server, httpd = serve(model_files(b"x" * 5000, speakers=False))
    try:
        final, _ = run(settings_for(server))
        assert final.state == "done", final.message
        assert not (installed() / "speakers_xtts.pth").exists() and validate_folder(installed()) == []
    finally:
        httpd.shutdown()
        httpd.server_close()


def test_a_missing_required_file_says_to_check_the_url(model_server: ModelServer) -> None:
    del model_server.files["vocab.json"]
    final, _ = run(settings_for(model_server))
    assert final.state == "failed" and "no vocab.json (HTTP 404)" in final.message and "xtts_download_url" in final.message


def test_remove_frees_the_download_and_the_partial_but_never_a_users_folder(
    model_server: ModelServer, tmp_path: Path
) -> None:
    settings = settings_for(model_server)
    assert run(settings)[0].state == "done"
    partial().mkdir()
    (partial() / "model.pth.part").write_bytes(b"x" * 1000)
    total = sum(len(d) for d in model_server.files.values())
    freed = remove_model(settings)
    assert freed >= total + 1000 and not installed().exists() and not partial().exists()
    mine = tmp_path / "mine"
    shutil.copytree(paths.models_dir(), mine, dirs_exist_ok=True)
    for name, data in model_server.files.items():
        (mine / name).write_bytes(data)
    user = Settings(xtts_model_path=str(mine))
    assert installed_folder(user) == mine and model_status(user).present
    assert remove_model(user) == 0 and (mine / "model.pth").is_file()


def test_validate_folder_names_each_problem(tmp_path: Path) -> None:
    assert validate_folder(tmp_path / "nope") == [f"{tmp_path / 'nope'} is not a folder"]
    (tmp_path / "config.json").write_text("{ bad")
    (tmp_path / "model.pth").write_bytes(b"")
    problems = validate_folder(tmp_path)
    assert problems[0] == "lacks vocab.json"
    assert "config.json is not valid JSON" in problems[1] and problems[2] == "model.pth is empty"


def test_the_tiny_xtts_folder_downloads_and_loads_through_resolve_folder(tiny_xtts_dir: Path) -> None:
    """The real loader finds the downloaded copy when xtts_model_path is the model id (no implicit download)."""
    from daemon.speech.xtts import model as xtts_model

    files = {p.name: p.read_bytes() for p in tiny_xtts_dir.iterdir() if p.name in ("config.json", "model.pth",
                                                                                    "vocab.json")}
    files["hash.md5"] = hashlib.md5(files["model.pth"]).hexdigest().encode()
    server, httpd = serve(files)
    try:
        settings = settings_for(server, xtts_allow_cpu=True)
        final, _ = run(settings, timeout=120)
        assert final.state == "done", final.message
        assert xtts_model.resolve_folder(settings) == installed()
    finally:
        httpd.shutdown()
        httpd.server_close()


def test_doctor_says_licence_then_partial_then_present(model_server: ModelServer, tmp_path: Path) -> None:
    from daemon.doctor import FAIL, OK, WARN, check_model

    settings = Settings(xtts_download_url=model_server.url)
    c = check_model(settings)
    assert c.state == WARN and "not accepted" in c.detail
    assert "Get the cloned voice (XTTS v2)" in c.fix and "python -m daemon model get" in c.fix
    partial().mkdir(parents=True)
    (partial() / "model.pth.part").write_bytes(b"x" * 1000)
    c = check_model(settings_for(model_server))
    assert c.state == WARN and c.detail.startswith("partly downloaded") and "resume it" in c.fix
    assert run(settings_for(model_server))[0].state == "done"
    c = check_model(settings_for(model_server))
    assert c.state == OK and str(installed()) in c.detail
    (tmp_path / "half").mkdir()
    c = check_model(Settings(xtts_model_path=str(tmp_path / "half")))
    assert c.state == FAIL and "lacks config.json, model.pth, vocab.json" in c.detail


@pytest.mark.parametrize("env", [{"TTS_HOME": "~/tts-home"}, {"XDG_DATA_HOME": "/tmp/xdg"}, {}],
                         ids=["TTS_HOME", "XDG_DATA_HOME", "default"])
def test_coquis_download_folder_is_found_without_importing_coqui(
        env: dict[str, str], monkeypatch: pytest.MonkeyPatch) -> None:
    from trainer.io import get_user_data_dir

    from daemon import paths

    for var in ("TTS_HOME", "XDG_DATA_HOME"):
        monkeypatch.delenv(var, raising=False)
    for var, value in env.items():
        monkeypatch.setenv(var, value)
    model_id = "tts_models/multilingual/multi-dataset/xtts_v2"
    assert paths.coqui_model_dir(model_id) == get_user_data_dir("tts") / model_id.replace("/", "--")
