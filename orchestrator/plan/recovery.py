"""The recovery plan: a DAG of steps built from the components' DR profiles.

Ordering is data: every edge comes from a profile's `depends_on` (with its one-line reason) or
from the fixed phase chain of a component, so the plan can be printed, diffed and reviewed
before anyone fails over.
"""

from __future__ import annotations

import math
from typing import Any

from components.profile import Dependency, DRProfile, RecoveryAction
from orchestrator.model import Plan, Step, StepKind
from orchestrator.plan.dag import remembered, topological_order, validate_plan

__all__ = [
    "BUSINESS_GATE",
    "PLATFORM",
    "build_plan",
    "critical_path",
    "plan_from_json",
    "plan_to_json",
    "remaining_seconds",
    "sequential_seconds",
    "step_id",
    "topological_order",
    "validate_plan",
]

PLATFORM = "platform"  # the component name of the gate and handover steps
BUSINESS_GATE = f"{PLATFORM}.business-gate"

# Phase chains after deploy. Rehydrated stores must be validated before ingestion replays the
# delta on top of them; redeployed stateful stores get their data back by replay alone;
# stateless components only need proving.
_REHYDRATE_CHAIN = (StepKind.REHYDRATE, StepKind.VALIDATE, StepKind.REPLAY, StepKind.SMOKE)
_REDEPLOY_CHAIN = (StepKind.REPLAY, StepKind.SMOKE)
# A service-managed failover keeps the data the service replicated: check it, then replay what the
# asynchronous replication had not carried yet.
_FAILOVER_CHAIN = (StepKind.VALIDATE, StepKind.REPLAY, StepKind.SMOKE)
_STATELESS_CHAIN = (StepKind.SMOKE,)

_DESCRIPTIONS = {
    StepKind.DEPLOY: "Deploy {title} in the recovery region",
    StepKind.REHYDRATE: "Rehydrate {title} from its geo-redundant copy or backup",
    StepKind.VALIDATE: "Validate {title} against the backup manifests",
    StepKind.REPLAY: "Replay ingestion into {title} from its watermark",
    StepKind.SMOKE: "Smoke-test {title}",
    StepKind.GATE: "Confirm with the service's status page or owner that {title} is available",
}


def step_id(component: str, kind: StepKind) -> str:
    return f"{component}.{kind}"


def chain(profile: DRProfile) -> tuple[StepKind, ...]:
    if profile.rehydrates:
        return _REHYDRATE_CHAIN
    if profile.stateful and profile.recovery_action == RecoveryAction.SERVICE_FAILOVER:
        return _FAILOVER_CHAIN
    return _REDEPLOY_CHAIN if profile.stateful else _STATELESS_CHAIN


def _saas_kind(profile: DRProfile) -> StepKind:
    """SaaS and Microsoft-recovered services: nothing to deploy. A readiness check where an API
    exists, else a person confirms (a manual gate)."""
    return StepKind.SMOKE if profile.smoke_checks else StepKind.GATE


def _ready_step(profile: DRProfile) -> str:
    """The step dependents wait for: the deploy, or a SaaS service's readiness step."""
    if profile.recovery_action == RecoveryAction.SAAS:
        return step_id(profile.key, _saas_kind(profile))
    return step_id(profile.key, StepKind.DEPLOY)


def _data_ready_step(profile: DRProfile) -> str:
    """The step after which a component's data is back and caught up: the last data step of its
    chain (replay, else validate or rehydrate), or its ready step when it holds no data."""
    if profile.recovery_action == RecoveryAction.SAAS:
        return _ready_step(profile)
    data_steps = [k for k in chain(profile) if k != StepKind.SMOKE]
    return step_id(profile.key, data_steps[-1]) if data_steps else _ready_step(profile)


def build_plan(
    stack: str,
    profiles: list[DRProfile],
    rto_target_s: float,
    rpo_target_s: float,
    *,
    gate_estimate_s: float = 0.0,
    business_gate_estimate_s: float | None = None,
    handover_estimate_s: float = 0.0,
) -> Plan:
    """The recovery DAG for the given components, in a deterministic topological order."""
    by_key = _profiles_by_key(profiles)
    steps: list[Step] = []
    smokes: list[str] = []  # each component's last step: the platform's gate waits for them all
    for profile in by_key.values():
        if profile.recovery_action == RecoveryAction.SAAS:
            component_steps = [_saas_step(profile, by_key)]
        else:
            component_steps = _component_steps(profile, by_key)
        steps += component_steps
        smokes.append(component_steps[-1].id)
    steps += _platform_steps(smokes, gate_estimate_s, business_gate_estimate_s, handover_estimate_s)

    def rank(step: Step) -> tuple[float, str]:
        # Lower priority recovers first; the platform steps come after every component.
        profile = by_key.get(step.component)
        return (profile.priority if profile else math.inf, step.id)

    ordered = topological_order(steps, rank)
    return Plan(stack=stack, steps=tuple(ordered), rto_target_s=float(rto_target_s), rpo_target_s=float(rpo_target_s))


def _profiles_by_key(profiles: list[DRProfile]) -> dict[str, DRProfile]:
    """The profiles by component key, in their given order; the same profile twice counts once."""
    by_key: dict[str, DRProfile] = {}
    for profile in profiles:
        if profile.key == PLATFORM:
            raise ValueError(f"component key {PLATFORM!r} is reserved for the gate and handover steps")
        if profile.key in by_key and by_key[profile.key] != profile:
            raise ValueError(f"two different DR profiles share the component key {profile.key!r}")
        by_key[profile.key] = profile
    return by_key


def _present_dependencies(profile: DRProfile, by_key: dict[str, DRProfile]) -> list[Dependency]:
    # Dependencies on components this stack does not contain are ignored: nothing to wait for.
    return [dep for dep in profile.depends_on if dep.component in by_key]


def _reasons(dependencies: list[Dependency]) -> str:
    """The dependencies' one-line reasons, appended to the description of the step that waits."""
    return "".join(f"; after {dep.component}: {dep.why}" for dep in dependencies)


def _saas_step(profile: DRProfile, by_key: dict[str, DRProfile]) -> Step:
    present = _present_dependencies(profile, by_key)
    kind = _saas_kind(profile)
    return Step(
        id=step_id(profile.key, kind),
        component=profile.key,
        kind=kind,
        depends_on=tuple(_ready_step(by_key[dep.component]) for dep in present),
        estimate_s=float(profile.estimates.smoke),
        description=_DESCRIPTIONS[kind].format(title=profile.title) + _reasons(present),
    )


def _component_steps(profile: DRProfile, by_key: dict[str, DRProfile]) -> list[Step]:
    """The deploy, then the component's chain (chain), each step after the one before."""
    present = _present_dependencies(profile, by_key)
    steps = [
        Step(
            id=step_id(profile.key, StepKind.DEPLOY),
            component=profile.key,
            kind=StepKind.DEPLOY,
            depends_on=tuple(_ready_step(by_key[dep.component]) for dep in present),
            estimate_s=float(profile.estimates.deploy),
            description=_DESCRIPTIONS[StepKind.DEPLOY].format(title=profile.title) + _reasons(present),
        )
    ]
    # Data steps reading another component's data wait for that data, not just its deploy.
    data_waits = tuple(_data_ready_step(by_key[dep.component]) for dep in present if dep.needs_data)
    for kind in chain(profile):
        steps.append(
            Step(
                id=step_id(profile.key, kind),
                component=profile.key,
                kind=kind,
                depends_on=(steps[-1].id, *data_waits),
                estimate_s=float(getattr(profile.estimates, str(kind))),
                description=_DESCRIPTIONS[kind].format(title=profile.title),
            )
        )
        data_waits = ()  # the first data step waited; the chain carries the order onward
    return steps


def _platform_steps(
    smokes: list[str], gate_estimate_s: float, business_gate_estimate_s: float | None, handover_estimate_s: float
) -> list[Step]:
    """The technical gate after every component, the business gate when there is one, then handover."""
    gate = Step(
        id=step_id(PLATFORM, StepKind.GATE),
        component=PLATFORM,
        kind=StepKind.GATE,
        depends_on=tuple(sorted(smokes)),
        estimate_s=float(gate_estimate_s),
        description="Technical validation of the recovered platform, then approval to hand over",
    )
    gates = [gate]
    if business_gate_estimate_s is not None:
        # The seed's DR plan ends with the business: SMEs test the recovered solutions and owners approve.
        gates.append(Step(id=BUSINESS_GATE, component=PLATFORM, kind=StepKind.GATE, depends_on=(gate.id,),
                          estimate_s=float(business_gate_estimate_s),
                          description="Business validation by the solutions' SMEs, then the owners' approval"))
    handover = Step(
        id=step_id(PLATFORM, StepKind.HANDOVER),
        component=PLATFORM,
        kind=StepKind.HANDOVER,
        depends_on=(gates[-1].id,),
        estimate_s=float(handover_estimate_s),
        description="Hand the recovered platform over to its users",
    )
    return [*gates, handover]


def critical_path(plan: Plan) -> tuple[float, list[str]]:
    """The longest chain of estimates through the DAG: the best RTO unlimited workers could give."""
    length, path = remembered("critical path", plan, lambda: _critical_path(plan))
    return length, list(path)


def _critical_path(plan: Plan) -> tuple[float, list[str]]:
    finish: dict[str, float] = {}
    via: dict[str, str | None] = {}
    for step in validate_plan(plan):
        best: str | None = None
        for dep in step.depends_on:
            if best is None or finish[dep] > finish[best]:
                best = dep
        finish[step.id] = step.estimate_s + (finish[best] if best else 0.0)
        via[step.id] = best
    if not finish:
        return 0.0, []
    # The last maximum in topological order, so zero-length steps at the end (handover) are
    # part of the path rather than cut off by a tie.
    end = max(reversed(finish), key=lambda sid: finish[sid])
    path = [end]
    while via[path[-1]] is not None:
        path.append(via[path[-1]])  # type: ignore[arg-type]
    return finish[end], list(reversed(path))


def remaining_seconds(plan: Plan) -> dict[str, float]:
    """Per step, the longest chain of estimates from its start to the end of the plan.

    The engine starts the ready step with the most work behind it first (critical path first).
    """
    dependents: dict[str, list[str]] = {step.id: [] for step in plan.steps}
    for step in plan.steps:
        for dep in step.depends_on:
            dependents[dep].append(step.id)
    remaining: dict[str, float] = {}
    for step in reversed(validate_plan(plan)):
        remaining[step.id] = step.estimate_s + max((remaining[c] for c in dependents[step.id]), default=0.0)
    return remaining


def sequential_seconds(plan: Plan) -> float:
    """How long the recovery would take with one worker: every estimate added up."""
    return float(sum(step.estimate_s for step in plan.steps))


def plan_to_json(plan: Plan) -> dict[str, Any]:
    critical_s, path = critical_path(plan)
    return {
        "stack": plan.stack,
        "steps": [step.to_json() for step in plan.steps],
        "critical_path_s": critical_s,
        "critical_path": path,
        "sequential_s": sequential_seconds(plan),
        "rto_target_s": plan.rto_target_s,
        "rpo_target_s": plan.rpo_target_s,
        "within_target": critical_s <= plan.rto_target_s,
    }


def plan_from_json(data: dict[str, Any]) -> Plan:
    """The inverse of plan_to_json (derived figures are recomputed, not trusted); validates the DAG."""
    try:
        plan = Plan(
            stack=data["stack"],
            steps=tuple(Step.from_json(step) for step in data["steps"]),
            rto_target_s=float(data["rto_target_s"]),
            rpo_target_s=float(data.get("rpo_target_s", 0.0)),
        )
    except (KeyError, TypeError, ValueError) as exc:
        raise ValueError(f"not a recovery plan document: {exc!r}") from exc
    validate_plan(plan)
    return plan
