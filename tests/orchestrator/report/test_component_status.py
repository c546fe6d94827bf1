"""A component's status says what drctl did for it: recovered only when exercised and every step
passed; a step that succeeded only as declared is not a recovery."""

from __future__ import annotations

import pytest

from orchestrator.model import StepKind
from orchestrator.report.handover import StepRecord, component_counts, component_status


def step(kind: StepKind, state: str = "succeeded", exercised: bool = True) -> StepRecord:
    return StepRecord(id=f"lake.{kind}", component="lake", kind=kind, state=state, exercised=exercised)


@pytest.mark.parametrize("steps,status", [
    ([step(StepKind.DEPLOY), step(StepKind.SMOKE)], "recovered"),
    ([step(StepKind.DEPLOY, exercised=False), step(StepKind.SMOKE, exercised=False)], "not_exercised"),
    ([step(StepKind.DEPLOY, exercised=False), step(StepKind.SMOKE)], "recovered"),  # its checks ran
    # Deployed, but its checks did not run (a smoke step with nothing to run against): not proven.
    ([step(StepKind.DEPLOY), step(StepKind.SMOKE, exercised=False)], "not_exercised"),
    ([step(StepKind.DEPLOY), step(StepKind.REHYDRATE), step(StepKind.VALIDATE, exercised=False),
      step(StepKind.SMOKE)], "not_exercised"),
    ([step(StepKind.DEPLOY), step(StepKind.SMOKE, "failed")], "failed"),
    ([step(StepKind.DEPLOY, exercised=False), step(StepKind.SMOKE, "failed", exercised=False)], "failed"),
    ([step(StepKind.DEPLOY), step(StepKind.SMOKE, "pending")], "incomplete"),
])
def test_status(steps, status):
    assert component_status(steps) == status


def test_the_outcome_line_counts_what_was_exercised():
    components = [{"status": "recovered"}, {"status": "recovered"}, *({"status": "not_exercised"},) * 11]
    assert component_counts("recovered", components) == {
        "components_exercised": 2, "components_declared": 11,
        "outcome_line": "recovered: 2 of 13 components exercised, 11 declared only"}
