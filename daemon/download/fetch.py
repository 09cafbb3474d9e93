"""Fetch one file over HTTP(S) into a `.part` file that survives dropped connections and restarts.

A sidecar `<name>.meta` (JSON: url, etag, last_modified, size) records what the part is a piece of, so a later
run asks only for the rest (`Range: bytes=N-`) and only if the file did not change on the server (`If-Range`
with the ETag, else Last-Modified): a changed file comes back whole (200) and the part starts again from zero.
Redirects are followed (Hugging Face sends large files to its CDN) and no credentials are ever sent: the only
headers are User-Agent, Accept-Encoding, Range and If-Range. A proxy is used as urllib and browsers use it:
HTTPS_PROXY / HTTP_PROXY / NO_PROXY, and on Windows the system's proxy settings (a CONNECT tunnel for https; a
user:password in the proxy's address is sent to the proxy only). A web page where a model file should be (a
Wi-Fi login page) is refused before a byte is written. `abort()` closes the socket from another thread, so a
blocked read ends at once.

This is a streaming transfer, so it uses `http.client` directly; daemon/net.py is for short JSON requests.
"""

from __future__ import annotations

import http.client
import json
import logging
import re
import socket
import ssl
import threading
import urllib.request
from base64 import b64encode
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path
from urllib.parse import SplitResult, unquote, urljoin, urlsplit

from daemon import __version__
from daemon.download.errors import Cancelled, DownloadError, NotFoundError, TransientError
from daemon.fsio import atomic_write_text

log = logging.getLogger(__name__)

CHUNK = 1 << 16
MAX_REDIRECTS = 10
TIMEOUT_S = 30.0  # connect, and each read: a stalled server counts as a dropped connection
REDIRECTS = {301, 302, 303, 307, 308}
_CONTENT_RANGE = re.compile(r"bytes\s+(\d+)-(\d+)/(\d+|\*)", re.I)
_SHA256 = re.compile(r"^[0-9a-f]{64}$")


@dataclass(frozen=True)
class Remote:
    """What the server said about a file (the response that carried its bytes, after redirects)."""

    url: str  # the URL asked for (before redirects: CDN links expire, the source URL does not)
    size: int | None
    etag: str | None
    last_modified: str | None
    sha256: str | None = None  # the file's SHA-256 when the source publishes it (Hugging Face: X-Linked-Etag)


def _sha256_of(linked_etag: str | None) -> str | None:
    """The SHA-256 in an X-Linked-Etag header ('"<64 hex>"'), else None."""
    value = (linked_etag or "").strip().removeprefix("W/").strip('"').lower()
    return value if _SHA256.match(value) else None


def meta_path(part: Path) -> Path:
    return part.with_name(part.name.removesuffix(".part") + ".meta")


def read_meta(path: Path) -> Remote | None:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        return Remote(str(data["url"]), data.get("size"), data.get("etag"), data.get("last_modified"),
                      data.get("sha256"))
    except (OSError, ValueError, KeyError, TypeError):
        return None


def write_meta(path: Path, remote: Remote) -> None:
    atomic_write_text(path, json.dumps(asdict(remote)) + "\n")


def _validator(meta: Remote) -> str | None:
    """The If-Range value: a strong ETag, else Last-Modified (a weak ETag may not be used with If-Range)."""
    if meta.etag and not meta.etag.startswith("W/"):
        return meta.etag
    return meta.last_modified


def _host_of(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc.rsplit('@', 1)[-1]}"  # never a user:password written in the URL


def proxy_for(parts: SplitResult) -> SplitResult | None:
    """The proxy to reach `parts` through (HTTPS_PROXY / HTTP_PROXY, else Windows' proxy settings), or None
    (no proxy, or NO_PROXY / the system's bypass list names the host)."""
    proxy = urllib.request.getproxies().get(parts.scheme)
    if not proxy or urllib.request.proxy_bypass(parts.hostname or ""):
        return None
    found = urlsplit(proxy if "://" in proxy else f"http://{proxy}")
    return found if found.hostname else None


def _proxy_auth(proxy: SplitResult) -> dict[str, str]:
    if proxy.username is None:
        return {}
    token = b64encode(f"{unquote(proxy.username)}:{unquote(proxy.password or '')}".encode()).decode("ascii")
    return {"Proxy-Authorization": f"Basic {token}"}


def _connection(parts: SplitResult, proxy: SplitResult | None, timeout: float
                ) -> tuple[http.client.HTTPConnection, str, dict[str, str]]:
    """A connection for `parts` (direct, or through `proxy`), the request target to send on it, and the
    headers meant for the proxy."""
    path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    https = parts.scheme == "https"
    if proxy is None:
        cls = http.client.HTTPSConnection if https else http.client.HTTPConnection
        return cls(parts.hostname or "", parts.port, timeout=timeout), path, {}
    if https:  # a tunnel: the proxy sees the host name only, TLS runs end to end with the real server
        tunnel = http.client.HTTPSConnection(proxy.hostname or "", proxy.port, timeout=timeout)
        tunnel.set_tunnel(parts.hostname or "", parts.port, headers=_proxy_auth(proxy))
        return tunnel, path, {}
    plain = http.client.HTTPConnection(proxy.hostname or "", proxy.port, timeout=timeout)
    return plain, _host_of(parts.geturl()) + path, _proxy_auth(proxy)


def _unreachable(url: str, proxy: SplitResult | None, exc: Exception) -> DownloadError:
    """What a failed connection means: a certificate problem (retrying cannot help) or a network one."""
    via = f" through the proxy {proxy.hostname}:{proxy.port or 80}" if proxy is not None else ""
    if isinstance(exc, ssl.SSLCertVerificationError):
        return DownloadError(
            f"the secure connection to {_host_of(url)}{via} failed: its certificate is not trusted "
            f"({exc.verify_message or exc}). On a company network that inspects HTTPS, its root certificate must "
            "be installed in the system's certificate store; also check the computer's date and time.")
    if isinstance(exc, ssl.SSLError):
        return TransientError(f"the secure connection to {_host_of(url)}{via} failed ({exc.reason or exc})")
    hint = "" if proxy is not None else "; behind a company proxy? set HTTPS_PROXY=http://host:port"
    return TransientError(f"{_host_of(url)} cannot be reached{via} ({exc.__class__.__name__}: {exc}){hint}")


def _not_a_page(url: str, resp: http.client.HTTPResponse) -> None:
    """A web page where a model file should be (none of them is HTML): a Wi-Fi login page, a proxy's notice."""
    kind = (resp.getheader("Content-Type") or "").split(";")[0].strip().lower()
    if kind in ("text/html", "application/xhtml+xml"):
        raise DownloadError(
            f"asking for {url.rsplit('/', 1)[-1]} brought a web page instead of the file (a Wi-Fi network that "
            "wants you to sign in, or a proxy's notice?): open a web browser, sign in to the network if asked, "
            "then try again. What was downloaded before is kept.")


class Fetcher:
    """HTTP transfers for one download job; `abort()` (from any thread) ends the current one at once."""

    def __init__(self, cancel: threading.Event, timeout: float = TIMEOUT_S) -> None:
        self._cancel = cancel
        self._timeout = timeout
        self._lock = threading.Lock()
        self._conn: http.client.HTTPConnection | None = None
        self.requests = 0  # for the log: how many requests the job made

    def abort(self) -> None:
        """Unblock a read in progress (the worker then sees the cancel flag)."""
        with self._lock:
            conn = self._conn
        sock = getattr(conn, "sock", None) if conn is not None else None
        if sock is not None:
            try:
                sock.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass

    def _check_cancel(self) -> None:
        if self._cancel.is_set():
            raise Cancelled()

    def _open(self, method: str, url: str, headers: dict[str, str]) -> tuple[http.client.HTTPResponse, str | None]:
        """Send the request, following redirects (the same headers on every hop); the final response, and the
        file's SHA-256 when a hop published it (Hugging Face answers /resolve/ of a large file with a redirect
        carrying X-Linked-Etag: the SHA-256 of the file's content)."""
        current = url
        sha256: str | None = None
        for _ in range(MAX_REDIRECTS + 1):
            self._check_cancel()
            parts = urlsplit(current)
            if parts.scheme not in ("http", "https") or not parts.hostname:
                raise DownloadError(f"{current} is not an http(s) address: check xtts_download_url in the settings.")
            if urlsplit(url).scheme == "https" and parts.scheme != "https":
                raise DownloadError(f"{_host_of(url)} redirected to an insecure address ({_host_of(current)}); "
                                    "download stopped. Check xtts_download_url.")
            proxy = proxy_for(parts)
            conn, target, proxy_headers = _connection(parts, proxy, self._timeout)
            with self._lock:
                self._conn = conn
            try:
                conn.request(method, target, headers={**headers, **proxy_headers})
                self.requests += 1
                resp = conn.getresponse()
            except (OSError, http.client.HTTPException) as exc:
                conn.close()
                self._check_cancel()
                raise _unreachable(current, proxy, exc) from None
            sha256 = sha256 or _sha256_of(resp.getheader("X-Linked-Etag"))
            location = resp.getheader("Location")
            if resp.status in REDIRECTS and location:
                resp.read(1 << 16)
                conn.close()
                current = urljoin(current, location)
                log.debug("redirected to %s", _host_of(current))
                continue
            return resp, sha256
        raise DownloadError(f"{_host_of(url)} redirected more than {MAX_REDIRECTS} times; check xtts_download_url.")

    def _close(self, resp: http.client.HTTPResponse) -> None:
        resp.close()
        with self._lock:
            conn, self._conn = self._conn, None
        if conn is not None:
            conn.close()

    def _status_error(self, url: str, resp: http.client.HTTPResponse) -> DownloadError:
        status, name = resp.status, url.rsplit("/", 1)[-1]
        if status in (408, 425, 429) or status >= 500:
            return TransientError(f"the server answered HTTP {status} {resp.reason} for {name}")
        if status in (404, 410):
            return NotFoundError(f"{_host_of(url)} has no {name} (HTTP 404): check xtts_download_url in the "
                                 "settings, it must be the base address of the XTTS v2 files.")
        return DownloadError(f"{_host_of(url)} refused {name} (HTTP {status} {resp.reason}); check "
                             "xtts_download_url, or try again later.")

    def head(self, url: str) -> Remote:
        """The size and validators of a remote file, without downloading it."""
        resp, sha256 = self._open("HEAD", url, self._headers())
        try:
            if resp.status >= 400:
                raise self._status_error(url, resp)
            _not_a_page(url, resp)
            return self._remote(url, resp, resp.getheader("Content-Length"), sha256)
        finally:
            self._close(resp)

    @staticmethod
    def _headers() -> dict[str, str]:
        return {"User-Agent": f"VoxTray/{__version__}", "Accept-Encoding": "identity"}

    @staticmethod
    def _remote(url: str, resp: http.client.HTTPResponse, size: str | None, sha256: str | None) -> Remote:
        return Remote(url, int(size) if size and size.isdigit() else None, resp.getheader("ETag"),
                      resp.getheader("Last-Modified"), sha256)

    def fetch(self, url: str, part: Path, *, on_bytes: Callable[[int], None],
              before_body: Callable[[int | None, int], None] | None = None) -> Remote:
        """One attempt at bringing `part` up to the whole file, resuming what is there when it is still the
        same remote file. `on_bytes(bytes_in_part)` after each chunk; `before_body(size, have)` once the
        server has answered (the disk-space check). Raises TransientError when the connection drops (what
        arrived is kept), DownloadError when retrying cannot help, Cancelled."""
        meta_file = meta_path(part)
        have = part.stat().st_size if part.is_file() else 0
        meta = read_meta(meta_file) if have else None
        headers = self._headers()
        if meta is not None and meta.url == url and (meta.size is None or have <= meta.size):
            if meta.size is not None and have == meta.size:
                return meta  # already whole
            headers["Range"] = f"bytes={have}-"
            if validator := _validator(meta):
                headers["If-Range"] = validator
        else:
            have = 0
        resp, sha256 = self._open("GET", url, headers)
        try:
            return self._receive(url, part, resp, have, on_bytes, before_body, sha256)
        finally:
            self._close(resp)

    def _receive(self, url: str, part: Path, resp: http.client.HTTPResponse, have: int,
                 on_bytes: Callable[[int], None], before_body: Callable[[int | None, int], None] | None,
                 sha256: str | None) -> Remote:
        name = url.rsplit("/", 1)[-1]
        if resp.status == 206:
            match = _CONTENT_RANGE.match(resp.getheader("Content-Range") or "")
            if not match or int(match.group(1)) != have:
                meta_path(part).unlink(missing_ok=True)  # the server resumed elsewhere: start again cleanly
                raise TransientError(f"the server resumed {name} at the wrong place; starting it again")
            remote = self._remote(url, resp, match.group(3), sha256)
            mode = "ab"
        elif resp.status == 200:
            if have:
                log.info("%s changed on the server (or it cannot resume): downloading it from the start", name)
            have = 0
            remote = self._remote(url, resp, resp.getheader("Content-Length"), sha256)
            mode = "wb"
        elif resp.status == 416:  # the part is as long as the file or longer: it cannot be the same file
            part.unlink(missing_ok=True)
            meta_path(part).unlink(missing_ok=True)
            raise TransientError(f"the part of {name} on disk does not match the server's file; starting it again")
        else:
            raise self._status_error(url, resp)
        _not_a_page(url, resp)
        if before_body is not None:
            before_body(remote.size, have)
        write_meta(meta_path(part), remote)
        on_bytes(have)
        with open(part, mode) as fh:  # a write error (disk full) is an OSError for the caller, not a retry
            while remote.size is None or have < remote.size:
                self._check_cancel()
                try:
                    chunk = resp.read(CHUNK if remote.size is None else min(CHUNK, remote.size - have))
                except (OSError, http.client.HTTPException) as exc:
                    self._check_cancel()
                    raise TransientError(f"the connection dropped while downloading {name} "
                                         f"({exc.__class__.__name__})") from None
                if not chunk:
                    break
                fh.write(chunk)
                have += len(chunk)
                on_bytes(have)
        self._check_cancel()
        if remote.size is not None and have < remote.size:
            raise TransientError(f"the connection dropped while downloading {name} ({have} of {remote.size} bytes)")
        return remote
