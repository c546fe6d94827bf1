"""`drctl approve RUN STEP --by NAME [--note TEXT]`: a person signs off a gate a run waits at.

The approval is a file in the run directory (`approvals/<step>.json`), written once and never
overwritten, so the evidence says who approved what and when; `drctl resume` then goes on.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from orchestrator.atomic import make_dirs, write_atomic
from orchestrator.errors import BadInput
from orchestrator.model import StepKind
from orchestrator.plan.recovery import plan_from_json
from orchestrator.run.rundir import RunDir, utc_now


def approve(run_dir: Path, step_id: str, *, by: str, note: str | None = None) -> dict[str, Any]:
    run = RunDir(run_dir)
    run.read_run()
    try:
        plan = plan_from_json(json.loads(run.plan_json.read_text(encoding="utf-8")))
    except (OSError, ValueError) as exc:
        raise BadInput(f"RUN: {run.plan_json} cannot be read: {exc}") from None
    gates = [step.id for step in plan.steps if step.kind == StepKind.GATE]
    if step_id not in gates:
        raise BadInput(f"STEP: {step_id!r} is not a gate of this run (gates: {', '.join(gates) or 'none'})")
    if not by.strip():
        raise BadInput("--by: name the person approving")
    make_dirs(run.approvals)
    path = run.approval(step_id)
    approval = {"step": step_id, "approved_by": by.strip(), "approved_at": utc_now(), "note": note}
    try:
        # Exclusive: an approval is a record, not a setting; a second one for the same gate is refused.
        write_atomic(path, json.dumps(approval, indent=2), exclusive=True)
    except FileExistsError:
        existing = json.loads(path.read_text(encoding="utf-8"))
        raise BadInput(f"STEP: {step_id} was already approved by {existing.get('approved_by')} at {existing.get('approved_at')}") from None
    return {**approval, "file": str(path), "next": f"drctl resume {run_dir}"}
