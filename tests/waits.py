"""Waiting in tests: `wait_for` returns what came (or fails the test naming what it waited for); `until` says
whether a condition came true in time (for `assert until(...), "why"`)."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TypeVar

T = TypeVar("T")


def wait_for(predicate: Callable[[], T | None], timeout: float, what: str, interval: float = 0.05) -> T:
    """Poll `predicate` until it returns something truthy; fail the test with `what` after `timeout` s."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() >= deadline:
            raise AssertionError(f"timed out after {timeout} s waiting for {what}")
        time.sleep(interval)


def until(cond: Callable[[], object], timeout: float = 10.0, interval: float = 0.01) -> bool:
    """True as soon as `cond()` is truthy; False when `timeout` s pass first."""
    deadline = time.monotonic() + timeout
    while not cond():
        if time.monotonic() > deadline:
            return False
        time.sleep(interval)
    return True
