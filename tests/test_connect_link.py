"""Connect links (`voxtray://connect?url=...&token=...`) and the one sentence for each way a bridge fails."""

from __future__ import annotations

import socket
from urllib.parse import quote

import pytest
import requests

from daemon.brain.link import (
    BRIDGE_DOWN,
    TOKEN_REJECTED,
    BridgeLink,
    describe_bridge_failure,
    make_link,
    parse_link,
)
from daemon.errors import BadInputError
from tests.fixtures.bridge import free_port_url, load_bridge_module

TOKEN = "gYwRkYV3t3yRc6_Lc_-ynPuTj_NQmd-Z8bZm060abmE"
URL = "https://seasonal-hobbies-printed-ministers.trycloudflare.com"
CLOUDFLARE_530 = (
    "<!DOCTYPE html>\n<!--[if lt IE 7]> <html class=\"no-js ie6 oldie\" lang=\"en-US\"> <![endif]-->\n"
    "<head><title>Cloudflare Tunnel error | seasonal-hobbies-printed-ministers.trycloudflare.com | Cloudflare"
    "</title></head><body>Error 1033</body></html>"
)


def link(url: str = URL, token: str = TOKEN, extra: str = "") -> str:
    return f"voxtray://connect?url={quote(url, safe='')}&token={quote(token, safe='')}{extra}"


def test_the_bridges_own_link_parses_back_to_its_url_token_and_model() -> None:
    printed = load_bridge_module().make_link(URL, TOKEN, "llama3.2:3b")
    assert printed == make_link(URL, TOKEN, "llama3.2:3b")  # the two sides agree on the format
    parsed = parse_link(f'  "{printed}"\n')
    assert parsed == BridgeLink(URL, TOKEN, "llama3.2:3b")
    assert TOKEN not in repr(parsed)


def test_trailing_slash_and_ports_and_ipv6_hosts_are_kept_sane() -> None:
    assert parse_link(link(URL + "/")).url == URL
    assert parse_link(link("http://127.0.0.1:8765")).url == "http://127.0.0.1:8765"
    assert parse_link(link("http://[::1]:8765/v1")).url == "http://[::1]:8765/v1"


HOSTILE = {
    "file URL": (link("file:///etc/passwd"), "must start with https:// or http://"),
    "file scheme instead of the link": ("file:///home/me/.ssh/id_rsa", "not a VoxTray bridge link"),
    "javascript": ("javascript:alert(document.cookie)", "not a VoxTray bridge link"),
    "ftp URL": (link("ftp://example.com/x"), "must start with https:// or http://"),
    "no scheme": (link("example.com"), "must start with https:// or http://"),
    "userinfo": (link("https://user:secret@evil.example"), "must not contain a user name or password"),
    "userinfo trick": (link(f"https://{URL[8:]}@evil.example"), "must not contain a user name or password"),
    "giant token": (link(token="A" * 100_000), "too long"),
    "token over the limit": (link(token="A" * 513), "the token is too long (513 characters, at most 512)"),
    "short token": (link(token="abc"), "the token is too short"),
    "token with a newline": (link(token=TOKEN + "\nX-Evil: 1"), "characters a bridge token never has"),
    "URL with CRLF": (link(URL + "\r\nHost: evil"), "spaces or control characters"),
    "no host": (link("https://"), "no valid host"),
    "bad port": (link("https://example.com:99999"), "invalid port"),
    "URL with its own query": (link(URL + "/?x=1"), "must not have its own ?query"),
    "no token": (f"voxtray://connect?url={quote(URL, safe='')}", "no token"),
    "no url": (f"voxtray://connect?token={TOKEN}", "no url"),
    "repeated url": (link(extra=f"&url={quote('https://evil.example', safe='')}"), "repeats url"),
    "unknown part": (link(extra="&exec=rm"), "unknown parts (exec)"),
    "other action": (link().replace("//connect?", "//install?"), "not a VoxTray bridge link"),
    "plain URL": (URL, "plain URL without the bridge's token"),
    "empty": ("   ", "no link given"),
    "garbage query": ("voxtray://connect?%%%", "malformed"),
    "bad model": (link(extra="&model=" + quote("x; rm -rf /", safe="")), "model name is not valid"),
}


@pytest.mark.parametrize("case", sorted(HOSTILE))
def test_malformed_and_hostile_links_get_one_clear_message(case: str) -> None:
    text, expected = HOSTILE[case]
    with pytest.raises(BadInputError) as err:
        parse_link(text)
    message = str(err.value)
    assert expected in message
    assert len(message) < 400  # never echoes a giant input back
    assert TOKEN not in message


@pytest.mark.parametrize(("status", "body"), [
    (404, "<html><body>Tunnel not found</body></html>"),
    (404, ""),  # ngrok's offline tunnel, a stopped quick tunnel
    (502, '{"error": "voxtray bridge: the LLM server on this machine is not answering (ClientConnectorError)"}'),
    (502, "Bad gateway"),
    (530, CLOUDFLARE_530),
    (200, CLOUDFLARE_530),  # an HTML wall with a 200 where JSON was expected
])
def test_tunnel_statuses_and_html_walls_read_as_bridge_down(status: int, body: str) -> None:
    assert describe_bridge_failure(status, body) == BRIDGE_DOWN
    assert describe_bridge_failure(status, body.encode()) == BRIDGE_DOWN


def test_401_reads_as_the_bridge_rejected_the_token() -> None:
    assert describe_bridge_failure(401, '{"error": "voxtray bridge: missing or wrong token"}') == TOKEN_REJECTED
    assert TOKEN_REJECTED.startswith("the bridge rejected the token")


def test_a_json_404_from_the_llm_itself_is_not_mistaken_for_a_dead_bridge() -> None:
    said = describe_bridge_failure(404, '{"error": "model \\"llama3.2:3b\\" not found, try pulling it first"}')
    assert said == 'the LLM server answered HTTP 404: model "llama3.2:3b" not found, try pulling it first'


def test_dns_failure_reads_as_bridge_down_from_a_real_lookup() -> None:
    with pytest.raises(socket.gaierror) as raw:
        socket.getaddrinfo("voxtray-bridge-gone.invalid", 443)
    assert describe_bridge_failure(raw.value) == BRIDGE_DOWN
    with pytest.raises(requests.ConnectionError) as wrapped:  # urllib3 NameResolutionError inside
        requests.get("https://voxtray-bridge-gone.invalid/api/tags", timeout=5)
    assert describe_bridge_failure(wrapped.value) == BRIDGE_DOWN


def test_refused_connection_and_html_json_errors_read_as_bridge_down() -> None:
    with pytest.raises(requests.ConnectionError) as refused:
        requests.get(free_port_url() + "/api/tags", timeout=5)
    assert describe_bridge_failure(refused.value) == BRIDGE_DOWN
    with pytest.raises(ValueError) as not_json:
        requests.models.complexjson.loads(CLOUDFLARE_530)
    assert describe_bridge_failure(not_json.value, CLOUDFLARE_530) == BRIDGE_DOWN


def test_a_timeout_says_so_instead_of_calling_the_bridge_down() -> None:
    from daemon.brain.errors import LLMTimeoutError

    assert "did not answer in time" in describe_bridge_failure(TimeoutError("timed out"))
    assert "did not answer in time" in describe_bridge_failure(LLMTimeoutError("no first token within 30 s"))
    assert describe_bridge_failure(200, '{"models": []}') == ""


def test_llm_client_errors_map_to_the_same_sentences() -> None:
    from daemon.brain.errors import LLMHTTPError, LLMNotAnLLMError, LLMUnreachableError

    assert describe_bridge_failure(LLMHTTPError("refused", 401)) == TOKEN_REJECTED
    assert describe_bridge_failure(LLMHTTPError("Bad gateway", 502)) == BRIDGE_DOWN
    assert describe_bridge_failure(LLMNotAnLLMError("HTTP 530, an HTML page at /api/tags")) == BRIDGE_DOWN
    assert describe_bridge_failure(LLMUnreachableError("cannot reach (Name or service not known)")) == BRIDGE_DOWN
    said = describe_bridge_failure(LLMHTTPError("the remote LLM has no model 'x' (HTTP 404: not found)", 404))
    assert said.startswith("the LLM server answered HTTP 404: the remote LLM has no model 'x'")
