"""What a run produced: the outcome and each step's final state, as the engine reports it."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path
from typing import Any

from orchestrator.model import StepState


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
