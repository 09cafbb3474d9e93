"""One record of an answer's timings and outcome, shared by the assistant and the speech pipeline."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass
class AnswerTimings:
    """time.monotonic() stamps of one answer (None = never happened) and what came of it.

    The assistant stamps the question and the LLM's side and passes the record to `Pipeline.speak`, which stamps
    the first sentence, the first audio and the end into it; plain speech (`say`) gets one with no question.
    """

    question: str
    submitted: float
    hotkey: float | None = None
    request: float | None = None
    first_token: float | None = None
    first_sentence: float | None = None
    first_audio: float | None = None
    end: float | None = None
    error: str = ""
    error_kind: str = ""  # the LLMProblem subclass name
    spoken_error: str = ""
    cancelled: bool = False
    answer: str = ""
    spoken: int = 0  # sentences of the answer an engine spoke
    unspoken: int = 0  # sentences of the answer no engine could speak
    truncated: bool = False  # the answer was longer than speak_max_chars

    @property
    def origin(self) -> float:
        """Where every figure counts from: the hotkey press, else the submission (no hotkey, e.g. the CLI)."""
        return self.hotkey if self.hotkey is not None and self.hotkey <= self.submitted else self.submitted

    def since_origin(self, stamp: float | None) -> float | None:
        """Seconds from the origin to `stamp` (None when it never happened)."""
        return None if stamp is None else stamp - self.origin

    @property
    def first_audio_s(self) -> float | None:
        """Hotkey press (or submission) -> first audio reaching the player: the delay users feel."""
        return self.since_origin(self.first_audio)

    def describe(self) -> str:
        """One log line: every stamp in seconds from the origin ("-" for one that never happened)."""

        def f(stamp: float | None) -> str:
            v = self.since_origin(stamp)
            return "-" if v is None else f"{v:.3f}s"

        start = "from the hotkey" if self.origin != self.submitted else "from the question"
        return (f"{start}: question {f(self.submitted)}, request {f(self.request)}, first token "
                f"{f(self.first_token)}, first sentence {f(self.first_sentence)}, first audio {f(self.first_audio)}, "
                f"end {f(self.end)}")
