#!/usr/bin/env python3
"""VoxTray Colab bridge: a remote LLM for VoxTray, reachable from your PC through a public tunnel.

On a Colab GPU runtime (or any Linux box) this script:
  1. installs and starts Ollama and pulls the model (or uses an Ollama/OpenAI-compatible server you name with
     --upstream),
  2. puts an authenticating reverse proxy in front of it: a random bearer token per run, compared in constant
     time, 401 otherwise, a request size limit, streaming answers passed through unbuffered,
  3. opens a public tunnel to the proxy (a cloudflared quick tunnel, or ngrok when NGROK_AUTHTOKEN is set),
  4. prints ONE line to paste into VoxTray — `voxtray://connect?url=...&token=...` — and keeps running
     (restarting the tunnel or Ollama if they die, and printing the new link) until you stop the cell.

    python bridge.py --model llama3.2:3b                    # Ollama + cloudflared (the default)
    NGROK_AUTHTOKEN=... python bridge.py --tunnel ngrok     # ngrok instead
    python bridge.py --upstream http://127.0.0.1:8000 --server openai   # an OpenAI-compatible server
    python bridge.py --upstream http://127.0.0.1:11434 --tunnel none    # local test: no tunnel

Standard library + aiohttp only (both present on Colab). Never prints or logs the token except in the link.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import hmac
import json
import os
import platform
import queue
import re
import secrets
import shutil
import signal
import subprocess
import sys
import tarfile
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import quote

from aiohttp import ClientConnectionError, ClientSession, ClientTimeout, web

VERSION = "1"
DEFAULT_MODEL = "llama3.2:3b"
OLLAMA_URL = "http://127.0.0.1:11434"
DEFAULT_PORT = 8765
DEFAULT_MAX_REQUEST_BYTES = 4 * 1024 * 1024
TUNNEL_TIMEOUT_S = 90.0
WORK_DIR = Path(os.environ.get("VOXTRAY_BRIDGE_DIR", "/content" if Path("/content").is_dir() else "."))
CLOUDFLARED_URL = "https://github.com/cloudflare/cloudflared/releases/latest/download/cloudflared-linux-{arch}"
NGROK_URL = "https://bin.equinox.io/c/bNyj1mQVY4c/ngrok-v3-stable-linux-{arch}.tgz"
OLLAMA_INSTALL = "curl -fsSL https://ollama.com/install.sh | sh"

# Headers that belong to one hop (RFC 9110 §7.6.1) or carry the client's credentials: never forwarded.
HOP_BY_HOP = frozenset(
    h.lower()
    for h in (
        "Connection", "Keep-Alive", "Proxy-Authenticate", "Proxy-Authorization", "TE", "Trailer",
        "Transfer-Encoding", "Upgrade", "Host", "Authorization", "Content-Length", "Cookie", "Origin",
    )
)


class BridgeError(Exception):
    """A start-up step failed; the message says what to do."""


def say(message: str) -> None:
    """One line of progress for the notebook's output."""
    print(f"[voxtray bridge] {message}", flush=True)


# ---- the link ------------------------------------------------------------------------------------------
def make_link(url: str, token: str, model: str = "") -> str:
    """The line to paste into VoxTray (same format as daemon/brain/link.py parses)."""
    link = f"voxtray://connect?url={quote(url, safe='')}&token={quote(token, safe='')}"
    return link + (f"&model={quote(model, safe='')}" if model else "")


def new_token() -> str:
    """A fresh random bearer token (256 bits, URL-safe, never starting with '-' so CLIs don't take it for an option)."""
    while True:
        token = secrets.token_urlsafe(32)
        if not token.startswith("-"):
            return token


# ---- the authenticating proxy --------------------------------------------------------------------------
def token_ok(authorization: str | None, token: str) -> bool:
    """Constant-time check of an `Authorization: Bearer <token>` header (missing/other schemes: False).

    hmac.compare_digest runs in time independent of where the strings differ; a missing or malformed header
    is still compared (against a dummy of the right length) so every rejection takes the same path.
    """
    presented = ""
    if authorization and authorization[:7].lower() == "bearer ":
        presented = authorization[7:].strip()
    expected = token.encode("utf-8")
    given = presented.encode("utf-8", "replace") if presented else b"\0" * len(expected)
    return hmac.compare_digest(given, expected) and bool(presented)


# aiohttp >= 3.9 wants typed app keys; older releases take a plain string.
SESSION_KEY: Any = web.AppKey("session", ClientSession) if hasattr(web, "AppKey") else "session"


def _json_response(status: int, message: str, **headers: str) -> web.Response:
    return web.json_response({"error": f"voxtray bridge: {message}"}, status=status, headers=headers)


@dataclass
class ProxyStats:
    requests: int = 0
    rejected: int = 0
    failures: int = 0


def make_proxy_app(
    upstream: str,
    token: str,
    *,
    max_request_bytes: int = DEFAULT_MAX_REQUEST_BYTES,
    upstream_key: str = "",
    stats: ProxyStats | None = None,
) -> web.Application:
    """An aiohttp app that checks the bearer token, then streams the request to `upstream` and back."""
    upstream = upstream.rstrip("/")
    counters = stats if stats is not None else ProxyStats()

    async def session_ctx(app: web.Application) -> Any:
        timeout = ClientTimeout(total=None, sock_connect=10, sock_read=None)
        async with ClientSession(timeout=timeout, auto_decompress=False) as session:
            app[SESSION_KEY] = session
            yield

    async def handle(request: web.Request) -> web.StreamResponse:
        counters.requests += 1
        if not token_ok(request.headers.get("Authorization"), token):
            counters.rejected += 1
            return _json_response(401, "missing or wrong token — paste the link this notebook printed",
                                  **{"WWW-Authenticate": 'Bearer realm="voxtray"'})
        if request.content_length is not None and request.content_length > max_request_bytes:
            return _json_response(413, f"request larger than {max_request_bytes} bytes")
        try:
            body = await request.read()  # bounded by client_max_size, also for chunked uploads
        except web.HTTPRequestEntityTooLarge:
            return _json_response(413, f"request larger than {max_request_bytes} bytes")
        headers = {k: v for k, v in request.headers.items() if k.lower() not in HOP_BY_HOP}
        if upstream_key:
            headers["Authorization"] = f"Bearer {upstream_key}"
        session: ClientSession = request.app[SESSION_KEY]
        started = time.monotonic()
        response: web.StreamResponse | None = None
        try:
            async with session.request(request.method, upstream + request.raw_path, data=body or None,
                                       headers=headers, allow_redirects=False) as up:
                out_headers = {k: v for k, v in up.headers.items() if k.lower() not in HOP_BY_HOP}
                out_headers["Cache-Control"] = "no-cache"
                out_headers["X-Accel-Buffering"] = "no"  # ask any proxy on the way not to buffer
                response = web.StreamResponse(status=up.status, reason=up.reason, headers=out_headers)
                if up.content_length is not None:
                    response.content_length = up.content_length
                await response.prepare(request)
                async for chunk in up.content.iter_any():
                    await response.write(chunk)  # each piece goes out as it arrives: no buffering
                await response.write_eof()
                status = up.status
        except ClientConnectionError as exc:
            counters.failures += 1
            if response is not None:
                raise  # the answer had started: nothing sane to send, drop the connection
            return _json_response(502, f"the LLM server on this machine is not answering ({type(exc).__name__})")
        if request.method != "GET" or status >= 400:  # health polls stay quiet
            say(f"{request.method} {request.path} -> {status} in {time.monotonic() - started:.2f} s")
        return response

    app = web.Application(client_max_size=max_request_bytes)
    app.cleanup_ctx.append(session_ctx)
    app.router.add_route("*", "/{tail:.*}", handle)
    return app


async def start_proxy(app: web.Application, host: str, port: int) -> tuple[web.AppRunner, int]:
    """Serve `app` on host:port (0 = any free port); returns the runner and the real port."""
    runner = web.AppRunner(app, access_log=None, handle_signals=False)
    await runner.setup()
    site = web.TCPSite(runner, host, port)
    await site.start()
    server = site._server
    sockets = getattr(server, "sockets", None) or []
    real_port = sockets[0].getsockname()[1] if sockets else port
    return runner, int(real_port)


# ---- the tunnel ----------------------------------------------------------------------------------------
CLOUDFLARED_RE = re.compile(r"https://[a-z0-9-]+\.trycloudflare\.com\b")
NGROK_RE = re.compile(r'msg="?started tunnel"?.*?\burl=(https://[^\s"]+)')


def tunnel_command(kind: str, port: int, binary: str) -> list[str]:
    """The tunnel's command line. The proxy sends the upstream's own Host header, so Ollama's host check is
    satisfied whatever the tunnel sends; the tunnel still sends a local Host to the proxy."""
    local = f"http://127.0.0.1:{port}"
    if kind == "cloudflared":
        return [binary, "tunnel", "--no-autoupdate", "--url", local, "--http-host-header", f"localhost:{port}"]
    if kind == "ngrok":
        return [binary, "http", local, "--log", "stdout", "--log-format", "logfmt",
                "--host-header", f"localhost:{port}"]
    raise BridgeError(f"unknown tunnel '{kind}' (use cloudflared, ngrok or none)")


def parse_tunnel_url(kind: str, line: str) -> str | None:
    """The public URL in one line of the tunnel's output, or None."""
    if kind == "cloudflared":
        m = CLOUDFLARED_RE.search(line)
        return m.group(0) if m else None
    m = NGROK_RE.search(line)
    return m.group(1).rstrip(">") if m else None


@dataclass
class Tunnel:
    kind: str
    url: str
    process: subprocess.Popen[str]
    lines: list[str] = field(default_factory=list)

    def alive(self) -> bool:
        return self.process.poll() is None

    def close(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(5)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(5)


def open_tunnel(kind: str, port: int, binary: str, *, env: dict[str, str] | None = None,
                timeout_s: float = TUNNEL_TIMEOUT_S, log_path: Path | None = None) -> Tunnel:
    """THE tunnel step: start the tunnel binary for 127.0.0.1:port and return once it prints its public URL.

    Its output keeps being drained (and kept, last 200 lines) by a thread so the pipe never fills up.
    """
    argv = tunnel_command(kind, port, binary)
    proc = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                            text=True, bufsize=1, env={**os.environ, **(env or {})})
    found: queue.Queue[str] = queue.Queue()
    tunnel = Tunnel(kind, "", proc)

    def drain() -> None:
        assert proc.stdout is not None
        sink = open(log_path, "a", encoding="utf-8") if log_path else None  # noqa: SIM115
        try:
            for line in proc.stdout:
                tunnel.lines.append(line.rstrip())
                del tunnel.lines[:-200]
                if sink:
                    sink.write(line)
                    sink.flush()
                url = parse_tunnel_url(kind, line)
                if url:
                    found.put(url)
        finally:
            if sink:
                sink.close()
            found.put("")  # the tunnel exited

    threading.Thread(target=drain, name=f"{kind}-output", daemon=True).start()
    try:
        url = found.get(timeout=timeout_s)
    except queue.Empty:
        tunnel.close()
        raise BridgeError(f"{kind} printed no public URL within {timeout_s:.0f} s; its last lines:\n"
                          + "\n".join(tunnel.lines[-10:])) from None
    if not url:
        with contextlib.suppress(subprocess.TimeoutExpired):
            proc.wait(5)
        tunnel.close()
        raise BridgeError(f"{kind} exited (code {proc.poll()}) before printing a URL; its last lines:\n"
                          + "\n".join(tunnel.lines[-10:]))
    tunnel.url = url
    return tunnel


def _arch() -> str:
    machine = platform.machine().lower()
    return {"x86_64": "amd64", "amd64": "amd64", "aarch64": "arm64", "arm64": "arm64"}.get(machine, machine)


def _download(url: str, target: Path) -> None:
    say(f"downloading {url}")
    tmp = target.with_suffix(".part")
    with urllib.request.urlopen(url, timeout=120) as resp, open(tmp, "wb") as fh:
        shutil.copyfileobj(resp, fh)
    tmp.replace(target)


def ensure_tunnel_binary(kind: str) -> str:
    """Path of cloudflared/ngrok: on PATH, else downloaded into the work folder."""
    found = shutil.which(kind)
    if found:
        return found
    target = WORK_DIR / kind
    if not target.exists():
        if kind == "cloudflared":
            _download(CLOUDFLARED_URL.format(arch=_arch()), target)
        else:
            archive = WORK_DIR / "ngrok.tgz"
            _download(NGROK_URL.format(arch=_arch()), archive)
            with tarfile.open(archive) as tar:
                member = tar.getmember("ngrok")
                member.name = target.name
                tar.extract(member, WORK_DIR)
        target.chmod(0o755)
    return str(target)


# ---- the LLM server ------------------------------------------------------------------------------------
def _get_json(url: str, timeout: float = 5.0, key: str = "") -> Any:
    req = urllib.request.Request(url, headers={"Authorization": f"Bearer {key}"} if key else {})
    with urllib.request.urlopen(req, timeout=timeout) as resp:
        return json.loads(resp.read(1 << 20))


def wait_healthy(upstream: str, server: str, timeout_s: float, key: str = "",
                 process: subprocess.Popen[Any] | None = None) -> str:
    """Wait until the LLM server answers its health request; returns a description ('Ollama 0.6.2')."""
    path = "/api/version" if server == "ollama" else "/v1/models"
    deadline = time.monotonic() + timeout_s
    last = ""
    while time.monotonic() < deadline:
        if process is not None and process.poll() is not None:
            raise BridgeError(f"the {server} server exited (code {process.returncode}); see its log")
        try:
            data = _get_json(upstream.rstrip("/") + path, key=key)
            if server == "ollama":
                return f"Ollama {data.get('version', '?')}"
            return f"OpenAI-compatible server ({len(data.get('data') or [])} models)"
        except (OSError, ValueError, AttributeError) as exc:
            last = f"{type(exc).__name__}: {exc}"
        time.sleep(0.5)
    raise BridgeError(f"the {server} server at {upstream} did not answer within {timeout_s:.0f} s ({last})")


def install_ollama() -> None:
    """Install Ollama with its official script (needs zstd and, for GPU detection, lspci)."""
    if shutil.which("ollama"):
        return
    if shutil.which("apt-get") and not (shutil.which("zstd") and shutil.which("lspci")):
        say("installing zstd and pciutils (needed by Ollama's installer)")
        subprocess.run(["apt-get", "install", "-y", "-qq", "zstd", "pciutils"], check=False,
                       stdout=subprocess.DEVNULL)
    say("installing Ollama (about a minute)")
    done = subprocess.run(["bash", "-c", OLLAMA_INSTALL], check=False)
    if done.returncode != 0 or not shutil.which("ollama"):
        raise BridgeError("Ollama's installer failed (see above); re-run the cell, or use --upstream")


def start_ollama(log_path: Path) -> subprocess.Popen[bytes]:
    """`ollama serve` on 127.0.0.1:11434, models kept loaded (keep-alive -1)."""
    env = {**os.environ, "OLLAMA_HOST": "127.0.0.1:11434", "OLLAMA_KEEP_ALIVE": "-1"}
    say(f"starting Ollama (log: {log_path})")
    with open(log_path, "ab") as log:
        return subprocess.Popen(["ollama", "serve"], stdout=log, stderr=subprocess.STDOUT, env=env,
                                stdin=subprocess.DEVNULL)


def _post_lines(url: str, payload: dict[str, Any], timeout: float) -> Iterable[dict[str, Any]]:
    req = urllib.request.Request(url, data=json.dumps(payload).encode(), method="POST",
                                 headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(req, timeout=timeout) as resp:
        for raw in resp:
            if raw.strip():
                yield json.loads(raw)


def pull_model(upstream: str, model: str) -> None:
    """`ollama pull` through the API, with progress every ~10 %."""
    say(f"pulling {model} (first time: a few minutes)")
    shown, layer = -10, ""
    for event in _post_lines(upstream + "/api/pull", {"model": model, "stream": True}, timeout=3600):
        if event.get("error"):
            raise BridgeError(f"Ollama could not pull '{model}': {event['error']} — check the model name "
                              "at https://ollama.com/library")
        total, done = event.get("total") or 0, event.get("completed") or 0
        if event.get("digest", layer) != layer:  # progress restarts for each layer of the model
            shown, layer = -10, event.get("digest", "")
        if total and done * 100 // total >= shown + 10:
            shown = done * 100 // total
            say(f"  {event.get('status', '')[:40]} {shown}% of {total / 1e9:.1f} GB")
    say(f"{model} is ready")


def warm_model(upstream: str, model: str) -> None:
    """Load the model into GPU memory now, so the first question is fast."""
    say(f"loading {model} into GPU memory")
    for event in _post_lines(upstream + "/api/generate", {"model": model, "prompt": "", "keep_alive": -1},
                             timeout=600):
        if event.get("error"):
            raise BridgeError(f"Ollama could not load '{model}': {event['error']}")


# ---- main ----------------------------------------------------------------------------------------------
def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(description="VoxTray Colab bridge: LLM + authenticating proxy + public tunnel.")
    p.add_argument("--model", default=None,
                   help=f"Ollama model to pull and serve (default {DEFAULT_MODEL}); with --upstream: the model "
                        "VoxTray should use (default: the first the server lists)")
    p.add_argument("--upstream", default="", help="use this running server instead of installing Ollama")
    p.add_argument("--server", choices=["ollama", "openai"], default="ollama", help="the upstream's API")
    p.add_argument("--upstream-key-env", default="BRIDGE_UPSTREAM_KEY",
                   help="environment variable holding the upstream server's own API key (if it needs one)")
    p.add_argument("--tunnel", choices=["auto", "cloudflared", "ngrok", "none"], default="auto",
                   help="auto = ngrok when NGROK_AUTHTOKEN is set, else a cloudflared quick tunnel")
    p.add_argument("--port", type=int, default=DEFAULT_PORT, help="local proxy port (0 = any free port)")
    p.add_argument("--max-request-bytes", type=int, default=DEFAULT_MAX_REQUEST_BYTES)
    p.add_argument("--check-interval", type=float, default=30.0, help="seconds between self-checks")
    p.add_argument("--no-pull", action="store_true", help="do not pull/warm the model (it is already there)")
    p.add_argument("--start-timeout", type=float, default=120.0, help="seconds to wait for the LLM server")
    return p


@dataclass
class Bridge:
    args: argparse.Namespace
    token: str
    upstream: str = ""
    ollama: subprocess.Popen[bytes] | None = None
    tunnel: Tunnel | None = None
    port: int = 0
    stats: ProxyStats = field(default_factory=ProxyStats)

    def prepare_upstream(self) -> str:
        """Start (or find) the LLM server and the model; returns its description."""
        a = self.args
        if a.upstream:
            self.upstream = a.upstream.rstrip("/")
            return wait_healthy(self.upstream, a.server, a.start_timeout, key=os.environ.get(a.upstream_key_env, ""))
        self.upstream = OLLAMA_URL
        a.model = a.model or DEFAULT_MODEL
        install_ollama()
        self.ollama = start_ollama(WORK_DIR / "ollama.log")
        found = wait_healthy(self.upstream, "ollama", a.start_timeout, process=self.ollama)
        if not a.no_pull:
            pull_model(self.upstream, a.model)
            warm_model(self.upstream, a.model)
        return found

    def tunnel_kind(self) -> str:
        kind: str = self.args.tunnel
        if kind == "auto":
            kind = "ngrok" if os.environ.get("NGROK_AUTHTOKEN") else "cloudflared"
        return kind

    def open_public_url(self) -> str:
        kind = self.tunnel_kind()
        if kind == "none":
            return f"http://127.0.0.1:{self.port}"
        if kind == "ngrok" and not os.environ.get("NGROK_AUTHTOKEN"):
            raise BridgeError("ngrok needs your authtoken: copy it from https://dashboard.ngrok.com/get-started/"
                              "your-authtoken into NGROK_AUTHTOKEN (or choose the cloudflared tunnel)")
        say(f"opening a {kind} tunnel")
        binary = ensure_tunnel_binary(kind)
        self.tunnel = open_tunnel(kind, self.port, binary, log_path=WORK_DIR / f"{kind}.log")
        return self.tunnel.url

    def announce(self, url: str) -> None:
        model = self.args.model or ""
        print("\n" + "=" * 78, flush=True)
        print("Paste this line into VoxTray (tray menu: Set up the LLM…, or", flush=True)
        print("`python -m daemon connect` and paste it when asked):\n", flush=True)
        print(make_link(url, self.token, model), flush=True)
        print(f"\n(plain URL: {url}   token: {self.token})", flush=True)
        print("Keep this cell running. Stopping it (or the Colab runtime) stops the bridge.", flush=True)
        print("=" * 78 + "\n", flush=True)

    async def watch(self) -> None:
        """Keep the session busy and the parts alive; print a new link when the tunnel URL changes."""
        last_note = time.monotonic()
        while True:
            await asyncio.sleep(self.args.check_interval)
            if self.ollama is not None and self.ollama.poll() is not None:
                say(f"Ollama exited (code {self.ollama.returncode}); restarting it")
                self.ollama = start_ollama(WORK_DIR / "ollama.log")
                await asyncio.to_thread(wait_healthy, self.upstream, "ollama", 120, "", self.ollama)
            if self.tunnel is not None and not self.tunnel.alive():
                say("the tunnel died; opening a new one (the link changes: paste the new one)")
                url = await asyncio.to_thread(self.open_public_url)
                self.announce(url)
            if time.monotonic() - last_note >= 600:
                last_note = time.monotonic()
                s = self.stats
                say(f"still running: {s.requests} requests, {s.rejected} rejected, {s.failures} upstream failures")

    async def run(self) -> None:
        app = make_proxy_app(self.upstream, self.token, max_request_bytes=self.args.max_request_bytes,
                             upstream_key=os.environ.get(self.args.upstream_key_env, ""), stats=self.stats)
        runner, self.port = await start_proxy(app, "127.0.0.1", self.args.port)
        say(f"proxy on 127.0.0.1:{self.port} -> {self.upstream}")
        try:
            url = await asyncio.to_thread(self.open_public_url)
            self.announce(url)
            await self.watch()
        finally:
            if self.tunnel is not None:
                self.tunnel.close()
            await runner.cleanup()

    def close(self) -> None:
        if self.tunnel is not None:
            self.tunnel.close()
        if self.ollama is not None and self.ollama.poll() is None:
            self.ollama.terminate()
            with contextlib.suppress(subprocess.TimeoutExpired):
                self.ollama.wait(10)


def _interrupt(signum: int, frame: Any) -> None:
    raise KeyboardInterrupt


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    if args.upstream and not re.match(r"^https?://", args.upstream):
        print("[voxtray bridge] --upstream must be an http(s) URL", file=sys.stderr)
        return 2
    signal.signal(signal.SIGTERM, _interrupt)
    bridge = Bridge(args, new_token())
    try:
        say(f"VoxTray bridge v{VERSION}")
        if not args.upstream and not shutil.which("nvidia-smi"):
            say("warning: no GPU found — in Colab choose Runtime > Change runtime type > T4 GPU")
        say(f"LLM server: {bridge.prepare_upstream()}")
        asyncio.run(bridge.run())
    except KeyboardInterrupt:
        say("stopped")
        return 0
    except (BridgeError, urllib.error.URLError) as exc:
        print(f"[voxtray bridge] ERROR: {exc}", file=sys.stderr, flush=True)
        return 1
    finally:
        bridge.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
