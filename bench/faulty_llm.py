"""A seeded faulty LLM on 127.0.0.1 for the soak: each question gets one fault, drawn by a seeded RNG.

    llm = FaultyLLM.start()              # a child process serving Ollama NDJSON and OpenAI SSE, one port each
    plan = FaultPlan(seed=1)
    fault = plan.next()                  # Fault(kind="stall_mid", behaviour={...}, expect="cut")
    llm.serve(fault)                     # both servers behave so for the next request(s)
    llm.urls["ollama"], llm.urls["openai"]
    llm.close()

The protocols and the faults themselves are the test stand-in's (`tests/fixtures/llm_server.py`, one copy of the
NDJSON/SSE writers); this module only chooses among them and serves them from a CHILD process, so the soak's
figures (RSS, threads, file descriptors) are the daemon's alone. `python bench/faulty_llm.py` is that child: it
prints the two URLs as one JSON line, then reads one JSON behaviour per line on stdin and answers "ok"; it stops
when stdin closes.

Fault kinds, what they do, and how the question should end (`expect`):
  normal       a short answer (16 tokens), sometimes with a small gap between tokens       answer
  stall_first  headers, then silence                                                       cut (first-word bound)
  stall_mid    1-8 tokens, then silence                                                    cut (gap bound)
  http_500     HTTP 500 with a JSON error                                                  error sentence
  cut          1-8 tokens, then the socket closes mid-chunk                                error sentence
  garbled      1-8 tokens, then a line that is not JSON                                    error sentence
  keepalive    only keep-alives (SSE `: ping` / Ollama empty deltas)                       cut (first-word bound)
  dribble      1-8 tokens, then one endless line a byte at a time                          cut (gap bound)
  blank        an answer of only whitespace                                                error sentence
  code_only    an answer that is only a code block                                         error sentence
  redirect     302 to another (unreachable, never followed) URL                           error sentence
  long         200,000 characters as fast as the socket takes them                         cut (length bound)
  endless      a steady word every 20 ms, forever                                          cut (total-time bound)
"""

from __future__ import annotations

import json
import random
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

ROOT = Path(__file__).resolve().parent.parent

# The LLMStandIn fields a fault may set; every other field keeps the stand-in's default for each question.
BEHAVIOUR_FIELDS = ("tokens", "delay_s", "first_token_delay_s", "fault", "fault_after", "keepalive_s", "dribble_s",
                    "huge_chars", "redirect_to")
EXPECT = ("answer", "error", "cut")


@dataclass(frozen=True)
class Fault:
    kind: str
    behaviour: dict[str, Any] = field(default_factory=dict)
    expect: str = "answer"  # how the question should end: a spoken answer, an error sentence, or cut at a bound


@dataclass(frozen=True)
class _Kind:
    kind: str
    weight: float
    expect: str
    behaviour: dict[str, Any]
    random_after: bool = False  # fault_after drawn from 1..8


KINDS: tuple[_Kind, ...] = (
    _Kind("normal", 4.0, "answer", {}),
    _Kind("stall_first", 1.0, "cut", {"fault": "first_token_timeout"}),
    _Kind("stall_mid", 1.0, "cut", {"fault": "stall"}, random_after=True),
    _Kind("http_500", 1.0, "error", {"fault": "500"}),
    _Kind("cut", 1.0, "error", {"fault": "cut"}, random_after=True),
    _Kind("garbled", 1.0, "error", {"fault": "malformed"}, random_after=True),
    _Kind("keepalive", 1.0, "cut", {"fault": "keepalive", "fault_after": 0}),
    _Kind("dribble", 1.0, "cut", {"fault": "dribble"}, random_after=True),
    _Kind("blank", 0.5, "error", {"fault": "blank"}),
    _Kind("code_only", 0.5, "error", {"fault": "code"}),
    _Kind("redirect", 1.0, "error", {"fault": "redirect", "redirect_to": "https://moved.example.test"}),
    _Kind("long", 1.0, "cut", {"fault": "huge", "huge_chars": 200_000}),
    _Kind("endless", 0.5, "cut", {"tokens": ["word "] * 2000, "delay_s": 0.02}),  # 40 s unless cut
)
KIND_NAMES = tuple(k.kind for k in KINDS)


class FaultPlan:
    """The seeded sequence of faults: the same seed gives the same questions, faults and parameters."""

    def __init__(self, seed: int, kinds: tuple[_Kind, ...] = KINDS) -> None:
        self.rng = random.Random(seed)
        self.kinds = kinds

    def next(self) -> Fault:
        k = self.rng.choices(self.kinds, weights=[k.weight for k in self.kinds])[0]
        behaviour = dict(k.behaviour)
        if k.random_after:
            behaviour["fault_after"] = self.rng.randint(1, 8)
        if k.kind == "normal":
            behaviour["delay_s"] = self.rng.choice((0.0, 0.0, 0.005, 0.02))
        return Fault(k.kind, behaviour, k.expect)


class FaultyLLM:
    """The stand-ins (Ollama and OpenAI) in a child process; `serve(fault)` sets how the next requests go."""

    def __init__(self, proc: subprocess.Popen[str], urls: dict[str, str]) -> None:
        self.proc = proc
        self.urls = urls

    @classmethod
    def start(cls, timeout: float = 30.0) -> FaultyLLM:
        proc = subprocess.Popen([sys.executable, str(Path(__file__).resolve())], cwd=ROOT, stdin=subprocess.PIPE,
                                stdout=subprocess.PIPE, text=True, bufsize=1)
        return cls(proc, json.loads(_readline(proc, timeout)))

    def serve(self, fault: Fault, timeout: float = 10.0) -> None:
        assert self.proc.stdin is not None
        self.proc.stdin.write(json.dumps(fault.behaviour) + "\n")
        self.proc.stdin.flush()
        reply = _readline(self.proc, timeout)
        if reply.strip() != "ok":
            raise RuntimeError(f"the faulty LLM answered {reply!r} to {fault}")

    def close(self, timeout: float = 5.0) -> None:
        if self.proc.stdin is not None:
            self.proc.stdin.close()
        try:
            self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(timeout)
        if self.proc.stdout is not None:
            self.proc.stdout.close()


def _readline(proc: subprocess.Popen[str], timeout: float) -> str:
    import select

    out: IO[str] | None = proc.stdout
    assert out is not None
    ready, _, _ = select.select([out], [], [], timeout)
    line = out.readline() if ready else ""
    if not line:
        raise RuntimeError(f"the faulty LLM child did not answer within {timeout} s (exit code {proc.poll()})")
    return line


def _serve_stdin() -> int:
    """The child: two stand-ins; one JSON behaviour per stdin line applies to both, for the next requests."""
    sys.path.insert(0, str(ROOT))
    from tests.fixtures.llm_server import LLMStandIn, start_llm_server

    servers = [start_llm_server(api=api) for api in ("ollama", "openai")]
    defaults = LLMStandIn()
    print(json.dumps({s.api: s.url for s in servers}), flush=True)
    try:
        for line in sys.stdin:
            behaviour = {**{f: getattr(defaults, f) for f in BEHAVIOUR_FIELDS}, **json.loads(line)}
            for srv in servers:
                srv.requests.clear()  # the record is for tests; a soak would grow it forever
                for name, value in behaviour.items():
                    setattr(srv, name, value)
            print("ok", flush=True)
    finally:
        for srv in servers:
            srv.stop()
    return 0


if __name__ == "__main__":
    sys.exit(_serve_stdin())
