"""Errors of the remote LLM: each has a message for the log/tray and a short sentence to speak."""

from __future__ import annotations

from daemon.errors import LLMError

NOT_AN_LLM = (
    "the remote LLM URL is not answering as an LLM — restart the Colab bridge and update remote_llm_url"
)


class LLMProblem(LLMError):
    """An LLM failure with a short `spoken` sentence (the full message goes to the log and the tray)."""

    spoken = "The language model could not answer."

    def __init__(self, message: str, spoken: str | None = None) -> None:
        super().__init__(message)
        if spoken is not None:
            self.spoken = spoken


class LLMNotConfiguredError(LLMProblem):
    spoken = "No language model is set up yet."


class LLMUnreachableError(LLMProblem):
    """Connection refused, DNS failure, connect timeout, TLS failure."""

    spoken = "I can't reach the language model."


class LLMTimeoutError(LLMProblem):
    """No first token in time, or a stall in the middle of the answer."""

    spoken = "The language model is taking too long to answer."


class LLMNotAnLLMError(LLMProblem):
    """An HTML page (dead tunnel, login wall) where JSON was expected."""

    spoken = "The language model link is not working, restart the Colab bridge."

    def __init__(self, detail: str = "") -> None:
        super().__init__(NOT_AN_LLM + (f" ({detail})" if detail else ""))


class LLMHTTPError(LLMProblem):
    """The server answered with an HTTP error status."""

    spoken = "The language model reported an error."

    def __init__(self, message: str, status: int, spoken: str | None = None) -> None:
        super().__init__(message, spoken)
        self.status = status


class LLMProtocolError(LLMProblem):
    """A malformed reply (bad JSON line, unknown shape)."""

    spoken = "The language model sent a reply I could not read."


class LLMStreamCutError(LLMProblem):
    """The connection broke in the middle of the answer."""

    spoken = "The connection to the language model broke."


class LLMRedirectError(LLMProblem):
    """The URL answered with a redirect (3xx): the user should set the URL it points to."""

    spoken = "The language model address has moved. Put the new address in the settings."

    def __init__(self, message: str, location: str) -> None:
        super().__init__(message)
        self.location = location


class LLMAnswerCutError(LLMProblem):
    """The answer hit one of its bounds (llm_max_answer_s, llm_max_answer_chars): what arrived is spoken, then
    this short sentence. Not a failure of the server."""

    spoken = "The answer was cut off here."
