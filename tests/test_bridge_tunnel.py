"""The bridge's tunnel step (`open_tunnel`): its command lines, and the public URL read from the tools' real
output format. No cloudflared/ngrok binary (or internet) here: a stand-in executable records the command line
it was given and replays the captured output (tests/fixtures/bridge_*.log) the way the real tool writes it."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import pytest

from tests.fixtures.bridge import CLOUDFLARED_LOG, NGROK_LOG, load_bridge_module

bridge = load_bridge_module()


def test_cloudflared_command_is_a_quick_tunnel_to_the_local_proxy_with_a_local_host_header() -> None:
    assert bridge.tunnel_command("cloudflared", 8765, "/content/cloudflared") == [
        "/content/cloudflared", "tunnel", "--no-autoupdate", "--url", "http://127.0.0.1:8765",
        "--http-host-header", "localhost:8765",
    ]


def test_ngrok_command_logs_to_stdout_in_logfmt_and_keeps_the_authtoken_off_the_command_line() -> None:
    argv = bridge.tunnel_command("ngrok", 8765, "ngrok")
    assert argv == ["ngrok", "http", "http://127.0.0.1:8765", "--log", "stdout", "--log-format", "logfmt",
                    "--host-header", "localhost:8765"]
    assert not any("authtoken" in a.lower() for a in argv)  # ngrok reads NGROK_AUTHTOKEN from the environment


def test_unknown_tunnel_kind_is_a_clear_error() -> None:
    with pytest.raises(bridge.BridgeError, match="unknown tunnel 'frp'"):
        bridge.tunnel_command("frp", 1, "frp")


@pytest.mark.parametrize(("kind", "log", "url"), [
    ("cloudflared", CLOUDFLARED_LOG, "https://seasonal-hobbies-printed-ministers.trycloudflare.com"),
    ("ngrok", NGROK_LOG, "https://3f9a-34-125-77-12.ngrok-free.app"),
])
def test_exactly_the_public_url_is_found_in_the_captured_output(kind: str, log: Path, url: str) -> None:
    found = [u for line in log.read_text(encoding="utf-8").splitlines() if (u := bridge.parse_tunnel_url(kind, line))]
    assert found == [url]  # not the disclaimer's cloudflare.com links, not "on trycloudflare.com...", not :4040


@pytest.mark.parametrize(("kind", "log", "url"), [
    ("cloudflared", CLOUDFLARED_LOG, "https://seasonal-hobbies-printed-ministers.trycloudflare.com"),
    ("ngrok", NGROK_LOG, "https://3f9a-34-125-77-12.ngrok-free.app"),
])
def test_open_tunnel_runs_the_tool_and_returns_its_url_while_it_keeps_running(
    kind: str, log: Path, url: str, fake_tunnel_binary: Any, tmp_path: Path
) -> None:
    binary, argv_file = fake_tunnel_binary(kind, log)
    tunnel = bridge.open_tunnel(kind, 8765, binary, timeout_s=20, log_path=tmp_path / "tunnel.log")
    try:
        assert tunnel.url == url
        assert tunnel.alive()
        assert argv_file.read_text().splitlines() == bridge.tunnel_command(kind, 8765, binary)
        deadline = time.monotonic() + 10
        while len(tunnel.lines) < len(log.read_text().splitlines()) and time.monotonic() < deadline:
            time.sleep(0.02)  # the output keeps being drained after the URL (a full pipe would block the tool)
        assert tunnel.lines == log.read_text(encoding="utf-8").splitlines()
    finally:
        tunnel.close()
    assert not tunnel.alive()


def test_a_tunnel_that_exits_before_printing_a_url_is_a_clear_error(fake_tunnel_binary: Any, tmp_path: Path) -> None:
    failing = tmp_path / "failing.log"
    failing.write_text('2025-06-12T09:14:02Z INF Requesting new quick Tunnel on trycloudflare.com...\n'
                       '2025-06-12T09:14:17Z ERR Error requesting new quick Tunnel error="failed to request quick '
                       'Tunnel: 429 Too Many Requests"\nfailed to request quick Tunnel\n')
    binary, _ = fake_tunnel_binary("cloudflared", failing, exit_code=1)
    with pytest.raises(bridge.BridgeError, match=r"(?s)cloudflared exited \(code 1\).*429 Too Many Requests"):
        bridge.open_tunnel("cloudflared", 8765, binary, timeout_s=20)


def test_a_tunnel_that_prints_no_url_in_time_is_stopped_with_a_clear_error(
    fake_tunnel_binary: Any, tmp_path: Path
) -> None:
    quiet = tmp_path / "quiet.log"
    quiet.write_text("2025-06-12T09:14:02Z INF Requesting new quick Tunnel on trycloudflare.com...\n")
    binary, _ = fake_tunnel_binary("cloudflared", quiet)
    with pytest.raises(bridge.BridgeError, match="printed no public URL within 1 s"):
        bridge.open_tunnel("cloudflared", 8765, binary, timeout_s=1)
