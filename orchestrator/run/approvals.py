"""Gates and their approvals as the targets see them: an approval is a file in the run directory
(`approvals/<step>.json`, written by `drctl approve`: orchestrator/verbs/approve.py), and a gate
without one waits; an unattended local drill records its gates as approved."""

from __future__ import annotations

import json
from pathlib import Path

from orchestrator.model import GateWaiting, PermanentError, StepOutcome
from orchestrator.run.rundir import RunDir, utc_now


def recorded_approval(run_dir: Path, step_id: str) -> StepOutcome:
    """A gate step: succeeds with the approval `drctl approve` recorded, else waits for one."""
    path = RunDir(run_dir).approval(step_id)
    if not path.is_file():
        raise GateWaiting(f"{step_id} waits for approval: drctl approve {Path(run_dir).name} {step_id} --by NAME, "
                          "then drctl resume")
    try:
        approval = json.loads(path.read_text(encoding="utf-8"))
    except ValueError as err:
        raise PermanentError(f"{step_id}: the approval {path} is not valid JSON: {err}") from None
    if not isinstance(approval, dict) or not approval.get("approved_by"):
        raise PermanentError(f"{step_id}: the approval {path} names no approved_by")
    return StepOutcome(outputs={"approved_by": str(approval["approved_by"]), "approved_at": approval.get("approved_at")},
                       evidence={"approval": approval, "file": f"{RunDir.APPROVALS}/{path.name}",
                                 "auto_approved": False})


def auto_approval(who: str, why: str, component: str = "platform") -> StepOutcome:
    """An unattended run's gate: approved by drctl itself, and the evidence says so. A service's own
    gate (a person confirming a SaaS service is available) is then not exercised: nobody confirmed
    it, so it cannot count towards that service being recovered."""
    return StepOutcome(outputs={"approved_by": who, "approved_at": utc_now()},
                       evidence={"approval": f"auto-approved: {why}", "auto_approved": True},
                       exercised=component == "platform")
