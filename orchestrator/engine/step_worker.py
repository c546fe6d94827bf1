"""One step in a worker thread: its attempts and retries, and what its runner may see of the run.

The engine's scheduling thread hands a started step to a worker; the worker calls the runner,
journals each retry itself (orchestrator/engine/retry.py decides when and how often), and puts the
step's StepDone on the engine's queue. Only the scheduling thread journals the step's end.
"""

from __future__ import annotations

import copy
import threading
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from orchestrator.engine.journal_state import Event, JournalState
from orchestrator.engine.retry import RetryNotice, RetryPolicy
from orchestrator.model import GateWaiting, PermanentError, Step, StepOutcome, StepRunner, StepState


class Interrupted(BaseException):
    """Raised inside a worker to stop retrying once the run is interrupted (never retried)."""


@dataclass
class StepDone:
    step_id: str
    state: StepState
    attempt: int
    duration_s: float
    outcome: StepOutcome | None = None
    error: BaseException | None = None
    retriable: bool = False


def describe(error: BaseException) -> str:
    return f"{type(error).__name__}: {error}"


class StepContext:
    """Given to the runner with each attempt; `outputs_of` reads the journal's state, so a resumed
    run sees exactly what the first one recorded (redacted)."""

    def __init__(self, step: Step, attempt: int, run_dir: Path, upstream: frozenset[str], state: JournalState,
                 stopping: threading.Event) -> None:
        self.step, self.attempt, self.run_dir = step, attempt, run_dir
        self._upstream, self._state, self._stopping = upstream, state, stopping

    @property
    def cancelled(self) -> bool:
        return self._stopping.is_set()

    def outputs_of(self, step_id: str) -> dict[str, Any]:
        # Only upstream steps: anything else may not have run yet, which would make runs differ.
        if step_id not in self._upstream:
            raise KeyError(f"{step_id} is not upstream of {self.step.id}; its outputs may not exist yet")
        record = self._state.steps.get(step_id)
        if record is None or record.state != StepState.SUCCEEDED:
            raise KeyError(f"{step_id} has not succeeded")
        return copy.deepcopy(record.outputs)


def run_step(step: Step, base: int, runner: StepRunner, retry: RetryPolicy, *, record: Callable[..., Any],
             context_for: Callable[[int], StepContext], stopping: threading.Event,
             clock: Callable[[], float]) -> StepDone:
    """Attempts of `step` (numbered on from `base`, across resumes) until one succeeds, waits at a
    gate, fails for good, or the run is interrupted; `record(event, **fields)` journals retries."""
    started = clock()
    attempt = base + 1

    def one_attempt(n: int) -> StepOutcome:
        nonlocal attempt
        attempt = base + n
        if n > 1:
            if stopping.is_set():
                raise Interrupted()
            record(Event.STEP_STARTED, step=step.id, attempt=attempt, component=step.component, kind=str(step.kind))
        outcome = runner(step, context_for(attempt))
        if outcome is None:
            return StepOutcome()
        if not isinstance(outcome, StepOutcome):
            raise PermanentError(f"runner returned {type(outcome).__name__}, not a StepOutcome")
        return outcome

    def on_retry(notice: RetryNotice) -> None:
        if stopping.is_set():
            raise Interrupted()
        error = describe(notice.error)
        record(Event.STEP_FAILED, step=step.id, attempt=base + notice.attempt, error=error,
               retriable=True, final=False, component=step.component, kind=str(step.kind))
        record(Event.STEP_RETRYING, step=step.id, attempt=base + notice.attempt + 1, delay_s=notice.delay_s, error=error)

    try:
        outcome = retry.call(one_attempt, on_retry=on_retry, cancelled=stopping.is_set)
        done = StepDone(step.id, StepState.SUCCEEDED, attempt, 0.0, outcome=outcome)
    except GateWaiting as exc:
        done = StepDone(step.id, StepState.WAITING, attempt, 0.0, error=exc)
    except BaseException as exc:  # anything unexpected fails the step; the run goes on
        done = StepDone(step.id, StepState.FAILED, attempt, 0.0, error=exc, retriable=retry.is_transient(exc))
    done.duration_s = clock() - started
    return done
