"""`python -m daemon connect LINK` end to end: the real colab/bridge.py (child process, no tunnel) in front of a
local Ollama stand-in, the real CLI entry point, a real settings file. Only Ollama is stood in; the OS keyring
is either absent (as on this headless box) or an in-memory backend plugged into the keyring package."""

from __future__ import annotations

import http.server
import os
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import quote

import pytest

from daemon import settings as settings_mod
from daemon.__main__ import main
from daemon.brain import secrets
from daemon.brain.link import BRIDGE_DOWN, make_link
from daemon.logs import log_file
from daemon.settings import Settings
from tests.fixtures.bridge import RunningBridge, free_port_url, start_bridge
from tests.fixtures.ollama import MODEL, OLLAMA_VERSION, OllamaStandIn
from tests.test_connect_link import CLOUDFLARE_530, HOSTILE


@pytest.fixture
def settings_file(tmp_path: Path) -> Path:
    path = tmp_path / "settings.json"
    settings_mod.save(Settings(remote_llm_url="http://old.example:11434", llm_model="old:7b"), path)
    return path


def run_connect(settings_file: Path, *args: str) -> int:
    return main(["--settings", str(settings_file), "connect", *args])


@pytest.fixture(scope="module")
def bridge_with_model(ollama_standin: OllamaStandIn) -> Iterator[RunningBridge]:
    bridge = start_bridge(ollama_standin.url, "--model", MODEL)
    yield bridge
    bridge.stop()


def test_good_link_probes_then_saves_url_model_and_token(
    running_bridge: RunningBridge, settings_file: Path, no_keyring: None, capsys: pytest.CaptureFixture[str]
) -> None:
    assert run_connect(settings_file, running_bridge.link) == 0
    out, err = capsys.readouterr()
    assert f"connected: Ollama {OLLAMA_VERSION}, model {MODEL}, first token in" in out
    saved = settings_mod.load(settings_file, check=False)
    assert saved.remote_llm_url == running_bridge.url
    assert saved.llm_api == "ollama"
    assert saved.llm_model == MODEL  # the configured old:7b is not on the bridge: the probed model is pinned
    assert saved.llm_api_key == running_bridge.token  # no OS keyring here: the settings file, with a warning
    assert secrets.get_token(saved) == running_bridge.token
    assert "plain text" in err
    assert running_bridge.token not in log_file().read_text(encoding="utf-8")  # never logged


def test_good_link_with_a_keyring_keeps_the_token_out_of_the_settings_file(
    bridge_with_model: RunningBridge, settings_file: Path, memory_keyring: dict[tuple[str, str], str],
    capsys: pytest.CaptureFixture[str],
) -> None:
    settings_mod.update(settings_file, llm_api_key="stale-old-key-0123456789")
    assert run_connect(settings_file, bridge_with_model.link) == 0
    out = capsys.readouterr().out
    assert "token stored in the OS keyring (test memory keyring)" in out
    assert memory_keyring[("voxtray", "llm_api_key")] == bridge_with_model.token
    text = settings_file.read_text(encoding="utf-8")
    assert bridge_with_model.token not in text and "stale-old-key" not in text
    saved = settings_mod.load(settings_file, check=False)
    assert saved.llm_model == MODEL and saved.remote_llm_url == bridge_with_model.url
    assert secrets.get_token(saved) == bridge_with_model.token


def test_link_read_from_stdin_keeps_the_token_out_of_the_command_line(
    running_bridge: RunningBridge, settings_file: Path, tmp_path: Path
) -> None:
    env_dirs = {"VOXTRAY_LOG_DIR": str(tmp_path / "logs"), "PYTHON_KEYRING_BACKEND": "keyring.backends.fail.Keyring"}
    done = subprocess.run([sys.executable, "-m", "daemon", "--settings", str(settings_file), "connect"],
                          input=running_bridge.link + "\n", capture_output=True, text=True, timeout=60,
                          env={**os.environ, **env_dirs}, cwd=Path(__file__).resolve().parent.parent)
    assert done.returncode == 0, done.stderr
    assert "connected: Ollama" in done.stdout
    assert settings_mod.load(settings_file, check=False).remote_llm_url == running_bridge.url


def test_wrong_token_says_the_bridge_rejected_it_and_leaves_settings_untouched(
    running_bridge: RunningBridge, settings_file: Path, no_keyring: None, capsys: pytest.CaptureFixture[str]
) -> None:
    before = settings_file.read_bytes()
    wrong = make_link(running_bridge.url, "W" * 43)
    assert run_connect(settings_file, wrong) == 1
    assert "the bridge rejected the token" in capsys.readouterr().err
    assert settings_file.read_bytes() == before


def test_expired_link_bridge_gone_says_bridge_down_and_leaves_settings_untouched(
    settings_file: Path, no_keyring: None, capsys: pytest.CaptureFixture[str]
) -> None:
    before = settings_file.read_bytes()
    for url in (free_port_url(), "https://voxtray-bridge-gone.invalid"):
        assert run_connect(settings_file, make_link(url, "E" * 43)) == 1
        assert BRIDGE_DOWN in capsys.readouterr().err
    assert settings_file.read_bytes() == before


@pytest.fixture
def tunnel_error_page() -> Iterator[str]:
    """A local server answering every request like a dead cloudflared quick tunnel (HTTP 530, HTML)."""

    class Handler(http.server.BaseHTTPRequestHandler):
        def log_message(self, format: str, *args: object) -> None:
            pass

        def _page(self) -> None:
            data = CLOUDFLARE_530.encode()
            self.send_response(530)
            self.send_header("Content-Type", "text/html; charset=UTF-8")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        do_GET = do_POST = _page

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


def test_html_tunnel_error_page_says_bridge_down_and_leaves_settings_untouched(
    tunnel_error_page: str, settings_file: Path, no_keyring: None, capsys: pytest.CaptureFixture[str]
) -> None:
    before = settings_file.read_bytes()
    assert run_connect(settings_file, make_link(tunnel_error_page, "H" * 43)) == 1
    assert BRIDGE_DOWN in capsys.readouterr().err
    assert settings_file.read_bytes() == before


@pytest.mark.parametrize("case", sorted(HOSTILE))
def test_malformed_and_hostile_links_exit_2_with_one_message_and_settings_untouched(
    case: str, settings_file: Path, no_keyring: None, capsys: pytest.CaptureFixture[str]
) -> None:
    before = settings_file.read_bytes()
    text, expected = HOSTILE[case]
    assert run_connect(settings_file, text) == 2
    err = capsys.readouterr().err
    assert expected in err and err.count("\n") == 1
    assert settings_file.read_bytes() == before


def test_plain_url_with_token_option_works_and_a_link_with_token_option_is_refused(
    running_bridge: RunningBridge, settings_file: Path, no_keyring: None, capsys: pytest.CaptureFixture[str]
) -> None:
    before = settings_file.read_bytes()
    assert run_connect(settings_file, running_bridge.link, f"--token={running_bridge.token}") == 2
    assert "--token is only for a plain http(s) URL" in capsys.readouterr().err
    assert settings_file.read_bytes() == before
    assert run_connect(settings_file, running_bridge.url, f"--token={running_bridge.token}") == 0
    assert settings_mod.load(settings_file, check=False).remote_llm_url == running_bridge.url


def test_a_model_the_bridge_does_not_have_is_named_and_settings_untouched(
    running_bridge: RunningBridge, settings_file: Path, no_keyring: None, capsys: pytest.CaptureFixture[str]
) -> None:
    before = settings_file.read_bytes()
    text = make_link(running_bridge.url, running_bridge.token) + "&model=" + quote("llama3.2:3b", safe="")
    assert run_connect(settings_file, text) == 1
    assert f"no model 'llama3.2:3b' (it has: {MODEL})" in capsys.readouterr().err
    assert settings_file.read_bytes() == before


def test_a_broken_settings_file_is_reported_before_probing_and_left_as_it_was(
    running_bridge: RunningBridge, tmp_path: Path, no_keyring: None, capsys: pytest.CaptureFixture[str]
) -> None:
    broken = tmp_path / "broken.json"
    broken.write_text('{"remote_llm_url": ', encoding="utf-8")
    assert run_connect(broken, running_bridge.link) == 2
    assert "not valid JSON" in capsys.readouterr().err
    assert broken.read_text(encoding="utf-8") == '{"remote_llm_url": '
