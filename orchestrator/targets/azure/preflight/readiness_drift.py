"""Drift of the live primary from its code: a refresh in preview mode, through the Automation API.

`Stack.preview_refresh()` runs `pulumi refresh --preview-only`: the provider reads every resource
of the stack and the engine reports, per resource, what a refresh would change (update: the live
resource differs from what the program last applied; delete: it is gone), and changes nothing,
neither the cloud nor the state. Every resource it would change is one a redeploy from code would
not reproduce as it runs now, so each is reported with its URN, ARM id and changed properties.

The stack is selected, never created: an audit must not add a stack to the backend.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from pulumi import automation as auto

from orchestrator.model import TransientError
from orchestrator.targets.azure.deploy.stack import pulumi_command, pulumi_errors
from orchestrator.targets.azure.preflight.findings import Check, error_evidence, finding, first_line, passed

CHECK_ID = "readiness.drift"
# What a refresh reports for a resource that matches (or is only read); anything else is a change.
UNCHANGED = frozenset({"same", "refresh", "read"})


def select_stack(project_dir: Path, name: str, *, command: Path | None = None,
                 env_vars: Mapping[str, str] | None = None) -> auto.Stack:
    """Stack `name` of the project, selected (StackNotFoundError when it does not exist)."""
    with pulumi_errors("stack select"):
        options = auto.LocalWorkspaceOptions(env_vars=dict(env_vars or {}), pulumi_command=pulumi_command(command))
        return auto.select_stack(name, work_dir=str(project_dir), opts=options)


def managed_ids(stack: auto.Stack) -> frozenset[str]:
    """The ARM ids (lower case: ARM's casing varies) of every resource in the stack's state."""
    with pulumi_errors("stack export"):
        deployment = stack.export_stack().deployment or {}
    ids = (r.get("id") for r in deployment.get("resources") or [] if isinstance(r, dict))
    return frozenset(i.lower() for i in ids if isinstance(i, str) and i.startswith("/subscriptions/"))


def _op(metadata: Any) -> str:
    return str(getattr(metadata.op, "value", metadata.op))


def refresh_preview(stack: auto.Stack) -> tuple[list[dict[str, Any]], dict[str, int]]:
    """(each resource a refresh would change, the preview's change summary)."""
    seen: dict[str, dict[str, Any]] = {}

    def on_event(event: Any) -> None:
        # A refresh step starts as "refresh" and ends as what it found (same, update, delete): the
        # outputs event, when there is one, has the verdict.
        for found in (event.resource_pre_event, event.res_outputs_event):
            metadata = getattr(found, "metadata", None)
            if metadata is None:
                continue
            state = metadata.new or metadata.old
            seen[metadata.urn] = {"urn": metadata.urn, "type": metadata.type, "op": _op(metadata),
                                  "id": getattr(state, "id", None) or None, "diffs": list(metadata.diffs or [])}

    with pulumi_errors("refresh --preview-only"):
        result = stack.preview_refresh(on_event=on_event, color="never")
    summary = {str(getattr(op, "value", op)): int(n) for op, n in (result.change_summary or {}).items()}
    return [r for r in seen.values() if r["op"] not in UNCHANGED], summary


def drift_check(stack: Callable[[], auto.Stack], name: str) -> Check:
    """One check: the primary's resources that differ from what its code last applied."""
    title = f"The live primary matches its code (stack {name})"
    try:
        changed, summary = refresh_preview(stack())
    except Exception as exc:
        return could_not_audit(CHECK_ID, title, "refresh preview", exc)
    counted = sum(n for op, n in summary.items() if op not in UNCHANGED)
    evidence = {"changed": changed, "summary": summary}
    if not changed and not counted:
        return passed(CHECK_ID, title, f"a refresh of {name} would change nothing", evidence)
    listed = ", ".join(r["id"] or r["urn"] for r in changed[:5]) or "details not reported by the CLI"
    return finding(
        CHECK_ID, title, "warning",
        f"{max(counted, len(changed))} resource(s) of {name} differ from its code: {listed}",
        fix=f"bring the changes into the program, or undo them with `pulumi up --stack {name}`; then the "
            "secondary is built like the primary runs",
        rpo_consequence="a redeploy from code does not reproduce the changed settings", evidence=evidence)


def could_not_audit(check_id: str, title: str, what: str, exc: BaseException) -> Check:
    """An audit that could not run is a warning: it never blocks a failover by itself."""
    evidence = {**error_evidence(exc), **(getattr(exc, "evidence", None) or {})}
    return finding(check_id, title, "warning", f"could not audit ({what}): {first_line(exc)}",
                   retriable=isinstance(exc, TransientError) or bool(evidence.get("retry_after_s")),
                   evidence=evidence)
