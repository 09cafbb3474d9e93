"""HTTP to the remote LLM with deadline-bounded reads: one socket per request, cancellable from another thread.

`Transport(url, connect_timeout).open(method, path, body, headers, read_timeout)` connects, sends and reads the
status line and headers within `read_timeout`, retrying once on a refused/reset connection, and turns socket
failures into LLM errors. Every later recv() of the response gets only the time left until `resp.clock.deadline`
(`DeadlineRaw`), so a server dribbling a line one byte at a time cannot hold a read past its bound. Plain
`http.client` on purpose: shutting the socket down from another thread cancels at once.
"""

from __future__ import annotations

import functools
import http.client
import io
import logging
import socket
import ssl
import time
from typing import Any, cast
from urllib.parse import urlsplit

from daemon.brain.errors import LLMNotAnLLMError, LLMTimeoutError, LLMUnreachableError

log = logging.getLogger(__name__)

RETRY_DELAY_S = 0.3
_RETRYABLE = (ConnectionRefusedError, ConnectionResetError, ConnectionAbortedError, BrokenPipeError,
              http.client.RemoteDisconnected)


def redact_url(url: str) -> str:
    """The URL without any user:password part, for logs and messages."""
    parts = urlsplit(url)
    if parts.username or parts.password:
        return url.replace(parts.netloc, parts.hostname or "", 1) if parts.hostname else url
    return url


class Clock:
    """The deadline (time.monotonic()) by which the current read must end; None = the socket's own timeout."""

    def __init__(self, deadline: float | None = None) -> None:
        self.deadline = deadline


class DeadlineRaw(io.RawIOBase):
    """The response's socket as a raw stream: every recv() gets only the time left until the clock's deadline,
    so a read that trickles in byte by byte still ends by the deadline (TimeoutError)."""

    def __init__(self, sock: socket.socket, clock: Clock) -> None:
        super().__init__()
        self._sock = sock
        self._raw = sock.makefile("rb", buffering=0)  # counts as a user of the socket, like http.client's own
        self._clock = clock

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int | None:
        deadline = self._clock.deadline
        if deadline is not None:
            left = deadline - time.monotonic()
            if left <= 0:
                raise TimeoutError("the read deadline passed")
            self._sock.settimeout(left)
        return self._raw.readinto(buffer)

    def close(self) -> None:
        if not self.closed:
            self._raw.close()
        super().close()


class DeadlineResponse(http.client.HTTPResponse):
    """An HTTPResponse whose reads (status line, headers and body) all end by `clock.deadline`."""

    def __init__(self, sock: socket.socket, debuglevel: int = 0, method: str | None = None, url: str | None = None,
                 *, clock: Clock) -> None:
        super().__init__(sock, debuglevel, method, url)
        self.fp.close()  # the stock buffered file, replaced before anything was read from it
        self.fp = io.BufferedReader(DeadlineRaw(sock, clock))
        self.clock = clock


Opened = tuple[http.client.HTTPConnection, socket.socket, DeadlineResponse]


class Transport:
    """Requests to one http(s) server (`url`: scheme, host and port are used; the caller gives the path)."""

    def __init__(self, url: str, connect_timeout: float) -> None:
        parts = urlsplit(url)
        self.where = redact_url(url)
        self.connect_timeout = connect_timeout
        self._https = parts.scheme == "https"
        self._host = parts.hostname or ""
        self._port = parts.port

    def open(self, method: str, path: str, body: bytes | None, headers: dict[str, str], read_timeout: float,
             *, stream: bool = False) -> Opened:
        """Connect, send and read the status line and headers (all within read_timeout); one retry on
        connection errors. `stream` words a timeout as "did not start answering"."""
        where = self.where
        for attempt in (1, 2):
            try:
                conn, sock = self._connect_once()
                try:
                    clock = Clock(time.monotonic() + read_timeout)
                    conn.response_class = functools.partial(DeadlineResponse, clock=clock)  # type: ignore[assignment]
                    sock.settimeout(read_timeout)
                    conn.request(method, path or "/", body=body, headers=headers)
                    resp = cast(DeadlineResponse, conn.getresponse())
                except BaseException:
                    conn.close()
                    raise
            except _RETRYABLE as exc:
                if attempt == 1:
                    log.info("LLM connection error (%s); retrying once", type(exc).__name__)
                    time.sleep(RETRY_DELAY_S)
                    continue
                raise LLMUnreachableError(
                    f"cannot reach the remote LLM at {where} ({exc.strerror or type(exc).__name__}) — check "
                    "remote_llm_url and that the Colab bridge (or Ollama) is running."
                ) from None
            except TimeoutError:
                if stream:
                    raise LLMTimeoutError(
                        f"the remote LLM at {where} did not start answering within {read_timeout:g} s — it may "
                        "be loading the model; try again, or raise llm_first_token_timeout_s."
                    ) from None
                raise LLMTimeoutError(f"the remote LLM at {where} did not answer within {read_timeout:g} s.") from None
            except http.client.HTTPException as exc:
                raise LLMNotAnLLMError(f"not an HTTP answer: {type(exc).__name__}") from None
            except OSError as exc:
                raise LLMUnreachableError(
                    f"cannot reach the remote LLM at {where} ({exc.strerror or exc}) — check remote_llm_url "
                    "and your network."
                ) from None
            return conn, sock, resp
        raise AssertionError("unreachable")

    def _connect(self) -> tuple[http.client.HTTPConnection, socket.socket]:
        conn: http.client.HTTPConnection
        if self._https:
            conn = http.client.HTTPSConnection(self._host, self._port, timeout=self.connect_timeout)
        else:
            conn = http.client.HTTPConnection(self._host, self._port, timeout=self.connect_timeout)
        conn.connect()
        assert conn.sock is not None
        return conn, conn.sock

    def _connect_once(self) -> tuple[http.client.HTTPConnection, socket.socket]:
        """Open the connection; refused/reset propagate (to be retried), the rest become LLM errors."""
        where = self.where
        try:
            return self._connect()
        except _RETRYABLE:
            raise
        except ssl.SSLError as exc:
            raise LLMUnreachableError(
                f"the secure connection to {where} failed ({exc.reason or exc}) — check remote_llm_url "
                "(http vs https) and the tunnel."
            ) from None
        except TimeoutError:
            raise LLMUnreachableError(
                f"cannot connect to the remote LLM at {where} within {self.connect_timeout:g} s — check "
                "remote_llm_url and that the Colab bridge is running."
            ) from None
        except OSError as exc:
            raise LLMUnreachableError(
                f"cannot reach the remote LLM at {where} ({exc.strerror or exc}) — check remote_llm_url "
                "and your network."
            ) from None
