"""The model download where real networks and Windows get in the way: an install the antivirus delays, a Wi-Fi
login page, a CDN that refuses HEAD, a company proxy, a certificate that is not trusted, a stalled line, a second
process. Against the loopback stand-in (tests/fixtures/model_server.py); nothing leaves 127.0.0.1."""

from __future__ import annotations

import errno
import http.client
import http.server
import os
import shutil
import socket
import ssl
import subprocess
import sys
import threading
import time
from base64 import b64encode
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest

from daemon.download import ModelDownload, store
from daemon.download import job as job_mod
from daemon.download.manifest import FILES
from daemon.download.progress import RateMeter
from daemon.settings import Settings
from tests.fixtures.model_server import ModelServer
from tests.test_model_download import installed, partial, run

ROOT = Path(__file__).resolve().parent.parent
PROXY_VARS = ("http_proxy", "https_proxy", "no_proxy", "all_proxy")


@pytest.fixture(autouse=True)
def _fast_and_direct(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(job_mod, "RETRY_DELAYS_S", (0.05, 0.1, 0.2))
    monkeypatch.delenv("COQUI_TOS_AGREED", raising=False)
    for name in PROXY_VARS:
        monkeypatch.delenv(name, raising=False)
        monkeypatch.delenv(name.upper(), raising=False)


def settings_for(url: str) -> Settings:
    return Settings(xtts_download_url=url, xtts_license_accepted=True)


def paused_midway(server: ModelServer, at: int = 60_000) -> int:
    """Start a slow download, cancel it part-way through model.pth; the bytes kept in its part."""
    server.rate_bps = 200_000
    dl = ModelDownload(settings_for(server.url))
    dl.start()
    deadline = time.monotonic() + 10
    while dl.progress.done_bytes < at and time.monotonic() < deadline:
        time.sleep(0.02)
    dl.cancel()
    assert dl.join(5).state == "cancelled"
    server.rate_bps = 0
    return (partial() / "model.pth.part").stat().st_size


# --- Windows: a file of the fresh download still held open (Defender) when the folder is renamed into place ---
def test_an_install_that_windows_refuses_keeps_the_download_and_the_next_try_fetches_nothing(
    model_server: ModelServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    real = store.replace
    waited: list[tuple[float, ...]] = []

    def held(src: Path, dst: Path, delays: tuple[float, ...] = ()) -> None:
        waited.append(delays)
        raise PermissionError(errno.EACCES, f"another program keeps {dst} open (antivirus, OneDrive or an "
                              "editor?); close it and try again", str(dst))

    monkeypatch.setattr(store, "replace", held)
    final, _ = run(settings_for(model_server.url))
    assert final.state == "failed" and "another program keeps" in final.message, final.message
    assert sum(waited[0]) > 20, "a folder of 1.9 GB gets longer than a settings file to be let go"
    assert not installed().exists() and (partial() / "model.pth").is_file()
    gets = len(model_server.gets("model.pth"))
    monkeypatch.setattr(store, "replace", real)
    final, _ = run(settings_for(model_server.url))
    assert final.state == "done", final.message
    assert len(model_server.gets("model.pth")) == gets, "the verified download was fetched again"
    assert (installed() / "model.pth").read_bytes() == model_server.files["model.pth"]
    assert not list(installed().glob("*.meta"))


def test_a_finished_file_waits_for_the_antivirus_before_it_is_renamed(
    model_server: ModelServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    real = job_mod.replace
    waited: dict[str, tuple[float, ...]] = {}

    def recording(src: Path, dst: Path, delays: tuple[float, ...] = ()) -> None:
        waited[Path(dst).name] = delays
        real(src, dst)

    monkeypatch.setattr(job_mod, "replace", recording)
    final, _ = run(settings_for(model_server.url))
    assert final.state == "done", final.message
    assert sum(waited["model.pth"]) > 20, "model.pth.part -> model.pth gave the scan of 1.9 GB only 5 s"


# --- a Wi-Fi login page (captive portal) answers instead of the files ---
def test_a_login_page_is_never_saved_over_the_part_and_says_to_sign_in(model_server: ModelServer) -> None:
    kept = paused_midway(model_server)
    small = {p.name: p.read_bytes() for p in partial().iterdir() if p.suffix not in (".part", ".meta")}
    assert "hash.md5" in small
    model_server.portal = True
    final, _ = run(settings_for(model_server.url))
    assert final.state == "failed", final.message
    assert "web page instead of" in final.message and "sign in" in final.message
    assert (partial() / "model.pth.part").stat().st_size == kept, "the part was overwritten by the page"
    assert all((partial() / name).read_bytes() == data for name, data in small.items()), "finished files lost"
    assert not installed().exists()
    model_server.portal = False
    final, _ = run(settings_for(model_server.url))
    assert final.state == "done", final.message
    last = model_server.gets("model.pth")[-1]
    assert last.status == 206 and last.headers["Range"] == f"bytes={kept}-"


# --- a CDN whose signed links are for GET only ---
def test_a_cdn_that_refuses_head_still_downloads(model_server: ModelServer) -> None:
    model_server.head_status = 403
    final, _ = run(settings_for(model_server.url))
    assert final.state == "done", final.message
    assert (installed() / "model.pth").read_bytes() == model_server.files["model.pth"]


# --- a company proxy ---
class _Proxy(http.server.BaseHTTPRequestHandler):
    """A forward proxy stand-in: plain http in absolute form is relayed; CONNECT is recorded and refused (407)."""

    protocol_version = "HTTP/1.1"
    seen: list[tuple[str, str, dict[str, str]]]

    def log_message(self, format: str, *args: Any) -> None:
        pass

    def do_CONNECT(self) -> None:
        self.seen.append(("CONNECT", self.path, dict(self.headers.items())))
        self.send_response(407)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def do_HEAD(self) -> None:
        self._relay()

    def do_GET(self) -> None:
        self._relay()

    def _relay(self) -> None:
        self.seen.append((self.command, self.path, dict(self.headers.items())))
        target = urlsplit(self.path)
        conn = http.client.HTTPConnection(target.hostname, target.port, timeout=10)
        headers = {k: v for k, v in self.headers.items() if k.lower() not in ("proxy-authorization", "host")}
        conn.request(self.command, target.path + (f"?{target.query}" if target.query else ""), headers=headers)
        resp = conn.getresponse()
        body = resp.read()
        self.send_response(resp.status)
        for key, value in resp.getheaders():
            if key.lower() not in ("connection", "transfer-encoding"):
                self.send_header(key, value)
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)
        conn.close()


@pytest.fixture
def proxy() -> Iterator[tuple[str, list[tuple[str, str, dict[str, str]]]]]:
    seen: list[tuple[str, str, dict[str, str]]] = []
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), type("P", (_Proxy,), {"seen": seen}))
    httpd.daemon_threads = True
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    yield f"127.0.0.1:{httpd.server_address[1]}", seen
    httpd.shutdown()
    httpd.server_close()


def test_http_proxy_from_the_environment_is_used_and_its_password_stays_with_it(
    model_server: ModelServer, proxy: tuple[str, list[tuple[str, str, dict[str, str]]]],
    monkeypatch: pytest.MonkeyPatch
) -> None:
    address, seen = proxy
    monkeypatch.setenv("HTTP_PROXY", f"http://jos%C3%A9:s3cret@{address}")
    final, _ = run(settings_for(model_server.url))
    assert final.state == "done", final.message
    gets = [path for method, path, _ in seen if method == "GET"]
    assert any(path.startswith(model_server.url) for path in gets), seen[:3]
    assert any("/cdn/model.pth" in path for path in gets), "the redirect went round the proxy"
    auth = "Basic " + b64encode("josé:s3cret".encode()).decode()
    assert all(h.get("Proxy-Authorization") == auth for _, _, h in seen)
    assert all("Proxy-Authorization" not in s.headers for s in model_server.seen)
    monkeypatch.setenv("NO_PROXY", "127.0.0.1")
    seen.clear()
    shutil.rmtree(installed())
    final, _ = run(settings_for(model_server.url))
    assert final.state == "done" and not seen, "NO_PROXY is honoured"


def test_https_goes_through_a_connect_tunnel_and_a_refusing_proxy_is_named(
    proxy: tuple[str, list[tuple[str, str, dict[str, str]]]], monkeypatch: pytest.MonkeyPatch
) -> None:
    address, seen = proxy
    monkeypatch.setenv("HTTPS_PROXY", f"http://{address}")
    final, _ = run(settings_for("https://models.example.invalid/coqui/"))
    assert final.state == "failed"
    assert seen and seen[0][:2] == ("CONNECT", "models.example.invalid:443"), seen[:1]
    assert f"through the proxy {address}" in final.message and "407" in final.message, final.message


def test_no_proxy_means_the_failure_says_how_to_set_one() -> None:
    final, _ = run(settings_for("http://127.0.0.1:9/coqui/"))
    assert final.state == "failed" and "HTTPS_PROXY" in final.message, final.message


# --- a certificate that is not trusted (an inspecting company proxy, a wrong clock) ---
@pytest.fixture
def untrusted_https(tmp_path: Path) -> Iterator[tuple[str, list[int]]]:
    if shutil.which("openssl") is None:
        pytest.skip("openssl is needed to make a self-signed certificate")
    cert, key = tmp_path / "cert.pem", tmp_path / "key.pem"
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1", "-subj",
                    "/CN=127.0.0.1", "-keyout", str(key), "-out", str(cert)], check=True, capture_output=True)
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert, key)
    listener = socket.create_server(("127.0.0.1", 0))
    accepted: list[int] = []

    def serve() -> None:
        while True:
            try:
                conn, _ = listener.accept()
            except OSError:
                return
            accepted.append(1)
            try:
                context.wrap_socket(conn, server_side=True).close()
            except (OSError, ssl.SSLError):
                conn.close()

    threading.Thread(target=serve, daemon=True).start()
    yield f"https://127.0.0.1:{listener.getsockname()[1]}/coqui/", accepted
    listener.close()


def test_an_untrusted_certificate_is_said_to_be_one_and_not_retried(
    untrusted_https: tuple[str, list[int]]
) -> None:
    url, accepted = untrusted_https
    final, _ = run(settings_for(url))
    assert final.state == "failed"
    assert "certificate is not trusted" in final.message and "certificate store" in final.message, final.message
    # one HEAD a file (the sizes), then one GET: a retried one would add a connection per retry
    assert len(accepted) <= len(FILES) + 1, "a certificate problem was retried like a dropped connection"


# --- progress when the line stalls or drops ---
def test_a_dropped_connection_says_reconnecting_without_a_stale_eta(model_server: ModelServer) -> None:
    model_server.drop_after["model.pth"] = 150_000
    final, seen = run(settings_for(model_server.url))
    assert final.state == "done", final.message
    lost = [p for p in seen if "reconnecting" in p.message]
    assert lost, "the reconnect was never shown"
    assert all(p.eta_s is None and "left" not in p.message for p in lost)
    assert all(p.percent is None or 0 <= p.percent <= 100 for p in seen)


def test_no_eta_without_a_rate_or_with_nothing_left() -> None:
    meter = RateMeter(every_s=0.5)
    assert meter.eta(1000) is None
    meter.add(0, now=0.0)
    meter.add(0, now=1.0)  # stalled: 0 bytes/s
    assert meter.eta(1000) is None
    meter.add(1000, now=2.0)
    assert meter.eta(1000) is not None and meter.eta(1000) > 0  # type: ignore[operator]
    assert meter.eta(0) is None and meter.eta(-5000) is None  # more arrived than the estimate said


# --- two processes ---
def test_a_second_process_is_told_and_a_dead_ones_lock_is_gone(model_server: ModelServer) -> None:
    holder = subprocess.Popen(
        [sys.executable, "-c", "import sys, time; from daemon.download import store\n"
         "with store.locked():\n    print('held', flush=True); time.sleep(60)"],
        cwd=ROOT, env=os.environ.copy(), stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "held"
        final, _ = run(settings_for(model_server.url))
        assert final.state == "failed" and "already being downloaded" in final.message
    finally:
        holder.kill()  # dies holding the lock, as after a crash
        holder.wait()
        if holder.stdout is not None:
            holder.stdout.close()
    final, _ = run(settings_for(model_server.url))
    assert final.state == "done", final.message
