"""Lake zone policies (seed 004) in the config and in the plan."""

from __future__ import annotations

import pytest

from components.lake import LakeSettings
from components.profile import DRProfile, Estimates, RecoveryAction
from orchestrator.plan.recovery import build_plan, critical_path
from orchestrator.plan.zones import apply_zone_policies, copied_zones, recreated_zones, reprocess_step_id, zone_of

LAKE = DRProfile(
    key="lake", title="Lake", stateful=True, recovery_action=RecoveryAction.REDEPLOY_REHYDRATE, checks=(), depends_on=(), priority=2, estimates=Estimates(deploy=60, rehydrate=1800, validate=300, replay=600),
    seed=(),
)


def lake_plan(zones: dict | None = None):
    lake = LakeSettings.model_validate({"zones": zones or {}})
    return apply_zone_policies(build_plan("dev", [LAKE], 14400, 3600), lake), lake


def test_seed_defaults_per_zone():
    lake = LakeSettings()
    assert {z: (p.backup, p.replicated, p.recovery) for z, p in lake.zones.items()} == {
        "raw": (True, True, "copy"),
        "enriched": (False, True, "copy"),  # backup achieves little for an automated stage
        "curated": (True, True, "copy"),
        "presentation": (True, True, "copy"),
    }
    assert lake.zones["curated"].partitioning == "weekly" and lake.zones["presentation"].load == "full-daily"
    assert lake.model.load == "full-daily" and lake.model.backup is False


def test_a_stack_file_names_only_what_it_changes():
    lake = LakeSettings.model_validate({"zones": {"enriched": {"recovery": "recreate"}}})
    assert lake.zones["enriched"].recovery == "recreate" and lake.zones["enriched"].replicated is True
    assert lake.zones["raw"].backup is True  # untouched zones keep the seed's defaults


def test_with_every_zone_copied_the_plan_is_unchanged():
    plan, _ = lake_plan()
    assert [s.id for s in plan.steps] == [
        "lake.deploy", "lake.rehydrate", "lake.validate", "lake.replay", "lake.smoke", "platform.gate",
        "platform.handover",
    ]
    assert "zones copied: raw, enriched, curated, presentation" in plan.step("lake.rehydrate").description


def test_a_recreated_zone_gets_a_reprocessing_step_instead_of_a_copy():
    plan, lake = lake_plan({"enriched": {"recovery": "recreate", "reprocessMinutes": 90}})
    assert copied_zones(lake) == ["raw", "curated", "presentation"] and recreated_zones(lake) == ["enriched"]
    step = plan.step(reprocess_step_id("enriched"))
    assert (step.kind, step.depends_on, step.estimate_s) == ("replay", ("lake.validate",), 5400.0)
    assert zone_of(step) == "enriched" and zone_of(plan.step("lake.replay")) is None
    assert reprocess_step_id("enriched") in plan.step("lake.replay").depends_on
    assert "enriched" not in plan.step("lake.rehydrate").description.split("zones copied: ")[1]
    # The re-processing time lands on the critical path.
    seconds, path = critical_path(plan)
    assert reprocess_step_id("enriched") in path and seconds == 60 + 1800 + 300 + 5400 + 600 + 60


@pytest.mark.parametrize(
    "zones,key",
    [
        ({"enriched": {"replicated": False}}, "dataplatform:lake.zones.enriched.recovery"),
        ({"raw": {"recovery": "recreate"}}, "dataplatform:lake.zones.raw.recovery"),
        ({"gold": {"backup": True}}, "dataplatform:lake.zones.gold"),
        ({"curated": {"partitioning": "hourly"}}, "dataplatform:lake.zones.curated.partitioning"),
    ],
)
def test_bad_zone_policies_name_the_key(zones, key):
    from pulumi_mocks import stack_config

    from stacks.config import ConfigError

    with pytest.raises(ConfigError) as raised:
        stack_config("secondary", {"dataplatform:lake": {"redundancy": "Standard_RAGRS", "zones": zones}})
    assert raised.value.key == key
