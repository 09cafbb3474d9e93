"""`connect LINK`: point VoxTray at a Colab bridge (or any Ollama/OpenAI server) after probing it."""

from __future__ import annotations

import argparse
import getpass
import logging
import sys

from daemon.cli.common import settings_path
from daemon.errors import BadInputError

log = logging.getLogger(__name__)


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser(
        "connect",
        help="connect to the Colab bridge: probe it, then save its URL and token",
        description=(
            "Probe the server behind a voxtray://connect?url=...&token=... link (health, model list, one tiny "
            "answer) and, if it works, save remote_llm_url and the token (OS keyring where available). "
            "Without LINK (or with '-') the link is read from standard input, which keeps the token out of "
            "your shell history. On failure nothing is changed."
        ),
    )
    p.add_argument("link", nargs="?", default="-", metavar="LINK", help="the voxtray://connect?... line, or '-'")
    p.add_argument("--token", metavar="TOKEN", help="with a plain http(s) URL as LINK: the bearer token to use")
    p.set_defaults(func=run)


def _read_link() -> str:
    if sys.stdin is not None and sys.stdin.isatty():
        return getpass.getpass("Paste the voxtray://connect?... line from the notebook (hidden): ")
    line = sys.stdin.readline(8192) if sys.stdin is not None else ""
    return line


def run(args: argparse.Namespace) -> int:
    from daemon.brain.connect import connect
    from daemon.brain.link import BridgeLink, parse_link, validate_token, validate_url

    text = _read_link() if args.link == "-" else args.link
    if args.token is not None:
        if text.strip().lower().startswith("voxtray:"):
            raise BadInputError("--token is only for a plain http(s) URL; the voxtray:// link carries its own token.")
        link = BridgeLink(url=validate_url(text.strip()), token=validate_token(args.token.strip()))
    else:
        link = parse_link(text)
    path = settings_path(args)
    print(f"probing {link.url} ...", flush=True)
    result = connect(link, path)
    print(f"connected: {result.summary}")
    print(f"saved remote_llm_url={result.url} (llm_api={result.settings.llm_api}) in {path}")
    print(f"token stored in {result.token_stored_in}")
    if "plain text" in result.token_stored_in:
        print("warning: no OS keyring here, so the token is in the settings file in plain text", file=sys.stderr)
    return 0
