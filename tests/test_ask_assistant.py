"""Assistant: question -> LLM stand-in (real HTTP) -> real Pipeline/Router -> real system voice (espeak-ng).

Real: LLMClient, the stand-in servers, Conversation, the speech stack the product builds (Pipeline, Router,
SystemEngine), StatusBus: tests/fixtures/answer.py. The only stand-in is the audio device: MemorySink records what
reached the output; the engine is wrapped in `Faulty` (with no fault) only to record which sentences were spoken.
"""

from __future__ import annotations

import time
from collections.abc import Callable

import pytest

from daemon.brain.client import LLMClient
from daemon.brain.conversation import DEFAULT_SYSTEM_PROMPT
from daemon.brain.errors import (
    LLMHTTPError,
    LLMNotAnLLMError,
    LLMProtocolError,
    LLMStreamCutError,
    LLMTimeoutError,
    LLMUnreachableError,
)
from daemon.status import Activity
from tests.fixtures.answer import AnswerRig
from tests.fixtures.llm_server import refused_url

FIRST = "The sky is blue because air scatters blue light."


DEFAULTS: dict[str, object] = {"llm_first_token_timeout_s": 1.0, "llm_idle_timeout_s": 0.5}


@pytest.fixture
def rig(answer_rig: Callable[..., AnswerRig]) -> Callable[..., AnswerRig]:
    """An AnswerRig (tests/fixtures/answer.py) with this module's short LLM timeouts."""
    return lambda url, **settings: answer_rig(url, **{**DEFAULTS, **settings})


def test_answer_is_spoken_sentence_by_sentence_and_remembered(llm_server, rig) -> None:
    srv = llm_server(api="ollama")
    r = rig(srv.url)
    r.ask("Why is the sky blue?")
    assert r.engine.calls == [FIRST, "Sunsets look red for the same reason."]
    assert len(r.sink.sources) == 2
    st = r.status.current
    assert st.llm_ok is True and st.activity == Activity.IDLE
    assert st.last_first_audio_s is not None and 0 < st.last_first_audio_s < 5
    t = r.assistant.last_timings
    assert t is not None and not t.error and not t.cancelled
    assert t.submitted <= t.request <= t.first_token <= t.first_sentence <= t.first_audio <= t.end  # type: ignore[operator]
    # the next question carries the system prompt and the previous turn
    r.ask("And at night?")
    messages = srv.chat_requests[-1].body["messages"]
    assert messages[0] == {"role": "system", "content": DEFAULT_SYSTEM_PROMPT}
    assert [m["role"] for m in messages[1:]] == ["user", "assistant", "user"]
    assert messages[1]["content"] == "Why is the sky blue?" and messages[-1]["content"] == "And at night?"
    r.conversation.reset()
    r.ask("Fresh start?")
    assert len(srv.chat_requests[-1].body["messages"]) == 2


FAULTS = [
    # fault, error class, server behaviour, sentences of the answer spoken before the error
    ("refused", LLMUnreachableError, {}, 0),
    ("first_token_timeout", LLMTimeoutError, {}, 0),
    ("500", LLMHTTPError, {}, 0),
    ("html404", LLMNotAnLLMError, {}, 0),
    ("stall", LLMTimeoutError, {"fault_after": 10}, 2),
    ("malformed", LLMProtocolError, {"fault_after": 10}, 2),
    ("cut", LLMStreamCutError, {"fault_after": 10}, 2),
]


@pytest.mark.parametrize(("fault", "error", "extra", "n_spoken"), FAULTS, ids=[f[0] for f in FAULTS])
def test_llm_fault_is_spoken_and_shown_after_the_received_part_then_the_next_question_works(
    llm_server, rig, fault: str, error: type, extra: dict, n_spoken: int
) -> None:
    srv = llm_server(api="openai", fault=None if fault == "refused" else fault, **extra)
    r = rig(refused_url() if fault == "refused" else srv.url)
    r.ask("Why is the sky blue?")
    spoken = r.engine.calls
    assert len(spoken) == n_spoken + 1, spoken
    if n_spoken:
        assert spoken[0] == FIRST  # the part of the answer that arrived is still spoken ...
    st = r.status.current
    t = r.assistant.last_timings
    assert t is not None and t.error_kind == error.__name__
    assert spoken[-1] == t.spoken_error  # ... then one short sentence about the failure
    assert t is not None and t.error and st.llm_ok is False and st.llm_note == t.error == st.message
    assert st.activity == Activity.IDLE
    # the daemon keeps running: the server recovers and the next question is answered
    if fault == "refused":
        r.client = r.assistant.client = LLMClient(r.settings.model_copy(update={"remote_llm_url": srv.url}))
    srv.fault = None
    r.engine.calls.clear()
    r.ask("Try again?")
    assert r.engine.calls == [FIRST, "Sunsets look red for the same reason."]
    assert r.status.current.llm_ok is True


def test_stop_interrupts_a_slow_answer_at_once(llm_server, rig) -> None:
    srv = llm_server(api="ollama", delay_s=0.2)
    r = rig(srv.url, llm_idle_timeout_s=5.0)
    r.assistant.ask("Why is the sky blue?")
    deadline = time.monotonic() + 10
    while not r.engine.calls and time.monotonic() < deadline:  # the first sentence is being spoken
        time.sleep(0.01)
    assert r.engine.calls == [FIRST]
    t0 = time.monotonic()
    r.assistant.stop()
    assert r.assistant.wait_idle(1.0)
    assert time.monotonic() - t0 < 0.5
    assert r.assistant.last_timings is not None and r.assistant.last_timings.cancelled
    assert r.engine.calls == [FIRST] and r.status.current.activity == Activity.IDLE
    assert r.status.current.llm_ok is not False  # a barge-in is not an LLM failure


def test_new_question_supersedes_the_answer_in_progress(llm_server, rig) -> None:
    srv = llm_server(api="openai", delay_s=0.1)
    r = rig(srv.url, llm_idle_timeout_s=5.0)
    r.assistant.ask("First question?")
    deadline = time.monotonic() + 10
    while not srv.t_first_token and time.monotonic() < deadline:
        time.sleep(0.01)
    srv.delay_s = 0.0
    r.ask("Second question?")
    assert srv.questions == ["First question?", "Second question?"]
    assert r.engine.calls[-2:] == [FIRST, "Sunsets look red for the same reason."]
    assert r.assistant.last_timings is not None and r.assistant.last_timings.question == "Second question?"


def test_empty_url_is_spoken_as_not_set_up(rig) -> None:
    r = rig("")
    r.ask("Hello?")
    assert r.engine.calls[-1] == "No language model is set up yet."
    assert "remote_llm_url is empty" in r.status.current.llm_note


def test_one_record_holds_the_answers_timings_from_both_sides(llm_server, rig) -> None:
    """The assistant's record is the one the pipeline stamps: no second copy of the speech times."""
    srv = llm_server(api="ollama")
    r = rig(srv.url)
    seen: list[object] = []
    speak = r.pipeline.speak

    def spy(*args: object, **kwargs: object) -> object:
        result = speak(*args, **kwargs)  # type: ignore[arg-type]
        seen.append(result)
        return result

    r.pipeline.speak = spy  # type: ignore[method-assign]
    r.ask("Why is the sky blue?")
    t = r.assistant.last_timings
    assert t is not None and len(seen) == 1 and seen[0].timings is t  # type: ignore[attr-defined]
    assert t.first_sentence is not None and t.first_audio is not None
