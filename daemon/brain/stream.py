"""One answer being read: text deltas within the answer's bounds, cancellable from any thread (barge-in).

Bounds (settings): the first CONTENT token within llm_first_token_timeout_s of the request, then at most
llm_idle_timeout_s between content tokens (empty deltas and SSE `:` keep-alives do not count), at most
llm_max_answer_s and llm_max_answer_chars in all. Each is a deadline on the whole read, not per recv()
(brain/transport.py), so a server dribbling bytes cannot hold a question past its bound. Hitting the time or
length bound yields what arrived, then raises LLMAnswerCutError.
"""

from __future__ import annotations

import http.client
import socket
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass

from daemon.brain import dialects
from daemon.brain.errors import (
    LLMAnswerCutError,
    LLMNotAnLLMError,
    LLMProblem,
    LLMProtocolError,
    LLMStreamCutError,
    LLMTimeoutError,
)
from daemon.brain.transport import DeadlineResponse, redact_url

MAX_LINE = 1 << 20


@dataclass(frozen=True)
class AnswerBounds:
    """The limits of one answer (seconds, characters) and the server's URL for the messages."""

    url: str
    first_token_timeout: float
    idle_timeout: float
    max_answer_s: float
    max_answer_chars: int


class ChatStream:
    """The answer as text deltas. Iterate once; `close()` from any thread cancels quietly.

    `t_request` / `t_first_token` are `time.monotonic()` stamps (the first token is the first with content);
    `text` is everything received so far; `cut` says the answer hit its time or length bound.
    """

    def __init__(self, bounds: AnswerBounds, conn: http.client.HTTPConnection, sock: socket.socket,
                 resp: DeadlineResponse, api: str, t_request: float) -> None:
        self._bounds = bounds
        self._conn = conn
        self._sock = sock
        self._resp = resp
        self._clock = resp.clock
        self.api = api
        self.t_request = t_request
        self.t_first_token: float | None = None
        self.t_end: float | None = None
        self.cancelled = False
        self.cut = False
        self._parts: list[str] = []
        self._chars = 0
        self._t_content = t_request  # the latest token with content
        self._closed = False
        self._reading = False  # __iter__ has begun: only it releases the connection then
        self._lock = threading.Lock()

    @property
    def text(self) -> str:
        """Everything received so far."""
        if len(self._parts) > 1:
            self._parts = ["".join(self._parts)]
        return self._parts[0] if self._parts else ""

    def __iter__(self) -> Iterator[str]:
        with self._lock:
            if self._closed:
                return
            self._reading = True
        try:
            limit = self._bounds.max_answer_chars
            for delta in self._deltas():
                if self.cancelled:
                    return
                if not delta:
                    continue  # empty deltas are no progress: the idle deadline stays where it was
                now = time.monotonic()
                if self.t_first_token is None:
                    self.t_first_token = now
                self._t_content = now
                room = limit - self._chars
                if len(delta) > room:
                    if room > 0:
                        self._add(delta[:room])
                        yield delta[:room]
                    self.cut = True
                    raise LLMAnswerCutError(
                        f"the answer was longer than llm_max_answer_chars ({limit} characters) and was cut there "
                        "— raise llm_max_answer_chars for longer answers.",
                        spoken="The answer was too long, so I stopped it there.",
                    )
                self._add(delta)
                yield delta
                if now - self.t_request > self._bounds.max_answer_s:
                    raise self._timeout("total")
        finally:
            self.t_end = time.monotonic()
            self._release()

    def close(self) -> None:
        """Stop reading: wakes a reader blocked on the socket at once (safe from any thread); a stream that was
        never read releases its connection here."""
        self.cancelled = True
        with self._lock:
            if not self._reading:
                self._release()
                return
        try:
            self._sock.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass

    # ---- reading -------------------------------------------------------------------------------------
    def _add(self, delta: str) -> None:
        self._parts.append(delta)
        self._chars += len(delta)

    def _deadline(self) -> tuple[float, str]:
        """When the current read must end, and which bound that is."""
        c = self._bounds
        total = self.t_request + c.max_answer_s
        if self.t_first_token is None:
            deadline, kind = self.t_request + c.first_token_timeout, "first"
        else:
            deadline, kind = self._t_content + c.idle_timeout, "idle"
        return (total, "total") if total <= deadline else (deadline, kind)

    def _timeout(self, kind: str) -> LLMProblem:
        c = self._bounds
        where = redact_url(c.url)
        if kind == "first" or (kind == "total" and self.t_first_token is None):
            limit = c.first_token_timeout if kind == "first" else c.max_answer_s
            key = "llm_first_token_timeout_s" if kind == "first" else "llm_max_answer_s"
            return LLMTimeoutError(
                f"the remote LLM at {where} did not start answering within {limit:g} s — it may be loading "
                f"the model; try again, or raise {key}."
            )
        if kind == "idle":
            return LLMTimeoutError(
                f"the remote LLM stopped sending for {c.idle_timeout:g} s in the middle of the answer — try again; "
                "raise llm_idle_timeout_s if the server is just slow.",
                spoken="The language model stopped answering.",
            )
        self.cut = True
        return LLMAnswerCutError(
            f"the answer took longer than llm_max_answer_s ({c.max_answer_s:g} s) and was cut after "
            f"{self._chars} characters — raise llm_max_answer_s for longer answers.",
            spoken="The answer took too long, so I stopped it there.",
        )

    def _readline(self) -> bytes:
        deadline, kind = self._deadline()
        self._clock.deadline = deadline
        try:
            line = self._resp.readline(MAX_LINE)
        except TimeoutError:
            if self.cancelled:
                return b""
            raise self._timeout(kind) from None
        except (OSError, ValueError, http.client.HTTPException) as exc:
            if self.cancelled:
                return b""
            raise self._cut(f"{type(exc).__name__}") from None
        return line

    def _cut(self, why: str) -> LLMStreamCutError:
        return LLMStreamCutError(
            f"the connection to the remote LLM broke in the middle of the answer ({why}, after "
            f"{self._chars} characters) — try again; if it keeps happening, restart the Colab bridge."
        )

    def _lines(self) -> Iterator[bytes]:
        first = True
        while not self.cancelled:
            line = self._readline()
            if not line:
                return
            if first and line.strip():
                first = False
                if dialects.looks_html("", line):
                    raise LLMNotAnLLMError("an HTML page instead of the answer stream")
            yield line

    def _deltas(self) -> Iterator[str]:
        """The dialect's deltas; a stream that ends early or sends a non-JSON line is reported with the count."""
        try:
            yield from dialects.DELTAS[self.api](self._lines())
        except dialects.EndedEarly as exc:
            if not self.cancelled:
                raise self._cut(exc.why) from None
        except dialects.Malformed as exc:
            raise LLMProtocolError(
                f"the remote LLM sent a malformed line ({exc.raw[:80]!r}) after {self._chars} characters — "
                "check that llm_api matches the server (ollama or openai)."
            ) from None

    def _release(self) -> None:
        if self._closed:
            return
        self._closed = True
        try:
            self._resp.close()
        finally:
            self._conn.close()
