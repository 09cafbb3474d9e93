"""The conversation sent with each question: a system prompt for speakable answers and the last N turns."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable

log = logging.getLogger(__name__)

DEFAULT_SYSTEM_PROMPT = (
    "You are VoxTray, a voice assistant: everything you write is read aloud by a speech synthesiser. "
    "Answer in a few short, plain sentences, usually one to three. Put the answer first. "
    "Never use markdown, lists, headings, tables, code blocks, emoji or URLs. "
    "Write numbers, units and symbols as words when that is how people would say them "
    "(say 'about twenty degrees', not '20°C'). If the question needs a long answer, give the gist "
    "and offer to say more."
)

Message = dict[str, str]


class Conversation:
    """History of (question, answer) pairs, trimmed to `history_turns`. Thread-safe.

    `messages(question)` is what the LLM receives: system prompt, recent turns, then the new question.
    `add(question, answer)` records a finished (or partly spoken) answer; `reset()` starts over.
    Both settings are values or providers (the daemon's: a reload applies from the next question).
    """

    def __init__(self, history_turns: int | Callable[[], int] = 6,
                 system_prompt: str | Callable[[], str] = "") -> None:
        self._history_turns = history_turns if callable(history_turns) else (lambda: history_turns)
        self._system_prompt = system_prompt if callable(system_prompt) else (lambda: system_prompt)
        self._turns: list[tuple[str, str]] = []
        self._lock = threading.Lock()

    @property
    def history_turns(self) -> int:
        return self._history_turns()

    @property
    def system_prompt(self) -> str:
        return self._system_prompt().strip() or DEFAULT_SYSTEM_PROMPT

    def messages(self, question: str) -> list[Message]:
        with self._lock:
            turns = list(self._turns)
        out: list[Message] = [{"role": "system", "content": self.system_prompt}]
        for q, a in turns:
            out.append({"role": "user", "content": q})
            out.append({"role": "assistant", "content": a})
        out.append({"role": "user", "content": question})
        return out

    def add(self, question: str, answer: str) -> None:
        if not answer.strip() or self.history_turns == 0:
            return
        with self._lock:
            self._turns.append((question, answer.strip()))
            del self._turns[: max(0, len(self._turns) - self.history_turns)]

    def reset(self) -> None:
        """Forget the history ("new conversation" in the tray)."""
        with self._lock:
            self._turns.clear()
        log.info("new conversation")

    def __len__(self) -> int:
        with self._lock:
            return len(self._turns)
