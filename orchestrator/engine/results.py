"""What a run produced: the outcome and each step's final state, as the engine reports it."""

from __future__ import annotations

import copy
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Any

from orchestrator.model import Plan, StepKind, StepState

if TYPE_CHECKING:
    from orchestrator.engine.journal_state import JournalState


class Outcome(StrEnum):
    RECOVERED = "recovered"  # every step succeeded
    PARTIAL = "partial"  # some failed or were skipped, some components came back
    FAILED = "failed"  # nothing useful came back, or the first deploy failed
    WAITING = "waiting"  # a manual gate waits for approval; resume after approving


@dataclass(frozen=True)
class StepResult:
    id: str
    state: StepState
    attempts: int
    duration_s: float | None
    started_at: str | None
    finished_at: str | None
    error: str | None
    reason: str | None
    exercised: bool | None
    outputs: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class RunResult:
    outcome: Outcome
    steps: dict[str, StepResult]  # in plan order
    started_at: str | None  # first run_started of this run directory (ISO 8601, UTC)
    finished_at: str | None
    run_dir: Path

    @property
    def states(self) -> dict[str, StepState]:
        return {sid: result.state for sid, result in self.steps.items()}

    @property
    def attempts(self) -> dict[str, int]:
        return {sid: result.attempts for sid, result in self.steps.items()}

    @property
    def durations(self) -> dict[str, float | None]:
        return {sid: result.duration_s for sid, result in self.steps.items()}


def verdict(plan: Plan, states: dict[str, StepState]) -> Outcome:
    """The run's outcome from its steps' final states."""
    if StepState.WAITING in states.values():
        return Outcome.WAITING
    if all(state == StepState.SUCCEEDED for state in states.values()):
        return Outcome.RECOVERED
    first_deploy = next((s for s in plan.steps if s.kind == StepKind.DEPLOY), None)
    if first_deploy is not None and states[first_deploy.id] == StepState.FAILED:
        return Outcome.FAILED
    # "Useful" means a component proven by its smoke test (any step, in a plan without smokes).
    useful = [s.id for s in plan.steps if s.kind == StepKind.SMOKE] or list(states)
    if not any(states[sid] == StepState.SUCCEEDED for sid in useful):
        return Outcome.FAILED
    return Outcome.PARTIAL


def run_result(plan: Plan, outcome: Outcome, state: JournalState, run_dir: Path) -> RunResult:
    """The run as its journal's state left it: every step's record, in plan order."""
    steps = {}
    for step in plan.steps:
        rec = state.step(step.id)
        failed = rec.state == StepState.FAILED
        steps[step.id] = StepResult(
            id=step.id, state=rec.state, attempts=rec.attempts, duration_s=rec.duration_s,
            started_at=rec.started_at, finished_at=rec.finished_at,
            error=(rec.error or {}).get("error") if failed else None, reason=rec.reason,
            exercised=rec.exercised, outputs=copy.deepcopy(rec.outputs) if rec.outputs else {},
        )
    return RunResult(outcome, steps, state.started_at, state.finished_at, run_dir)
