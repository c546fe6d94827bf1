"""The recovery plan: order from the profiles, critical path against the sum, JSON round trip."""

from __future__ import annotations

import json

import pytest

from components.profile import Dependency, DRProfile, Estimates, RecoveryAction
from orchestrator.model import Plan, Step, StepKind
from orchestrator.plan.recovery import (
    build_plan,
    critical_path,
    plan_from_json,
    plan_to_json,
    remaining_seconds,
    sequential_seconds,
)
from smoke_tests.check import smoke

DEFAULT_ESTIMATES = Estimates(deploy=100)


def profile(key: str, *, stateful: bool = False, action: RecoveryAction = RecoveryAction.REDEPLOY,
            deps: tuple[str | tuple[str, str], ...] = (), priority: int = 50,
            estimates: Estimates = DEFAULT_ESTIMATES) -> DRProfile:
    depends_on = tuple(
        Dependency(d, f"{key} needs {d}") if isinstance(d, str) else Dependency(*d) for d in deps
    )
    return DRProfile(
        key=key, title=key.title(), stateful=stateful, recovery_action=action, checks=(), depends_on=depends_on, priority=priority, estimates=estimates, seed=(),
    )


def ids(plan: Plan) -> list[str]:
    return [step.id for step in plan.steps]


TAIL = ["platform.gate", "platform.handover"]

ORDER_CASES = [
    pytest.param(
        [profile("web")],
        ["web.deploy", "web.smoke", *TAIL],
        id="a stateless component is deployed then smoke-tested",
    ),
    pytest.param(
        [profile("lake", stateful=True, action=RecoveryAction.REDEPLOY_REHYDRATE)],
        ["lake.deploy", "lake.rehydrate", "lake.validate", "lake.replay", "lake.smoke", *TAIL],
        id="a rehydrated store is validated before ingestion replays into it",
    ),
    pytest.param(
        [profile("db", stateful=True, action=RecoveryAction.GEO_RESTORE)],
        ["db.deploy", "db.rehydrate", "db.validate", "db.replay", "db.smoke", *TAIL],
        id="a geo-restored store rehydrates too",
    ),
    pytest.param(
        [profile("events", stateful=True, action=RecoveryAction.REDEPLOY)],
        ["events.deploy", "events.replay", "events.smoke", *TAIL],
        id="a redeployed stateful component gets its data back by replay alone",
    ),
    pytest.param(
        [profile("a", priority=20), profile("b", priority=10)],
        ["b.deploy", "b.smoke", "a.deploy", "a.smoke", *TAIL],
        id="independent components go by priority, lower first",
    ),
    pytest.param(
        [profile("zeta", priority=10), profile("alpha", priority=10)],
        ["alpha.deploy", "alpha.smoke", "zeta.deploy", "zeta.smoke", *TAIL],
        id="equal priorities go by id",
    ),
    pytest.param(
        [profile("network", priority=50),
         profile("lake", stateful=True, action=RecoveryAction.GEO_RESTORE, deps=("network",), priority=10)],
        ["network.deploy", "lake.deploy", "lake.rehydrate", "lake.validate", "lake.replay", "lake.smoke",
         "network.smoke", *TAIL],
        id="a dependency comes first whatever the priorities, then priority decides",
    ),
]


@pytest.mark.parametrize("profiles, expected", ORDER_CASES)
def test_step_order(profiles, expected):
    assert ids(build_plan("dev", profiles, 3600, 900)) == expected


def test_every_step_comes_after_its_dependencies_and_gate_waits_for_every_smoke():
    plan = build_plan("dev", [
        profile("network", priority=1),
        profile("lake", stateful=True, action=RecoveryAction.GEO_RESTORE, deps=("network", "vault")),
        profile("vault", deps=("network",), priority=5),
        profile("web", deps=("lake",)),
    ], 3600, 900)
    position = {sid: n for n, sid in enumerate(ids(plan))}
    for step in plan.steps:
        assert all(position[dep] < position[step.id] for dep in step.depends_on)
    assert set(plan.step("platform.gate").depends_on) == {"network.smoke", "lake.smoke", "vault.smoke", "web.smoke"}
    assert plan.step("platform.handover").depends_on == ("platform.gate",)
    assert plan.step("platform.gate").kind == StepKind.GATE


def test_deploy_edges_carry_the_profiles_rationale():
    plan = build_plan("dev", [
        profile("network"),
        profile("vault", deps=(("network", "private endpoints need the subnets"),)),
    ], 3600, 900)
    vault = plan.step("vault.deploy")
    assert vault.depends_on == ("network.deploy",)
    assert "after network: private endpoints need the subnets" in vault.description


def test_dependencies_on_components_the_stack_lacks_are_ignored():
    plan = build_plan("dev", [profile("web", deps=("cdn", "network")), profile("network")], 3600, 900)
    assert plan.step("web.deploy").depends_on == ("network.deploy",)
    assert "cdn" not in plan.step("web.deploy").description


def test_estimates_come_from_the_profile():
    estimates = Estimates(deploy=600, rehydrate=1800, validate=300, replay=450, smoke=90)
    plan = build_plan("dev", [profile("lake", stateful=True, action=RecoveryAction.GEO_RESTORE, estimates=estimates)],
                      3600, 900)
    assert [s.estimate_s for s in plan.steps[:5]] == [600, 1800, 300, 450, 90]


def test_a_dependency_cycle_is_rejected_naming_it():
    with pytest.raises(ValueError, match=r"cycle: (a\.deploy -> b\.deploy -> a\.deploy|b\.deploy -> a\.deploy -> b\.deploy)"):
        build_plan("dev", [profile("a", deps=("b",)), profile("b", deps=("a",))], 3600, 900)


@pytest.mark.parametrize("profiles, message", [
    pytest.param([profile("platform")], "reserved", id="the platform key is reserved"),
    pytest.param([profile("web"), profile("web", priority=1)], "share the component key", id="duplicate keys"),
])
def test_bad_profile_sets_are_rejected(profiles, message):
    with pytest.raises(ValueError, match=message):
        build_plan("dev", profiles, 3600, 900)


def small_plan(rto_target_s: float = 4560) -> Plan:
    return build_plan("dev", [
        profile("net", estimates=Estimates(deploy=300, smoke=60), priority=10),
        profile("lake", stateful=True, action=RecoveryAction.GEO_RESTORE, deps=("net",),
                estimates=Estimates(deploy=600, rehydrate=1800, validate=300, replay=600, smoke=60)),
        profile("web", deps=("net",), estimates=Estimates(deploy=400, smoke=120)),
    ], rto_target_s, 300, gate_estimate_s=900)


def test_critical_path_and_sequential_time_computed_by_hand():
    plan = small_plan()
    # net.deploy 300 + lake 600 + 1800 + 300 + 600 + 60 + gate 900 + handover 0
    assert critical_path(plan) == (4560.0, [
        "net.deploy", "lake.deploy", "lake.rehydrate", "lake.validate", "lake.replay", "lake.smoke",
        "platform.gate", "platform.handover",
    ])
    # net 360 + lake 3360 + web 520 + gate 900
    assert sequential_seconds(plan) == 5140.0
    # what is left from the start of web.deploy: 400 + 120 + 900
    assert remaining_seconds(plan)["web.deploy"] == 1420.0


@pytest.mark.parametrize("rto, within", [(4560, True), (4559, False)])
def test_within_target_compares_the_critical_path_with_the_rto(rto, within):
    document = plan_to_json(small_plan(rto))
    assert document["critical_path_s"] == 4560.0
    assert document["sequential_s"] == 5140.0
    assert document["within_target"] is within


def test_json_round_trip():
    plan = small_plan()
    document = json.loads(json.dumps(plan_to_json(plan)))
    assert {"stack", "steps", "critical_path_s", "sequential_s", "rto_target_s", "within_target"} <= set(document)
    assert set(document["steps"][0]) >= {"id", "component", "kind", "depends_on", "estimate_s"}
    assert plan_from_json(document) == plan


def test_empty_plan_has_only_the_platform_steps():
    plan = build_plan("dev", [], 60, 60)
    assert ids(plan) == TAIL
    assert critical_path(plan) == (0.0, ["platform.gate", "platform.handover"])


@pytest.mark.parametrize("steps, message", [
    pytest.param([Step("a", "a", StepKind.DEPLOY, ("ghost",), 1)], "unknown step 'ghost'", id="unknown dependency"),
    pytest.param([Step("a", "a", StepKind.DEPLOY, ("b",), 1), Step("b", "b", StepKind.DEPLOY, ("a",), 1)],
                 "cycle", id="cycle"),
    pytest.param([Step("a", "a", StepKind.DEPLOY, ("a",), 1)], "cycle: a -> a", id="self dependency"),
    pytest.param([Step("a", "a", StepKind.DEPLOY, (), 1), Step("a", "a", StepKind.SMOKE, (), 1)],
                 "duplicate", id="duplicate id"),
])
def test_plan_from_json_rejects_graphs_that_are_not_dags(steps, message):
    document = {"stack": "dev", "steps": [s.to_json() for s in steps], "rto_target_s": 1, "rpo_target_s": 1}
    with pytest.raises(ValueError, match=message):
        plan_from_json(document)


def test_plan_from_json_rejects_a_document_that_is_not_a_plan():
    with pytest.raises(ValueError, match="not a recovery plan"):
        plan_from_json({"stack": "dev"})


def test_saas_services_get_a_readiness_check_or_a_manual_gate_and_no_deploy():
    from dataclasses import replace

    entra = replace(profile("entra_id", action=RecoveryAction.SAAS), checks=(smoke("entra_id", "token-acquisition"),))
    power_bi = profile("power_bi", action=RecoveryAction.SAAS)
    foundation = profile("foundation", deps=("entra_id",))
    plan = build_plan("dev", [entra, power_bi, foundation], 3600, 900)
    assert "entra_id.deploy" not in ids(plan) and "power_bi.deploy" not in ids(plan)
    assert plan.step("entra_id.smoke").kind == StepKind.SMOKE
    assert plan.step("power_bi.gate").kind == StepKind.GATE  # no API: a person confirms
    # Dependents wait for the readiness step, and the platform gate waits for both.
    assert plan.step("foundation.deploy").depends_on == ("entra_id.smoke",)
    assert {"entra_id.smoke", "power_bi.gate"} <= set(plan.step("platform.gate").depends_on)


def test_a_service_managed_failover_is_validated_then_replayed():
    plan = build_plan("dev", [profile("cosmos", stateful=True, action=RecoveryAction.SERVICE_FAILOVER)], 3600, 900)
    assert ids(plan) == ["cosmos.deploy", "cosmos.validate", "cosmos.replay", "cosmos.smoke", *TAIL]


def test_a_component_reading_another_ones_data_waits_for_that_data_to_be_caught_up():
    lake = profile("lake", stateful=True, action=RecoveryAction.REDEPLOY_REHYDRATE)
    search = profile("search", deps=(("lake", "indexes are rebuilt from the lake"),))
    explorer = DRProfile(
        key="explorer", title="Explorer", stateful=True, recovery_action=RecoveryAction.REDEPLOY_REHYDRATE,
        checks=(), priority=1, estimates=Estimates(deploy=10), seed=(),
        depends_on=(Dependency("lake", "re-ingested from the lake", needs_data=True),))
    steps = {step.id: step for step in build_plan("s", [lake, search, explorer], 3600, 900).steps}
    # Its first data step waits for the lake's replay; the deploy only for the lake's deploy.
    assert steps["explorer.rehydrate"].depends_on == ("explorer.deploy", "lake.replay")
    assert steps["explorer.deploy"].depends_on == ("lake.deploy",)
    assert steps["explorer.validate"].depends_on == ("explorer.rehydrate",)
    # Without needs_data, only the deploy order holds.
    assert steps["search.smoke"].depends_on == ("search.deploy",)
