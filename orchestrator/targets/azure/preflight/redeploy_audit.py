"""What a redeploy of the primary from code would miss: what runs in its resource groups outside its
stack (readiness_unmanaged.py), and how the live primary drifted from its code (readiness_drift.py).
Found before the disaster, each is a finding with the resource's id: after it, there is nothing left
to compare with.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from orchestrator.targets.azure.clients import AzureSession
from orchestrator.targets.azure.preflight.findings import Check
from orchestrator.targets.azure.preflight.readiness import primary_targets
from orchestrator.targets.azure.preflight.readiness_drift import could_not_audit, drift_check, managed_ids
from orchestrator.targets.azure.preflight.readiness_unmanaged import postgres_admins_check, unmanaged_in_group
from stacks.config import StackConfig

if TYPE_CHECKING:
    from pulumi import automation as auto

    from orchestrator.program.graph import Graph


def redeploy_audit(session: AzureSession, graph: Graph, primary: StackConfig,
                   stack: Callable[[], auto.Stack]) -> list[Check]:
    """The primary's resources and admins its stack does not manage, and its drift from its code.
    `graph` and `primary` are the primary stack's; `stack` selects its Pulumi stack
    (readiness_drift.select_stack), whose state says what the stack manages."""
    name = primary.stack
    try:
        selected = stack()
        managed = managed_ids(selected)
    except Exception as exc:
        return [could_not_audit("readiness.state", f"The state of stack {name} can be read", "stack export", exc)]
    groups = dict.fromkeys((graph.outputs.get("resourceGroups") or {}).values())
    checks = [unmanaged_in_group(session, group, managed, name) for group in groups]
    declared = primary.postgres.entra_admin if primary.enabled("postgres") else None
    checks += [postgres_admins_check(session, t.resource_group, t.name, managed, declared, name)
               for t in primary_targets(graph) if t.kind == "postgres"]
    checks.append(drift_check(lambda: selected, name))
    return checks
