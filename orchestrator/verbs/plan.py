"""`drctl plan`: the recovery plan of a stack as a document: its steps with estimates from the runs'
history where there is some, the critical path against the RTO, regressions, and the levers when the
plan is over its target. `drctl failover --dry-run` and the runbook show the same document."""

from __future__ import annotations

import hashlib
from pathlib import Path

from orchestrator.plan.document import plan_document
from orchestrator.stack import StackModel, check_stack, load_stack


def plan_command(project_dir: Path, stack: str, *, workdir: Path | None = None, history_from: str = "azure",
                 regression_threshold: float | None = None) -> dict:
    """`drctl plan`: plan_document of the stack, cached under the program's and the history's bytes."""
    from orchestrator.plan.history import REGRESSION_THRESHOLD, history_path
    from orchestrator.program.cache import cached_document

    threshold = REGRESSION_THRESHOLD if regression_threshold is None else regression_threshold
    path = history_path(workdir, stack) if workdir is not None and history_from != "none" else None
    check_stack(project_dir, stack)
    # The history the estimates come from is part of the key, byte for byte, like the program.
    try:
        history = hashlib.sha256(path.read_bytes()).hexdigest() if path is not None else None
    except FileNotFoundError:
        history = None
    return cached_document("plan", project_dir, stack, (str(path), history, history_from, threshold),
                           lambda: stack_plan_document(load_stack(project_dir, stack), workdir=workdir,
                                                       history_from=history_from, regression_threshold=threshold))


def stack_plan_document(model: StackModel, *, workdir: Path | None = None, history_from: str = "azure",
                        regression_threshold: float | None = None) -> dict:
    """plan_document of the stack's recovery plan and profiles."""
    return plan_document(model.recovery_plan, model.profiles_by_key, model.name, workdir=workdir,
                         history_from=history_from, regression_threshold=regression_threshold)
