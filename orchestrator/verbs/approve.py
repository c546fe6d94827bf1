"""`drctl approve RUN STEP [--by NAME] [--note TEXT]`: a person signs off a gate a run waits at.

The approval is a file in the run directory (`approvals/<step>.json`), written once and never
overwritten, so the evidence says who approved what, when, in which role and how drctl knew it
was them, and signed in an addendum to the run's seal; `drctl resume` then goes on. Whether the
gate may be approved now is orchestrator/run/gate_readiness.py's to say, and who may approve it
orchestrator/run/approvers.py's: a refusal writes nothing.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

from orchestrator.atomic import make_dirs, write_atomic
from orchestrator.errors import BadInput
from orchestrator.evidence.chain import extend
from orchestrator.plan.recovery import plan_from_json
from orchestrator.run.approvers import ContactsFile, identify_approver
from orchestrator.run.gate_readiness import approvable_gate
from orchestrator.run.rundir import RunDir, utc_now
from orchestrator.targets.azure.signed_in import EntraIdentity


def approve(run_dir: Path, step_id: str, *, by: str | None, contacts: ContactsFile, note: str | None = None,
            signed_in: Callable[[], EntraIdentity] | None = None) -> dict[str, Any]:
    """`signed_in`: who holds the Entra token on Azure (default: the person's own credential)."""
    run = RunDir(run_dir)
    document = run.read_run()
    try:
        plan = plan_from_json(json.loads(run.plan_json.read_text(encoding="utf-8")))
    except (OSError, ValueError) as exc:
        raise BadInput(f"RUN: {run.plan_json} cannot be read: {exc}") from None
    step = approvable_gate(run, plan, step_id)
    approver = identify_approver(document, step, contacts, by=by, signed_in=signed_in)
    make_dirs(run.approvals)
    path = run.approval(step_id)
    approval = {"step": step_id, "approved_by": approver.name, "approved_at": utc_now(), "note": note,
                **approver.record(contacts)}
    try:
        # Exclusive: an approval is a record, not a setting; a second one for the same gate is refused.
        write_atomic(path, json.dumps(approval, indent=2), exclusive=True)
    except FileExistsError:
        existing = json.loads(path.read_text(encoding="utf-8"))
        raise BadInput(f"STEP: {step_id} was already approved by {existing.get('approved_by')} at {existing.get('approved_at')}") from None
    # A run stopped at the gate was sealed: the approval extends that seal, signed (orchestrator/evidence/chain.py).
    addendum = extend(run.path, [path], reason=f"approval of {step_id}")
    return {**approval, "file": str(path), "addendum": str(addendum) if addendum else None,
            "next": f"drctl resume {run_dir}"}
