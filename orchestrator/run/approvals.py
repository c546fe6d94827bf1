"""`drctl approve RUN STEP --by NAME [--note TEXT]`: a person signs off a gate a run waits at.

The approval is a file in the run directory (`approvals/<step>.json`), written once and never
overwritten, so the evidence says who approved what and when; `drctl resume` then goes on.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from orchestrator.errors import BadInput
from orchestrator.model import GateWaiting, PermanentError, StepKind, StepOutcome
from orchestrator.plan.recovery import plan_from_json
from orchestrator.run.rundir import read_run, utc_now


def approve(run_dir: Path, step_id: str, *, by: str, note: str | None = None) -> dict[str, Any]:
    read_run(run_dir)
    try:
        plan = plan_from_json(json.loads((Path(run_dir) / "plan.json").read_text(encoding="utf-8")))
    except (OSError, ValueError) as exc:
        raise BadInput(f"RUN: {Path(run_dir) / 'plan.json'} cannot be read: {exc}") from None
    gates = [step.id for step in plan.steps if step.kind == StepKind.GATE]
    if step_id not in gates:
        raise BadInput(f"STEP: {step_id!r} is not a gate of this run (gates: {', '.join(gates) or 'none'})")
    if not by.strip():
        raise BadInput("--by: name the person approving")
    folder = Path(run_dir) / "approvals"
    folder.mkdir(exist_ok=True)
    path = folder / f"{step_id}.json"
    approval = {"step": step_id, "approved_by": by.strip(), "approved_at": utc_now(), "note": note}
    try:
        # O_EXCL: an approval is a record, not a setting; a second one for the same gate is refused.
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
    except FileExistsError:
        existing = json.loads(path.read_text(encoding="utf-8"))
        raise BadInput(f"STEP: {step_id} was already approved by {existing.get('approved_by')} at {existing.get('approved_at')}") from None
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        json.dump(approval, handle, indent=2)
        handle.flush()
        os.fsync(handle.fileno())
    return {**approval, "file": str(path), "next": f"drctl resume {run_dir}"}


def recorded_approval(run_dir: Path, step_id: str) -> StepOutcome:
    """A gate step: succeeds with the approval `drctl approve` recorded, else waits for one."""
    path = Path(run_dir) / "approvals" / f"{step_id}.json"
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
                       evidence={"approval": approval, "file": f"approvals/{path.name}", "auto_approved": False})


def auto_approval(who: str, why: str) -> StepOutcome:
    """An unattended run's gate: approved by drctl itself, and the evidence says so."""
    return StepOutcome(outputs={"approved_by": who, "approved_at": utc_now()},
                       evidence={"approval": f"auto-approved: {why}", "auto_approved": True})
