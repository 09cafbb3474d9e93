"""Issue 13 item 4, "never silent": every question ends in speech, the answer or one short sentence saying what
went wrong, and the daemon stays alive; `ask` exits non-zero when the answer was not spoken.

Real: the stand-in LLM servers (hostile ones included), LLMClient, Assistant, and the speech stack the product
builds (Pipeline, Router, the system voice: espeak-ng in a child process; tests/fixtures/answer.py). Only the
audio device is a MemorySink; the engine is wrapped in `Faulty` (with no fault) to record what was spoken.
"""

from __future__ import annotations

import json
import logging
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from daemon.assistant import UNEXPECTED
from daemon.brain.client import LLMClient
from daemon.brain.stream import ChatStream
from daemon.speech.pipeline import TOO_LONG
from tests.conftest import ROOT
from tests.fixtures.answer import AnswerRig
from tests.fixtures.llm_server import DEFAULT_TOKENS

FIRST = "The sky is blue because air scatters blue light."
SECOND = "Sunsets look red for the same reason."


DEFAULTS: dict[str, object] = {"llm_first_token_timeout_s": 0.8, "llm_idle_timeout_s": 0.5,
                               "llm_health_interval_s": 0, "history_turns": 0}


@pytest.fixture
def rigs(answer_rig: Callable[..., AnswerRig]) -> Callable[..., AnswerRig]:
    """An AnswerRig (tests/fixtures/answer.py) with this module's short LLM timeouts and no history."""
    return lambda url, **settings: answer_rig(url, **{**DEFAULTS, **settings})


HOSTILE = [
    # fault, server behaviour, settings, sentences of the answer spoken first, the last spoken sentence, bound (s)
    ("keepalive", {"fault_after": 10}, {}, [FIRST, "Sunsets"], "The language model stopped answering.", 0.5),
    ("dribble", {"fault_after": 10}, {}, [FIRST, "Sunsets"], "The language model stopped answering.", 0.5),
    ("dribble", {"fault_after": 0}, {}, [], "The language model is taking too long to answer.", 0.8),
    ("huge", {}, {"llm_max_answer_chars": 130}, ["All work and no play makes a dull answer."] * 3 + ["All"],
     "The answer was too long, so I stopped it there.", 0.5),
    ("blank", {}, {}, [], "The language model sent an empty answer.", 0.5),
    ("code", {}, {}, [], "The answer was only code; it is in the log.", 0.5),
]


@pytest.mark.parametrize(("fault", "behaviour", "settings", "answer", "last", "bound"), HOSTILE,
                         ids=[f"{h[0]}-{h[1].get('fault_after', '')}" for h in HOSTILE])
def test_hostile_servers_end_within_their_bounds_with_speech_and_a_message(
    llm_server, rigs, fault, behaviour, settings, answer, last, bound
) -> None:
    srv = llm_server(api="openai", fault=fault, **behaviour)
    r = rigs(srv.url, **settings)
    r.client.model()
    t0 = time.monotonic()
    r.assistant.ask("Why is the sky blue?")
    deadline = t0 + bound + 3.0  # the bound, then speaking what arrived and the short sentence
    assert r.assistant.wait_idle(max(0.1, deadline - time.monotonic())), "not within the bound"
    assert r.engine.calls == [*answer, last]
    t = r.assistant.last_timings
    assert t is not None and t.error and t.spoken_error == last and r.status.current.message == t.error
    # the daemon is alive: the next question is answered
    srv.fault = None
    r.engine.calls.clear()
    r.ask("Again?")
    assert r.engine.calls == [FIRST, SECOND] and not r.assistant.last_timings.error  # type: ignore[union-attr]


@pytest.mark.parametrize(("tokens", "spoken", "note"), [
    (["   ", "\n\n"], "The language model sent an empty answer.", "the answer was empty"),
    (["```python\n", "print(1)\n", "```\n"], "The answer was only code; it is in the log.", "only code"),
    (["🎉🎉 ", "👍"], "The answer had nothing I can read aloud; it is in the log.", "nothing to read aloud"),
    (["https://example.com/a ", "www.example.org"], "The answer was only links; they are in the log.", "only links"),
])
def test_an_answer_that_cleans_to_nothing_is_said_and_logged(llm_server, rigs, caplog, tokens, spoken, note) -> None:
    srv = llm_server(api="ollama", tokens=tokens)
    r = rigs(srv.url)
    with caplog.at_level(logging.WARNING, logger="daemon.assistant"):
        r.ask()
    assert r.engine.calls == [spoken]
    t = r.assistant.last_timings
    assert t is not None and note in t.error and "nothing was read aloud" in t.error
    assert r.status.current.llm_ok is True  # the server answered; there was just nothing to say
    assert "".join(tokens) in caplog.text  # "it is in the log"


def test_an_unexpected_error_is_spoken_and_logged_and_the_next_question_works(llm_server, rigs, caplog) -> None:
    srv = llm_server(api="ollama")
    r = rigs(srv.url)
    real_chat = r.client.chat

    def broken(messages):  # type: ignore[no-untyped-def]
        raise RuntimeError("a bug below the assistant")

    r.client.chat = broken  # type: ignore[method-assign]
    with caplog.at_level(logging.ERROR):
        r.ask()
    assert r.engine.calls == [UNEXPECTED]
    t = r.assistant.last_timings
    assert t is not None and "RuntimeError: a bug below the assistant" in t.error
    assert "Traceback" in caplog.text and "a bug below the assistant" in caplog.text
    r.client.chat = real_chat  # type: ignore[method-assign]
    r.engine.calls.clear()
    r.ask()
    assert r.engine.calls == [FIRST, SECOND]


def test_an_unexpected_error_mid_answer_speaks_what_arrived_then_says_so(llm_server, rigs, monkeypatch) -> None:
    srv = llm_server(api="openai", delay_s=0.01)
    r = rigs(srv.url)
    real_iter = ChatStream.__iter__

    def breaks_after_the_first_sentence(self):  # type: ignore[no-untyped-def]
        for i, delta in enumerate(real_iter(self)):
            if i == 10:
                raise KeyError("parser bug")
            yield delta

    monkeypatch.setattr(ChatStream, "__iter__", breaks_after_the_first_sentence)
    r.ask()
    assert r.engine.calls == [FIRST, "Sunsets", UNEXPECTED]  # the 10 tokens that arrived, then the sentence
    assert "KeyError" in r.assistant.last_timings.error  # type: ignore[union-attr]


def test_a_long_answer_is_capped_with_a_notice(llm_server, rigs) -> None:
    srv = llm_server(api="openai", tokens=["This is one sentence of the long answer. "] * 20)
    r = rigs(srv.url, speak_max_chars=120)
    r.ask()
    assert r.engine.calls == ["This is one sentence of the long answer."] * 3 + [TOO_LONG]
    t = r.assistant.last_timings
    assert t is not None and t.truncated and "speak_max_chars" in t.error
    assert len(t.answer) == 20 * 41  # the whole answer was still read (for the log and the terminal)


# ---- the CLI ----
def run_ask(tmp_path: Path, url: str, *args: str) -> subprocess.CompletedProcess[str]:
    settings = tmp_path / "settings.json"
    settings.write_text(json.dumps({"remote_llm_url": url, "engine": "system", "use_local_cloning": False,
                                    "llm_first_token_timeout_s": 2, "llm_idle_timeout_s": 1}))
    return subprocess.run([sys.executable, "-m", "daemon", "--settings", str(settings), "ask", *args,
                           "--out", str(tmp_path / "a.wav")],
                          cwd=ROOT, capture_output=True, text=True, timeout=60, check=False)


def test_ask_exits_1_when_the_answer_was_only_code_and_prints_it(llm_server, tmp_path: Path) -> None:
    srv = llm_server(api="openai", fault="code")
    proc = run_ask(tmp_path, srv.url, "Show me code")
    assert proc.returncode == 1, proc.stderr
    lines = [ln for ln in proc.stderr.splitlines() if ln.startswith("voxtray:")]
    assert lines == ["voxtray: the answer was only code; nothing was read aloud"]
    assert "print(sys.argv)" in proc.stdout and "Traceback" not in proc.stderr
    assert (tmp_path / "a.wav").stat().st_size > 1000  # the short sentence was spoken


def test_ask_prints_the_answer_without_terminal_escapes(llm_server, tmp_path: Path) -> None:
    srv = llm_server(api="ollama", tokens=["\x1b[2J\x1b[31mRed\x1b[0m ", "text\x07 with\r ", "\x1b]0;pwned\x07bells."])
    proc = run_ask(tmp_path, srv.url, "Colours?")
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout == "Red text with bells.\n"


def test_ask_with_a_redirecting_url_says_which_url_to_use(llm_server, tmp_path: Path) -> None:
    srv = llm_server(api="ollama", fault="redirect", redirect_to="https://moved.example.test")
    proc = run_ask(tmp_path, srv.url, "Hello?")
    assert proc.returncode == 1
    assert ("voxtray: the remote LLM URL redirects to https://moved.example.test (HTTP 302); use that URL: set "
            "remote_llm_url to https://moved.example.test.") in proc.stderr.splitlines()


def test_ask_exits_1_after_an_unexpected_error(llm_server, tmp_path: Path, monkeypatch, capsys) -> None:
    from daemon.__main__ import main

    srv = llm_server(api="ollama")
    settings = tmp_path / "settings.json"
    settings.write_text(json.dumps({"remote_llm_url": srv.url, "engine": "system", "use_local_cloning": False}))

    def broken(self, messages):  # type: ignore[no-untyped-def]
        raise ZeroDivisionError("boom")

    monkeypatch.setattr(LLMClient, "chat", broken)
    code = main(["--settings", str(settings), "ask", "Hi?", "--out", str(tmp_path / "a.wav")])
    err = capsys.readouterr().err
    assert code == 1
    assert "voxtray: answering failed unexpectedly (ZeroDivisionError: boom); details are in the log" in err
    assert (tmp_path / "a.wav").stat().st_size > 1000  # "Something went wrong ..." was spoken


def test_the_default_answer_still_exits_0(llm_server, tmp_path: Path) -> None:
    srv = llm_server(api="openai")
    proc = run_ask(tmp_path, srv.url, "Why?")
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == "".join(DEFAULT_TOKENS)
