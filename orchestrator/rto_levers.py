"""When the plan's estimated RTO (its critical path) is over the target: what is on the path, and
the levers the seed lists for runbook timings over the RTO, each with what it would save.

A saving is printed only where it is computed: the critical path is recomputed on the plan with
the lever pulled (gates at zero, cross-component waits removed, rehydration replaced by a
service-managed failover). Where that cannot be modelled from the plan the lever is still named,
with `saving_s` null and the reason.
"""

from __future__ import annotations

import heapq
import math
from dataclasses import replace
from typing import Any

from components.profile import DRProfile, RecoveryAction
from orchestrator.model import Plan, StepKind
from orchestrator.plan import PLATFORM, critical_path, remaining_seconds

DEFAULT_WORKERS = 4  # drctl drill/failover's default --workers


def _t(seconds: float) -> str:
    return f"{seconds:.1f}s" if seconds < 60 else f"{seconds / 60:.0f} min"


def _with_estimates(plan: Plan, zeroed: set[str]) -> Plan:
    return replace(plan, steps=tuple(replace(s, estimate_s=0.0) if s.id in zeroed else s for s in plan.steps))


def _saving(plan: Plan, zeroed: set[str], critical_s: float) -> float:
    return round(critical_s - critical_path(_with_estimates(plan, zeroed))[0], 3)


def scheduled_seconds(plan: Plan, workers: int) -> float:
    """How long the plan takes on `workers` workers, scheduled as the engine does (a ready step
    starts at once when a worker is free, most estimated work behind it first)."""
    remaining = remaining_seconds(plan)
    order = {step.id: n for n, step in enumerate(plan.steps)}
    waiting = {step.id: set(step.depends_on) for step in plan.steps}
    estimate = {step.id: step.estimate_s for step in plan.steps}
    started: set[str] = set()
    running: list[tuple[float, int, str]] = []
    now = 0.0
    while len(started) < len(plan.steps) or running:
        ready = sorted((sid for sid, deps in waiting.items() if sid not in started and not deps),
                       key=lambda sid: (-remaining[sid], order[sid]))
        for sid in ready[: workers - len(running)]:
            started.add(sid)
            heapq.heappush(running, (now + estimate[sid], order[sid], sid))
        now, _, done = heapq.heappop(running)  # the plan is a DAG, so something is always running
        for deps in waiting.values():
            deps.discard(done)
    return now


def _independent(plan: Plan) -> Plan:
    """The plan with every wait of one component on another removed (the platform's gate still
    waits for every smoke test)."""
    component = {step.id: step.component for step in plan.steps}
    return replace(plan, steps=tuple(
        step if step.component == PLATFORM
        else replace(step, depends_on=tuple(d for d in step.depends_on if component[d] == step.component))
        for step in plan.steps
    ))


def _automate(plan: Plan, path: list[str], critical_s: float) -> dict[str, Any]:
    gates = [step for step in plan.steps if step.kind == StepKind.GATE]
    on_path = [step for step in gates if step.id in path]
    cost = sum(step.estimate_s for step in on_path)
    if not on_path:
        detail = "no manual gate is on the critical path: automating gates would not shorten it"
    else:
        detail = (f"the manual gates on the path ({', '.join(s.id for s in on_path)}) cost {_t(cost)}; "
                  "automated checks instead of people's sign-off would take the path down by the saving")
    return {"lever": "automate", "steps": [s.id for s in on_path], "cost_on_path_s": cost,
            "saving_s": _saving(plan, {s.id for s in gates}, critical_s) if on_path else 0.0, "detail": detail}


def _parallelise(plan: Plan, path: list[str], critical_s: float, workers: int) -> dict[str, Any]:
    by_id = {step.id: step for step in plan.steps}
    waits = [f"{b} waits for {a}" for a, b in zip(path, path[1:])
             if by_id[a].component != by_id[b].component and PLATFORM not in (by_id[a].component, by_id[b].component)]
    independent_s, _ = critical_path(_independent(plan))
    scheduled_s = scheduled_seconds(plan, workers)
    detail = (f"if no component waited for another the critical path would be {_t(independent_s)}: at most "
              f"{_t(critical_s - independent_s)} to gain, an upper bound (some waits are real: nothing deploys into "
              f"a network that is not there)")
    if waits:
        detail += "; the waits on the path: " + ", ".join(waits)
    if scheduled_s > critical_s:
        detail += (f"; with --workers {workers} the steps queue for workers and take {_t(scheduled_s)}: more workers "
                   f"(DR executors) would save up to {_t(scheduled_s - critical_s)} of that")
    return {"lever": "parallelise", "cross_component_waits": waits, "saving_s": round(critical_s - independent_s, 3),
            "saving_is_upper_bound": True,
            "independent_critical_path_s": independent_s, "workers": workers, "scheduled_s": scheduled_s,
            "detail": detail}


def _uplift(plan: Plan, path: list[str], profiles: dict[str, DRProfile], critical_s: float) -> dict[str, Any]:
    by_id = {step.id: step for step in plan.steps}
    components = list(dict.fromkeys(by_id[sid].component for sid in path))
    candidates = []
    for key in components:
        profile = profiles.get(key)
        if profile is None or profile.recovery_action in (RecoveryAction.SAAS, RecoveryAction.SERVICE_FAILOVER):
            continue
        options = [option for seed in profile.seed for option in seed.uplift_options]
        rehydrate = by_id.get(f"{key}.{StepKind.REHYDRATE}")
        if rehydrate is not None and rehydrate.estimate_s > 0:
            # A service-managed failover keeps the replicated data: the plan's chain for it has no
            # rehydrate step (plan._FAILOVER_CHAIN), so that step's time is what the uplift removes.
            saving = _saving(plan, {rehydrate.id}, critical_s)
            why = f"a service-managed failover (no rehydrate step) would drop {rehydrate.id} ({_t(rehydrate.estimate_s)})"
            if saving < rehydrate.estimate_s:
                why += ", and the next-longest chain then sets the path"
        else:
            saving = None
            why = ("its data comes back inside its deploy step or by replay: a higher tier's saving is not "
                   "computed from the plan" if profile.stateful else
                   "stateless: a standby or zone-redundant tier's saving is not computed from the plan")
        candidates.append({"component": key, "recovery_action": str(profile.recovery_action),
                           "saving_s": saving, "detail": why, "seed_uplift_options": options})
    computed = [c for c in candidates if c["saving_s"] is not None]
    together = {f"{c['component']}.{StepKind.REHYDRATE}" for c in computed}
    return {"lever": "uplift the service tier or redundancy", "components": candidates,
            "saving_s": _saving(plan, together, critical_s) if computed else None,
            "detail": ("all the computed uplifts together" if computed else
                       "no rehydrate step on the critical path: no saving computed")}


def rto_levers(plan: Plan, profiles: dict[str, DRProfile], sources: dict[str, str] | None = None,
               workers: int = DEFAULT_WORKERS) -> dict[str, Any] | None:
    """The critical path and the levers when the estimated RTO is over the target; None when within."""
    critical_s, path = critical_path(plan)
    if critical_s <= plan.rto_target_s:
        return None
    by_id = {step.id: step for step in plan.steps}
    needed_minutes = math.ceil(critical_s / 60)
    return {
        "estimated_rto_s": critical_s,
        "rto_target_s": plan.rto_target_s,
        "over_by_s": round(critical_s - plan.rto_target_s, 3),
        "critical_path": [
            {"step": sid, "kind": str(by_id[sid].kind), "estimate_s": by_id[sid].estimate_s,
             "estimate_source": (sources or {}).get(sid, "profile")}
            for sid in path
        ],
        "levers": [
            _automate(plan, path, critical_s),
            _parallelise(plan, path, critical_s, workers),
            _uplift(plan, path, profiles, critical_s),
            {"lever": "agree a longer RTO", "saving_s": None, "rto_needed_s": critical_s,
             "detail": f"the target would need to be rtoMinutes >= {needed_minutes} (the critical path takes "
                       f"{critical_s:.0f}s); it is {plan.rto_target_s / 60:g}"},
        ],
    }
