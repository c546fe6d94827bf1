"""When the plan's estimated RTO (its critical path) is over the target: what is on the path, and
the levers the seed lists for runbook timings over the RTO, each with what it would save.

A saving is printed only where it is computed: the critical path is recomputed on the plan with
the lever pulled (gates at zero, cross-component waits removed, rehydration replaced by a
service-managed failover). Where that cannot be modelled from the plan the lever is still named,
with `saving_s` null and the reason.
"""

from __future__ import annotations

import heapq
import itertools
import math
from typing import Any

from components.profile import DRProfile, RecoveryAction
from orchestrator.model import Plan, StepKind
from orchestrator.plan.recovery import PLATFORM, critical_path, validate_plan

DEFAULT_WORKERS = 4  # drctl drill/failover's default --workers


def _t(seconds: float) -> str:
    return f"{seconds:.1f}s" if seconds < 60 else f"{seconds / 60:.0f} min"


class _Dag:
    """The plan's steps by position in topological order, with their dependencies as positions:
    the levers ask for the critical path again and again with one thing changed, and on a plan of
    tens of thousands of steps string-keyed lookups were most of the time."""

    def __init__(self, plan: Plan) -> None:
        order = validate_plan(plan)
        self.position = {step.id: n for n, step in enumerate(order)}
        self.steps = order
        at = self.position.__getitem__
        self.deps = [tuple(map(at, set(step.depends_on))) for step in order]
        self.estimate = [step.estimate_s for step in order]
        self.base = self._finish(self.estimate, self.deps)

    @staticmethod
    def _finish(estimate: list[float], deps: list[tuple[int, ...]], start: int = 0,
                finish: list[float] | None = None) -> list[float]:
        finish = list(finish) if finish is not None else [0.0] * len(estimate)
        for n in range(start, len(estimate)):
            best = 0.0
            for d in deps[n]:
                if finish[d] > best:
                    best = finish[d]
            finish[n] = best + estimate[n]
        return finish

    def longest(self, zeroed: set[str] | frozenset[str] = frozenset()) -> float:
        """The critical path's length with the `zeroed` steps taking no time. Steps before the
        first zeroed one keep their finish times, so only the rest is recomputed."""
        if not zeroed:
            return max(self.base, default=0.0)
        estimate = list(self.estimate)
        for sid in zeroed:
            estimate[self.position[sid]] = 0.0
        start = min(self.position[sid] for sid in zeroed)
        return max(self._finish(estimate, self.deps, start, self.base), default=0.0)

    def independent(self) -> float:
        """The critical path with every wait of one component on another removed (the platform's
        gate still waits for every smoke test)."""
        comp = [step.component for step in self.steps]
        finish = [0.0] * len(self.estimate)
        for n, deps in enumerate(self.deps):
            own, best = comp[n], 0.0
            for d in deps:
                if finish[d] > best and (own == PLATFORM or comp[d] == own):
                    best = finish[d]
            finish[n] = best + self.estimate[n]
        return max(finish, default=0.0)


def _saving(dag: _Dag, zeroed: set[str], critical_s: float) -> float:
    return round(critical_s - dag.longest(zeroed), 3)


def scheduled_seconds(plan: Plan, workers: int, dag: _Dag | None = None) -> float:
    """How long the plan takes on `workers` workers, scheduled as the engine does (a ready step
    starts at once when a worker is free, most estimated work behind it first)."""
    dag = dag or _Dag(plan)
    n_steps = len(dag.steps)
    # Ties go to plan order, as in the engine; the longest chain of work from each step's start.
    rank = {step.id: n for n, step in enumerate(plan.steps)}
    order = [rank[step.id] for step in dag.steps]
    remaining = [0.0] * n_steps
    dependents: list[list[int]] = [[] for _ in range(n_steps)]
    for n in range(n_steps - 1, -1, -1):
        remaining[n] += dag.estimate[n]
        for d in dag.deps[n]:
            dependents[d].append(n)
            if remaining[n] > remaining[d]:
                remaining[d] = remaining[n]
    # Event-driven with heaps: a finish only touches its dependents (rescanning every waiting step
    # per finish took half a minute on a 3,000-component plan).
    missing = [len(d) for d in dag.deps]
    ready = [(-remaining[n], order[n], n) for n in range(n_steps) if not missing[n]]
    heapq.heapify(ready)
    running: list[tuple[float, int, int]] = []
    now = 0.0
    while ready or running:
        while ready and len(running) < workers:
            _, position, n = heapq.heappop(ready)
            heapq.heappush(running, (now + dag.estimate[n], position, n))
        now, _, done = heapq.heappop(running)  # the plan is a DAG, so something is always running
        for child in dependents[done]:
            missing[child] -= 1
            if not missing[child]:
                heapq.heappush(ready, (-remaining[child], order[child], child))
    return now


def _automate(plan: Plan, dag: _Dag, path: list[str], critical_s: float) -> dict[str, Any]:
    gates = [step for step in plan.steps if step.kind == StepKind.GATE]
    on_path = [step for step in gates if step.id in path]
    cost = sum(step.estimate_s for step in on_path)
    if not on_path:
        detail = "no manual gate is on the critical path: automating gates would not shorten it"
    else:
        detail = (f"the manual gates on the path ({', '.join(s.id for s in on_path)}) cost {_t(cost)}; "
                  "automated checks instead of people's sign-off would take the path down by the saving")
    return {"lever": "automate", "steps": [s.id for s in on_path], "cost_on_path_s": cost,
            "saving_s": _saving(dag, {s.id for s in gates}, critical_s) if on_path else 0.0, "detail": detail}


def _parallelise(plan: Plan, dag: _Dag, path: list[str], critical_s: float, workers: int) -> dict[str, Any]:
    by_id = {step.id: step for step in plan.steps}
    waits = [f"{b} waits for {a}" for a, b in itertools.pairwise(path)
             if by_id[a].component != by_id[b].component and PLATFORM not in (by_id[a].component, by_id[b].component)]
    independent_s = dag.independent()
    scheduled_s = scheduled_seconds(plan, workers, dag)
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


def _uplift(plan: Plan, dag: _Dag, path: list[str], profiles: dict[str, DRProfile],
            critical_s: float) -> dict[str, Any]:
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
            saving = _saving(dag, {rehydrate.id}, critical_s)
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
            "saving_s": _saving(dag, together, critical_s) if computed else None,
            "detail": ("all the computed uplifts together" if computed else
                       "no rehydrate step on the critical path: no saving computed")}


def rto_levers(plan: Plan, profiles: dict[str, DRProfile], sources: dict[str, str] | None = None,
               workers: int = DEFAULT_WORKERS) -> dict[str, Any] | None:
    """The critical path and the levers when the estimated RTO is over the target; None when within."""
    critical_s, path = critical_path(plan)
    if critical_s <= plan.rto_target_s:
        return None
    by_id = {step.id: step for step in plan.steps}
    dag = _Dag(plan)
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
            _automate(plan, dag, path, critical_s),
            _parallelise(plan, dag, path, critical_s, workers),
            _uplift(plan, dag, path, profiles, critical_s),
            {"lever": "agree a longer RTO", "saving_s": None, "rto_needed_s": critical_s,
             "detail": f"the target would need to be rtoMinutes >= {needed_minutes} (the critical path takes "
                       f"{critical_s:.0f}s); it is {plan.rto_target_s / 60:g}"},
        ],
    }
