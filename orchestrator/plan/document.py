"""A recovery plan as the document `drctl plan` prints: its steps with their estimates (from the
runs' history where there is some), the critical path against the RTO, regressions, and the levers
when it is over target. The runbook and `drctl failover --dry-run` show the same document."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

from components.profile import DRProfile
from orchestrator.errors import BadInput
from orchestrator.model import Plan


def plan_document(recovery_plan: Plan, profiles: Mapping[str, DRProfile], stack: str, *,
                  workdir: Path | None = None, history_from: str = "azure",
                  regression_threshold: float | None = None) -> dict:
    """The plan as JSON; with a workdir, estimates from `history_from` runs' history (orchestrator/plan/history.py)
    where there is some, and when over the RTO the critical path and levers (orchestrator/plan/rto_levers.py)."""
    from orchestrator.plan.estimate_basis import estimate_bases, estimate_mix
    from orchestrator.plan.history import (
        REGRESSION_THRESHOLD,
        HistoryCorrupt,
        apply_history,
        history_counts,
        history_path,
        read_history,
        step_histories,
    )
    from orchestrator.plan.recovery import plan_to_json
    from orchestrator.plan.rto_levers import rto_levers

    threshold = REGRESSION_THRESHOLD if regression_threshold is None else regression_threshold
    path = history_path(workdir, stack) if workdir is not None and history_from != "none" else None
    try:
        runs = read_history(path) if path is not None else []
    except HistoryCorrupt as exc:
        raise BadInput(f"--workdir: history damaged: {exc} (move the file aside to plan without it)") from None
    histories = step_histories(runs, history_from)
    plan, sources, regressions = apply_history(recovery_plan, histories, threshold)
    bases = estimate_bases(plan, histories, history_from)
    document = plan_to_json(plan)
    for step in document["steps"]:
        step["estimate_source"] = sources[step["id"]]
        step["estimate_basis"] = bases[step["id"]]
    document["history"] = {
        "file": str(path) if path is not None else None,
        "target": history_from,
        **history_counts(runs, history_from),
        "regression_threshold": threshold,
    }
    document["estimate_mix"] = estimate_mix(bases, history_from)  # None unless measured and code estimates mix
    document["regressions"] = regressions
    document["rto_levers"] = rto_levers(plan, dict(profiles), sources)
    return document
