"""Retrying a step: only transient errors, exponential backoff with jitter, bounded twice.

Built on tenacity's strategies. The clock and sleep are injected so tests never wait, and every
retry is reported through a callback before the sleep, so the journal records it first.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import TypeVar

from tenacity import RetryCallState, Retrying, retry_if_exception, stop_after_attempt, wait_exponential, wait_random
from tenacity.stop import stop_base
from tenacity.wait import wait_base

from orchestrator.model import GateWaiting, PermanentError, TransientError

T = TypeVar("T")

Classifier = Callable[[BaseException], bool]


@dataclass(frozen=True)
class RetryNotice:
    """One failed attempt that will be retried after `delay_s`."""

    attempt: int  # the attempt that failed, 1-based
    error: BaseException
    delay_s: float
    elapsed_s: float


class wait_retry_after(wait_base):
    """Wait what the service asked for (Retry-After) when it said; otherwise `fallback`."""

    def __init__(self, fallback: wait_base) -> None:
        self.fallback = fallback

    def __call__(self, retry_state: RetryCallState) -> float:
        error = retry_state.outcome.exception() if retry_state.outcome else None
        if isinstance(error, TransientError) and error.retry_after_s is not None:
            return max(0.0, float(error.retry_after_s))
        return self.fallback(retry_state)


class stop_before_deadline(stop_base):
    """Stop when the next sleep would end past `max_total_s` after `started_at`.

    Checked after the wait is computed (tenacity computes the wait first), so a long Retry-After
    that cannot fit in the budget fails the step now rather than after a pointless sleep.
    """

    def __init__(self, clock: Callable[[], float], started_at: float, max_total_s: float) -> None:
        self.clock, self.started_at, self.max_total_s = clock, started_at, max_total_s

    def __call__(self, retry_state: RetryCallState) -> bool:
        return self.clock() - self.started_at + retry_state.upcoming_sleep > self.max_total_s


class stop_when(stop_base):
    """Stop when `predicate()` says so (the run was interrupted: no new attempts)."""

    def __init__(self, predicate: Callable[[], bool]) -> None:
        self.predicate = predicate

    def __call__(self, retry_state: RetryCallState) -> bool:
        return bool(self.predicate())


def _failure(state: RetryCallState) -> BaseException:
    """The error of the attempt just made: only an attempt that raised is retried (retry_if_exception)."""
    error = state.outcome.exception() if state.outcome is not None else None
    if error is None:
        raise RuntimeError("retry: a retry without a failed attempt")
    return error


@dataclass(frozen=True)
class RetryPolicy:
    max_attempts: int = 5
    max_total_s: float = 900.0
    initial_backoff_s: float = 2.0
    max_backoff_s: float = 60.0
    jitter_s: float = 1.0
    # Says True for errors that are transient although not raised as TransientError
    # (an SDK's HttpResponseError with status 429, say); consulted only for other exceptions.
    classifier: Classifier | None = None
    sleep: Callable[[float], None] = time.sleep
    clock: Callable[[], float] = time.monotonic

    def __post_init__(self) -> None:
        if self.max_attempts < 1:
            raise ValueError("max_attempts must be at least 1")
        if self.max_total_s < 0 or self.initial_backoff_s < 0 or self.max_backoff_s < 0 or self.jitter_s < 0:
            raise ValueError("retry durations must not be negative")

    def is_transient(self, error: BaseException) -> bool:
        # A gate waiting, a declared permanent error and anything that is not an Exception
        # (KeyboardInterrupt, SystemExit) are never retried, whatever the classifier thinks.
        if isinstance(error, (GateWaiting, PermanentError)) or not isinstance(error, Exception):
            return False
        if isinstance(error, TransientError):
            return True
        return bool(self.classifier and self.classifier(error))

    def call(
        self,
        fn: Callable[[int], T],
        *,
        on_retry: Callable[[RetryNotice], None] | None = None,
        cancelled: Callable[[], bool] | None = None,
    ) -> T:
        """Call `fn(attempt)` until it returns, retrying transient errors within both bounds.

        The last error is re-raised as itself (not wrapped) when the policy gives up.
        """
        started_at = self.clock()
        # The first attempt runs outside tenacity: most steps succeed at once, and a Retrying
        # object leaves reference cycles behind (about 35 objects a step), which made the cyclic
        # garbage collector stop every thread for 50-65 ms a few times in a 5,000-step run.
        try:
            return fn(1)
        except BaseException as error:
            if not self.is_transient(error):
                raise
            first_error = error
        attempt = 0

        def attempt_once() -> T:
            nonlocal attempt
            attempt += 1
            if attempt == 1:
                raise first_error  # tenacity decides on it as if it had made the call itself
            return fn(attempt)

        def before_sleep(state: RetryCallState) -> None:
            if on_retry is not None:
                on_retry(
                    RetryNotice(
                        attempt=state.attempt_number,
                        error=_failure(state),
                        delay_s=state.upcoming_sleep,
                        elapsed_s=self.clock() - started_at,
                    )
                )

        stop = stop_after_attempt(self.max_attempts) | stop_before_deadline(self.clock, started_at, self.max_total_s)
        if cancelled is not None:
            stop = stop | stop_when(cancelled)
        backoff = wait_exponential(multiplier=self.initial_backoff_s, max=self.max_backoff_s) + wait_random(0, self.jitter_s)
        retrying = Retrying(
            sleep=self.sleep,
            stop=stop,
            wait=wait_retry_after(backoff),
            retry=retry_if_exception(self.is_transient),
            before_sleep=before_sleep,
            reraise=True,
        )
        return retrying(attempt_once)

    def without_sleep(self) -> RetryPolicy:
        """The same policy, never sleeping (for dry runs and tests)."""
        return replace(self, sleep=lambda _seconds: None)
