"""The Colab bridge's connect link, `voxtray://connect?url=...&token=...`: parse, validate, build; and one
sentence for each way a bridge fails.

    link = parse_link(text)            # BridgeLink(url, token, model) or BadInputError with one clear message
    make_link(url, token, model)       # the line colab/bridge.py prints
    describe_bridge_failure(exc_or_status_code, body)   # "Colab bridge is down — ..." / "... rejected the token"

Only http(s) URLs with a host and no user:password part are accepted; everything has a size limit, so a pasted
link can never smuggle a file path, credentials or megabytes into settings.json.
"""

from __future__ import annotations

import ipaddress
import json
import re
import socket
from dataclasses import dataclass, field
from urllib.parse import parse_qs, quote, urlsplit

from daemon import paths
from daemon.errors import BadInputError

SCHEME = "voxtray"
ACTION = "connect"
MAX_LINK_CHARS = 4096
MAX_URL_CHARS = 2048
MAX_TOKEN_CHARS = 512
MIN_TOKEN_CHARS = 16
MAX_MODEL_CHARS = 200

BRIDGE_DOWN = "Colab bridge is down — restart the notebook and paste the new link"
TOKEN_REJECTED = (
    "the bridge rejected the token — paste the link the running notebook printed "
    "(every notebook run makes a new token)"
)

_TOKEN_RE = re.compile(r"[A-Za-z0-9._~+/=-]+")
_MODEL_RE = re.compile(r"[A-Za-z0-9._:/@+-]+")
_HOST_RE = re.compile(r"[a-z0-9]([a-z0-9.-]*[a-z0-9])?")
_DOWN_STATUSES = {404, 502, 503, 504, 520, 521, 522, 523, 524, 525, 526, 527, 530}
_DNS_MARKERS = (
    "name or service not known",
    "nodename nor servname",
    "temporary failure in name resolution",
    "getaddrinfo failed",
    "no address associated",
    "name resolution",
    "failed to resolve",
)
_HOW = "Copy the whole line that starts with voxtray://connect? from the notebook's output."


@dataclass(frozen=True)
class BridgeLink:
    """A validated connect link. The token never appears in repr()."""

    url: str
    token: str = field(repr=False)
    model: str = ""


def _is_ipv6(host: str) -> bool:
    try:
        return ipaddress.ip_address(host).version == 6
    except ValueError:
        return False


def _bad(message: str) -> BadInputError:
    return BadInputError(message)


def validate_url(url: str, how: str = _HOW, what: str = "the bridge URL") -> str:
    """An http(s) base URL without credentials, query or fragment (trailing '/' removed); else BadInputError.

    `what` names the URL in the message and `how` says what to do instead (the bridge link's advice by default)."""
    if len(url) > MAX_URL_CHARS:
        raise _bad(f"{what} is too long ({len(url)} characters, at most {MAX_URL_CHARS}). {how}")
    if not url:
        raise _bad(f"the link has no url=... part. {how}")
    if any(c.isspace() or ord(c) < 32 or ord(c) == 127 for c in url):
        raise _bad(f"{what} contains spaces or control characters. {how}")
    parts = urlsplit(url)
    scheme = parts.scheme.lower()
    if scheme not in ("http", "https"):
        shown = scheme or "none"
        raise _bad(f"{what} must start with https:// or http:// (it uses '{shown}:'). {how}")
    if "@" in parts.netloc:
        raise _bad(f"{what} must not contain a user name or password (user:password@host). {how}")
    host = parts.hostname or ""
    if not host or not (_HOST_RE.fullmatch(host) or _is_ipv6(host)):
        raise _bad(f"{what} has no valid host name. {how}")
    try:
        parts.port  # noqa: B018 - raises ValueError on a bad port
    except ValueError:
        raise _bad(f"{what} has an invalid port. {how}") from None
    if parts.query or parts.fragment:
        raise _bad(f"{what} must not have its own ?query or #fragment. {how}")
    return f"{scheme}://{parts.netloc}{parts.path}".rstrip("/")


def validate_token(token: str, how: str = _HOW, min_chars: int = MIN_TOKEN_CHARS) -> str:
    """A bearer token: `min_chars` (16 for a bridge's) to 512 URL-safe characters; else BadInputError."""
    if not token:
        raise _bad(f"the link has no token=... part. {how}")
    if len(token) > MAX_TOKEN_CHARS:
        raise _bad(f"the token is too long ({len(token)} characters, at most {MAX_TOKEN_CHARS}). {how}")
    if len(token) < min_chars:
        raise _bad(f"the token is too short ({len(token)} characters, at least {min_chars}). {how}")
    if not _TOKEN_RE.fullmatch(token):
        raise _bad(f"the token contains characters a bridge token never has. {how}")
    return token


def validate_model(model: str, how: str = _HOW) -> str:
    """A model name ('' allowed: the server's first); else BadInputError."""
    if len(model) > MAX_MODEL_CHARS or (model and not _MODEL_RE.fullmatch(model)):
        raise _bad(f"the model name is not valid. {how}")
    return model


def parse_link(text: str) -> BridgeLink:
    """Parse a pasted `voxtray://connect?url=...&token=...[&model=...]` link (surrounding quotes allowed)."""
    text = (text or "").strip().strip("'\"<>").strip()
    if len(text) > MAX_LINK_CHARS:
        raise _bad(f"the link is too long ({len(text)} characters, at most {MAX_LINK_CHARS}). {_HOW}")
    if not text:
        raise _bad(f"no link given. {_HOW}")
    parts = urlsplit(text)
    if parts.scheme.lower() in ("http", "https"):
        raise _bad(
            "that is a plain URL without the bridge's token. Paste the voxtray://connect?... line instead, "
            f"or run `{paths.command()} connect URL --token TOKEN`."
        )
    if parts.scheme.lower() != SCHEME or parts.netloc.lower() != ACTION or parts.path not in ("", "/"):
        raise _bad(f"this is not a VoxTray bridge link (it must start with voxtray://connect?). {_HOW}")
    try:
        params = parse_qs(parts.query, keep_blank_values=True, strict_parsing=True, max_num_fields=8)
    except ValueError:
        raise _bad(f"the link is malformed (its ?url=...&token=... part cannot be read). {_HOW}") from None
    unknown = sorted(set(params) - {"url", "token", "model"})
    if unknown:
        raise _bad(f"the link has unknown parts ({', '.join(unknown)[:80]}). {_HOW}")
    if any(len(v) > 1 for v in params.values()):
        raise _bad(f"the link repeats url, token or model. {_HOW}")
    url = validate_url(params.get("url", [""])[0])
    token = validate_token(params.get("token", [""])[0])
    model = validate_model(params.get("model", [""])[0])
    return BridgeLink(url=url, token=token, model=model)


def make_link(url: str, token: str, model: str = "") -> str:
    """The connect link for a bridge URL and token (what colab/bridge.py prints)."""
    link = f"{SCHEME}://{ACTION}?url={quote(url, safe='')}&token={quote(token, safe='')}"
    return link + (f"&model={quote(model, safe='')}" if model else "")


# ---- failures ------------------------------------------------------------------------------------------
def _looks_html(body: str) -> bool:
    head = body.lstrip()[:200].lower()
    return head.startswith(("<!doctype", "<html", "<head", "<body")) or "<html" in head


def _json_error(body: str) -> str:
    try:
        data = json.loads(body)
    except ValueError:
        return ""
    if isinstance(data, dict):
        err = data.get("error", data.get("detail", ""))
        if isinstance(err, dict):
            err = err.get("message", "")
        return str(err or "")[:200]
    return ""


def _chain(exc: BaseException) -> list[BaseException]:
    """The exception and everything it wraps (cause, context, urllib's .reason, args), without loops."""
    seen: list[BaseException] = []
    todo = [exc]
    while todo and len(seen) < 20:
        e = todo.pop()
        if any(e is s for s in seen):
            continue
        seen.append(e)
        for nxt in (e.__cause__, e.__context__, getattr(e, "reason", None), *e.args):
            if isinstance(nxt, BaseException):
                todo.append(nxt)
    return seen


def describe_bridge_failure(problem: BaseException | int | None, body: str | bytes = "") -> str:
    """One sentence for the tray/notification/voice: bridge down, token rejected, or what the server said.

    `problem` is an HTTP status code, or the exception a request raised (requests/urllib/http.client/the
    daemon's LLM errors); `body` is the response body when there was one. A status below 400 with a
    non-HTML body is no failure: the answer is then "".
    """
    text = body.decode("utf-8", "replace") if isinstance(body, bytes) else (body or "")
    status = problem if isinstance(problem, int) and not isinstance(problem, bool) else None
    if status is not None:
        if status == 401:
            return TOKEN_REJECTED
        if _looks_html(text):
            return BRIDGE_DOWN  # a tunnel/error page where the LLM's JSON was expected
        detail = _json_error(text)
        if status in _DOWN_STATUSES and not (status == 404 and detail):
            return BRIDGE_DOWN
        if status < 400:
            return ""  # not a failure (an HTML page was caught above)
        return f"the LLM server answered HTTP {status}" + (f": {detail}" if detail else "")
    if isinstance(problem, BaseException):
        for e in _chain(problem):
            name = type(e).__name__
            if isinstance(e, socket.gaierror) or name in ("NameResolutionError", "LLMNotAnLLMError"):
                return BRIDGE_DOWN
            if isinstance(e, (ConnectionError, json.JSONDecodeError)) or name in ("LLMUnreachableError",):
                return BRIDGE_DOWN
            if name == "LLMHTTPError":
                code = getattr(e, "status", None)
                if code == 404 and not _looks_html(text):
                    # the server itself answered (tunnel 404s are HTML pages): e.g. "model not found"
                    return f"the LLM server answered HTTP 404: {str(e)[:200]}"
                if isinstance(code, int):
                    return describe_bridge_failure(code, text)
            code = getattr(e, "status", getattr(e, "status_code", None))
            if isinstance(code, int) and not isinstance(code, bool) and code >= 400:
                return describe_bridge_failure(code, text)
        message = " ".join(str(e) for e in _chain(problem)).lower()
        if any(marker in message for marker in _DNS_MARKERS) or "connection refused" in message:
            return BRIDGE_DOWN
        if _looks_html(text):
            return BRIDGE_DOWN
        if isinstance(problem, TimeoutError) or "timed out" in message or type(problem).__name__ == "LLMTimeoutError":
            return "the LLM server did not answer in time — it may be loading the model; try again in a minute"
        return f"the LLM server could not be used ({type(problem).__name__}: {str(problem)[:160]})"
    return BRIDGE_DOWN if _looks_html(text) else "the LLM server could not be used"


TUNNEL_SUFFIXES = (".trycloudflare.com", ".ngrok-free.app", ".ngrok-free.dev", ".ngrok.app", ".ngrok.io")
SPOKEN = {
    BRIDGE_DOWN: "The Colab bridge is down. Restart the notebook and paste the new link.",
    TOKEN_REJECTED: "The bridge rejected the token. Paste the link the notebook printed.",
}


def is_bridge_url(url: str) -> bool:
    """Does remote_llm_url point at a tunnel (a Colab bridge) rather than a server of the user's own?"""
    host = (urlsplit(url.strip()).hostname or "").lower()
    return host.endswith(TUNNEL_SUFFIXES)


def explain_llm_failure(exc: BaseException, url: str) -> tuple[str, str | None]:
    """(note for the tray, sentence to speak or None) — bridge wording when the URL is a tunnel."""
    if not is_bridge_url(url):
        return str(exc), None
    note = describe_bridge_failure(exc)
    return note, SPOKEN.get(note)
