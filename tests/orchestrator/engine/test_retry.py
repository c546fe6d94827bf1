"""orchestrator/engine/retry.py: what is retried, how often, what is reported, and what is left behind."""

from __future__ import annotations

import gc

import pytest

from orchestrator.engine.retry import RetryPolicy
from orchestrator.model import PermanentError, TransientError

QUICK = RetryPolicy(max_attempts=4, initial_backoff_s=1, jitter_s=0).without_sleep()


def calls_failing(errors: list[BaseException]):
    calls: list[int] = []

    def fn(attempt: int) -> str:
        calls.append(attempt)
        if errors:
            raise errors.pop(0)
        return f"done on {attempt}"

    return fn, calls


def test_a_transient_first_attempt_is_retried_and_reported_with_its_number():
    fn, calls = calls_failing([TransientError("429"), TransientError("503")])
    notices = []
    assert QUICK.call(fn, on_retry=notices.append) == "done on 3"
    assert calls == [1, 2, 3]
    assert [(n.attempt, str(n.error)) for n in notices] == [(1, "429"), (2, "503")]


def test_a_permanent_error_is_raised_as_itself_after_one_call():
    error = PermanentError("bad data")
    fn, calls = calls_failing([error])
    notices = []
    with pytest.raises(PermanentError) as raised:
        QUICK.call(fn, on_retry=notices.append)
    assert raised.value is error and calls == [1] and notices == []


def test_attempts_are_bounded_and_the_last_error_is_raised():
    fn, calls = calls_failing([TransientError(f"busy {n}") for n in range(1, 9)])
    with pytest.raises(TransientError, match="busy 4"):
        QUICK.call(fn)
    assert calls == [1, 2, 3, 4]


def test_one_attempt_allowed_means_no_retry_of_a_transient_error():
    fn, calls = calls_failing([TransientError("busy")])
    notices = []
    with pytest.raises(TransientError, match="busy"):
        RetryPolicy(max_attempts=1).without_sleep().call(fn, on_retry=notices.append)
    assert calls == [1] and notices == []


def test_a_retry_after_beyond_the_time_budget_fails_at_once():
    fn, calls = calls_failing([TransientError("throttled", retry_after_s=600)])
    policy = RetryPolicy(max_attempts=5, max_total_s=60).without_sleep()
    with pytest.raises(TransientError, match="throttled"):
        policy.call(fn, on_retry=lambda notice: pytest.fail("no retry can fit in the budget"))
    assert calls == [1]


def test_the_retry_after_asked_for_is_the_delay():
    fn, _ = calls_failing([TransientError("throttled", retry_after_s=7)])
    slept, notices = [], []
    RetryPolicy(sleep=slept.append).call(fn, on_retry=notices.append)
    assert slept == [7.0] and notices[0].delay_s == 7.0


def test_cancelled_stops_retrying():
    fn, calls = calls_failing([TransientError("busy"), TransientError("busy")])
    with pytest.raises(TransientError):
        QUICK.call(fn, cancelled=lambda: True)
    assert calls == [1]


def test_calls_that_succeed_at_once_leave_no_cyclic_garbage():
    # Cycles are what the collector must stop every thread to find (about 60 ms at a time once a
    # 5,000-step run had made enough of them).
    gc.collect()
    gc.disable()
    try:
        for _ in range(200):
            QUICK.call(lambda attempt: attempt, on_retry=lambda notice: None, cancelled=lambda: False)
        assert gc.collect() < 20
    finally:
        gc.enable()
