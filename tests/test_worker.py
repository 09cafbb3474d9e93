"""The one worker lifecycle (daemon/worker.py): a failing step is logged and the worker goes on; stop() is
bounded; JobQueue runs jobs in order and survives a failing one."""

from __future__ import annotations

import logging
import threading
import time

import pytest

from daemon.worker import JobQueue, Worker
from tests.waits import until


def test_an_exception_in_a_step_is_logged_and_the_worker_survives(caplog: pytest.LogCaptureFixture) -> None:
    steps: list[int] = []

    def step() -> float | None:
        steps.append(len(steps))
        if len(steps) == 1:
            raise RuntimeError("boom")
        return 0.01

    worker = Worker("test-survivor", step, retry_s=0.01)
    with caplog.at_level(logging.ERROR, logger="daemon.worker"):
        worker.start()
        assert until(lambda: len(steps) >= 3, 5), "the worker stopped after the failing step"
    assert worker.running
    assert any("test-survivor" in r.getMessage() and r.exc_info for r in caplog.records)
    assert worker.stop() and not worker.running


def test_stop_returns_within_its_bound_even_when_a_step_hangs() -> None:
    release = threading.Event()
    worker = Worker("test-hang", lambda: release.wait(30) and None, stop_timeout_s=0.2)
    worker.start()
    t0 = time.monotonic()
    assert worker.stop() is False  # the step is still running: reported, not waited for
    assert time.monotonic() - t0 < 1.0
    release.set()


def test_stop_wakes_a_sleeping_worker_at_once_and_wake_runs_a_step_now() -> None:
    steps: list[float] = []
    worker = Worker("test-sleeper", lambda: steps.append(time.monotonic()) or None)
    worker.start()
    assert until(lambda: len(steps) == 1, 5)
    worker.wake()
    assert until(lambda: len(steps) == 2, 5)
    t0 = time.monotonic()
    assert worker.stop()
    assert time.monotonic() - t0 < 0.5


def test_job_queue_runs_jobs_in_order_and_survives_a_failing_one() -> None:
    done: list[str] = []
    jobs = JobQueue("test-jobs")
    jobs.start()

    def bad() -> None:
        raise ValueError("bad job")

    jobs.submit(lambda: done.append("a"))
    jobs.submit(bad)
    jobs.submit(lambda: done.append("b"))
    assert until(lambda: done == ["a", "b"], 5), done
    assert jobs.stop()
