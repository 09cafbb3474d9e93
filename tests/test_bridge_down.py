"""A dead Colab bridge: the tray note, the notification text and the spoken answer all say what to do.

Real: the LLM stand-in server (HTTP on 127.0.0.1), LLMClient, Assistant, and the speech stack the product builds
(Pipeline, Router, system voice: tests/fixtures/answer.py).
No tunnel can exist here, so the list of tunnel domains is widened to 127.0.0.1 for these tests only
(`link.TUNNEL_SUFFIXES`); everything else runs as with a real trycloudflare/ngrok URL.
"""

from __future__ import annotations

from collections.abc import Callable

import pytest

from daemon.brain import link
from daemon.brain.errors import LLMNotAnLLMError, LLMUnreachableError
from daemon.brain.health import HealthPoller
from tests.fixtures.answer import AnswerRig
from tests.fixtures.llm_server import refused_url


@pytest.fixture
def rig(answer_rig: Callable[..., AnswerRig]) -> Callable[..., AnswerRig]:
    """An AnswerRig with short LLM timeouts."""
    return lambda url: answer_rig(url, llm_first_token_timeout_s=1.0, llm_idle_timeout_s=0.5)


@pytest.fixture
def loopback_is_a_tunnel(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(link, "TUNNEL_SUFFIXES", ("127.0.0.1",))


def test_tunnel_urls_get_bridge_wording_and_own_servers_do_not() -> None:
    exc = LLMUnreachableError("connection refused")
    assert link.explain_llm_failure(exc, "https://abc-def.trycloudflare.com") == (
        link.BRIDGE_DOWN, link.SPOKEN[link.BRIDGE_DOWN])
    assert link.explain_llm_failure(exc, "http://192.168.1.5:11434") == ("connection refused", None)
    assert link.is_bridge_url("https://x.ngrok-free.app/") and not link.is_bridge_url("http://localhost:11434")


@pytest.mark.parametrize("fault", ["html404", "refused"])
def test_dead_bridge_answer_is_spoken_and_the_tray_note_says_restart_the_notebook(
    llm_server, rig, loopback_is_a_tunnel: None, fault: str
) -> None:
    url = refused_url() if fault == "refused" else llm_server(api="ollama", fault=fault).url
    r = rig(url)
    r.ask("Is anyone there?")
    t = r.assistant.last_timings
    assert t is not None and t.error_kind in (LLMNotAnLLMError.__name__, LLMUnreachableError.__name__)
    assert " ".join(r.engine.calls) == link.SPOKEN[link.BRIDGE_DOWN]  # spoken sentence by sentence
    st = r.status.current
    assert st.llm_ok is False and st.llm_note == link.BRIDGE_DOWN and st.message == link.BRIDGE_DOWN


def test_health_poller_reports_the_bridge_down_then_recovers_by_itself(
    llm_server, rig, loopback_is_a_tunnel: None
) -> None:
    srv = llm_server(api="ollama", fault="html404")
    r = rig(srv.url)
    poller = HealthPoller(r.client, r.status, interval_s=0)
    assert poller.check_now() is False
    assert r.status.current.llm_note == link.BRIDGE_DOWN
    srv.fault = None  # the tunnel comes back on the same URL
    assert poller.check_now() is True and r.status.current.llm_ok is True
