"""`drctl approve`: a gate's sign-off, recorded once in the run directory."""

from __future__ import annotations

import json

import pytest

from orchestrator.atomic import write_json_atomic
from orchestrator.errors import BadInput
from orchestrator.model import Plan, Step, StepKind
from orchestrator.plan.recovery import plan_to_json
from orchestrator.verbs.approve import approve


@pytest.fixture
def run_dir(tmp_path):
    steps = (
        Step("lake.smoke", "lake", StepKind.SMOKE, (), 60),
        Step("platform.gate", "platform", StepKind.GATE, ("lake.smoke",), 900),
        Step("platform.handover", "platform", StepKind.HANDOVER, ("platform.gate",), 300),
    )
    write_json_atomic(tmp_path / "run.json", {"run_id": "failover-1", "kind": "failover", "stack": "secondary"})
    write_json_atomic(tmp_path / "plan.json", plan_to_json(Plan("secondary", steps, 14400, 3600)))
    return tmp_path


def test_an_approval_is_recorded_with_who_and_when(run_dir):
    document = approve(run_dir, "platform.gate", by="Ada (DR lead)", note="smoke evidence reviewed")
    recorded = json.loads((run_dir / "approvals" / "platform.gate.json").read_text())
    assert recorded["approved_by"] == "Ada (DR lead)" and recorded["note"] == "smoke evidence reviewed"
    assert recorded["approved_at"].endswith("Z") and document["next"].startswith("drctl resume")


def test_a_gate_is_approved_once(run_dir):
    approve(run_dir, "platform.gate", by="Ada")
    with pytest.raises(BadInput, match="already approved by Ada"):
        approve(run_dir, "platform.gate", by="Mallory")
    assert json.loads((run_dir / "approvals" / "platform.gate.json").read_text())["approved_by"] == "Ada"


@pytest.mark.parametrize("step,by,message", [
    ("lake.smoke", "Ada", "is not a gate of this run"),
    ("platform.gat", "Ada", "is not a gate of this run"),
    ("platform.gate", "  ", "name the person approving"),
])
def test_bad_approvals_are_refused_and_nothing_is_written(run_dir, step, by, message):
    with pytest.raises(BadInput, match=message):
        approve(run_dir, step, by=by)
    assert not (run_dir / "approvals" / f"{step}.json").exists()


def test_the_azure_gate_step_reads_the_approval(run_dir):
    from orchestrator.model import GateWaiting
    from orchestrator.targets.azure.data_steps import AzureDataSteps

    steps = AzureDataSteps.__new__(AzureDataSteps)  # only the gate logic is used: no Azure session
    steps.run_dir = run_dir
    gate = Step("platform.gate", "platform", StepKind.GATE, (), 900)
    with pytest.raises(GateWaiting):
        steps.run(gate, None)
    approve(run_dir, "platform.gate", by="Ada")
    assert steps.run(gate, None).outputs["approved_by"] == "Ada"
