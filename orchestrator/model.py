"""The shapes shared by the plan, the engine, the journal and the targets."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any, Protocol

# A step fails as its checks do: retry the transient, stop on the permanent (smoke_tests/check.py).
from smoke_tests.check import PermanentError, TransientError

__all__ = [
    "TERMINAL_STATES",
    "GateWaiting",
    "PermanentError",
    "Plan",
    "Step",
    "StepContext",
    "StepKind",
    "StepOutcome",
    "StepRunner",
    "StepState",
    "TransientError",
]


class StepKind(StrEnum):
    DEPLOY = "deploy"
    REHYDRATE = "rehydrate"
    VALIDATE = "validate"
    REPLAY = "replay"
    SMOKE = "smoke"
    GATE = "gate"
    HANDOVER = "handover"
    # Fallback only (orchestrator/plan/fallback.py): the seed's steps back to the primary.
    DRIFT = "drift"
    PARALLEL_RUN = "parallel-run"
    SWITCH = "switch"
    DECOMMISSION = "decommission"


class StepState(StrEnum):
    PENDING = "pending"
    RUNNING = "running"
    WAITING = "waiting"  # a manual gate waiting for approval
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    SKIPPED = "skipped"


TERMINAL_STATES = frozenset({StepState.SUCCEEDED, StepState.FAILED, StepState.SKIPPED})


@dataclass(frozen=True)
class Step:
    id: str  # "<component>.<kind>", e.g. "lake.rehydrate"
    component: str
    kind: StepKind
    depends_on: tuple[str, ...]
    estimate_s: float
    description: str = ""

    def to_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "component": self.component,
            "kind": str(self.kind),
            "depends_on": list(self.depends_on),
            "estimate_s": self.estimate_s,
            "description": self.description,
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Step:
        return cls(
            id=data["id"],
            component=data["component"],
            kind=StepKind(data["kind"]),
            depends_on=tuple(data["depends_on"]),
            estimate_s=float(data["estimate_s"]),
            description=data.get("description", ""),
        )


@dataclass(frozen=True)
class Plan:
    stack: str
    steps: tuple[Step, ...]
    rto_target_s: float
    rpo_target_s: float

    def step(self, step_id: str) -> Step:
        for step in self.steps:
            if step.id == step_id:
                return step
        raise KeyError(step_id)


@dataclass
class StepOutcome:
    """What a target reports for a step that succeeded."""

    outputs: dict[str, Any] = field(default_factory=dict)  # JSON-able; dependents may read them
    evidence: dict[str, Any] = field(default_factory=dict)  # checks, counts, timings for the report
    exercised: bool = True  # False: declared, but there is nothing to run it against here


class StepContext(Protocol):
    run_dir: Any

    def outputs_of(self, step_id: str) -> dict[str, Any]: ...


StepRunner = Callable[[Step, StepContext], StepOutcome]


class GateWaiting(Exception):
    """Raised by a runner for a manual gate that has not been approved yet.

    Not a failure: the step is journaled `waiting`, its dependents are not scheduled, and the run
    ends `waiting` until someone approves and resumes it.
    """
