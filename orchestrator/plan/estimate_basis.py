"""Where each estimate of a plan comes from, said in words, and one line when a plan mixes sources.

A local drill's steps take under a second against emulators; a component's DR profile (the code's
estimate) speaks of minutes on Azure. A critical path summing both is neither, so the plan says
so rather than letting a reader take it for a forecast.
"""

from __future__ import annotations

from typing import Any

from orchestrator.model import Plan
from orchestrator.plan.history import StepHistory

CODE_LABEL = "code estimate (the component's DR profile)"


def estimate_bases(plan: Plan, histories: dict[str, StepHistory], target: str) -> dict[str, dict[str, Any]]:
    """Per step: {"source": "history", "target", "runs", "label"} or {"source": "code", "label"}."""
    bases: dict[str, dict[str, Any]] = {}
    for step in plan.steps:
        found = histories.get(step.id)
        if found is None:
            bases[step.id] = {"source": "code", "label": CODE_LABEL}
        else:
            bases[step.id] = {"source": "history", "target": target, "runs": len(found.samples),
                              "label": f"{target} {found.source}"}
    return bases


def estimate_mix(bases: dict[str, dict[str, Any]], target: str) -> str | None:
    """One line when some estimates are measured and others the code's; None when they are all one kind."""
    measured = sum(1 for basis in bases.values() if basis["source"] == "history")
    code = len(bases) - measured
    if not measured or not code:
        return None
    consequence = ("the critical path is not a forecast of an Azure run" if target == "local"
                   else "the critical path adds measured Azure times to the code's guesses")
    return (f"estimates mix {measured} {target} timing{'s' if measured != 1 else ''} with {code} code "
            f"estimate{'s' if code != 1 else ''}: {consequence}")
