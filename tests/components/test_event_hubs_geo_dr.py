"""eventHubsGeoDr: the alias on the primary namespace, nothing on the secondary, and its preconditions."""

from __future__ import annotations

import dataclasses

import pytest
from pulumi_mocks import deploy, stack_config
from service_harness import config_with, context_for, run_service, spec

from components.profile import RecoveryAction
from stacks.config import ConfigError

KEY = "eventHubsGeoDr"
DRC = "azure-native:eventhub:DisasterRecoveryConfig"
SUBSCRIPTION = "00000000-0000-0000-0000-000000000000"  # the harness's placeholder


def test_primary_creates_the_alias_on_its_namespace_with_the_secondary_as_partner():
    run, outputs = run_service(KEY, "primary")
    alias = run.one(DRC)
    assert alias.inputs["alias"] == "contoso-evh-geo-aue"
    # The namespace name comes from the core namespace's id (the harness's id ends in ".../evh").
    assert alias.inputs["namespaceName"] == "evh"
    assert alias.inputs["resourceGroupName"] == "rg-test-data"
    assert alias.inputs["partnerNamespace"] == (
        f"/subscriptions/{SUBSCRIPTION}/resourceGroups/rg-contoso-data-ase"
        "/providers/Microsoft.EventHub/namespaces/contoso-evh-ase"
    )
    assert outputs["eventHubsGeoDrAlias"] == "contoso-evh-geo-aue"
    assert outputs["eventHubsGeoDrRole"] == "primary"
    assert outputs["eventHubsGeoDrEndpoint"] == "sb://contoso-evh-geo-aue.servicebus.windows.net/"


def test_secondary_declares_nothing_but_names_the_alias_it_will_fail_over():
    run, outputs = run_service(KEY, "secondary")
    assert run.resources == []
    assert outputs == {"eventHubsGeoDrAlias": "contoso-evh-geo-aue", "eventHubsGeoDrRole": "secondary"}


def test_an_alias_setting_overrides_the_derived_name_on_both_stacks():
    _, primary = run_service(KEY, "primary", {"alias": "contoso-ingest"})
    _, secondary = run_service(KEY, "secondary", {"alias": "contoso-ingest"})
    assert primary["eventHubsGeoDrAlias"] == secondary["eventHubsGeoDrAlias"] == "contoso-ingest"


def test_an_alias_equal_to_a_namespace_name_is_refused():
    config = config_with("primary", KEY, {"alias": "contoso-evh-ase"})
    with pytest.raises(ValueError, match=r"equals a namespace name"):
        deploy(lambda: spec(KEY).deploy(context_for(config), config.optional_services[KEY]))


def test_without_the_core_event_hubs_namespace_the_error_says_what_to_switch_on():
    config = config_with("primary", KEY)
    context = dataclasses.replace(context_for(config), event_hubs_namespace_id=None)
    with pytest.raises(ValueError, match=r"services.eventHubs"):
        deploy(lambda: spec(KEY).deploy(context, config.optional_services[KEY]))


def test_basic_event_hubs_is_refused_by_the_core_config():
    with pytest.raises(ConfigError) as raised:
        stack_config(
            "primary",
            {
                "dataplatform:eventHubs": {"sku": "Basic"},
                "dataplatform:services": {**stack_config("primary").switches, KEY: True},
            },
        )
    assert raised.value.key == "dataplatform:eventHubs"


def test_an_invalid_alias_is_refused_naming_the_key():
    with pytest.raises(ConfigError) as raised:
        config_with("primary", KEY, {"alias": "no"})
    assert raised.value.key == f"dataplatform:{KEY}.alias"


@pytest.mark.parametrize("stack", ["primary", "secondary"])
def test_posture_reports_the_pairing_on_both_stacks(stack):
    config = config_with(stack, KEY)
    (row,) = spec(KEY).posture(config, config.optional_services[KEY])
    assert row.sku == "Standard" and row.uplift_enabled == (True,)


def test_posture_without_core_event_hubs_is_not_paired():
    base = stack_config("primary")
    config = stack_config(
        "primary",
        {"dataplatform:services": {**base.switches, "eventHubs": False, KEY: True}},
    )
    (row,) = spec(KEY).posture(config, config.optional_services[KEY])
    assert row.uplift_enabled == (False,)


def test_profile_is_a_service_failover_after_the_core_hubs():
    profile = spec(KEY).profile
    assert profile.recovery_action is RecoveryAction.SERVICE_FAILOVER
    assert not profile.stateful  # metadata only: events are never replicated
    assert [d.component for d in profile.depends_on] == ["event_hubs"]
    assert profile.seed[0].service == "Azure Event Hubs: Geo-disaster recovery alias"


def test_a_paired_secondary_namespace_declares_no_hubs_of_its_own():
    # Pairing needs an empty secondary namespace: the hubs arrive by the alias's metadata replication.
    from pulumi_mocks import deploy

    from stacks.program import build

    for stack, hubs in (("secondary", 0), ("primary", 1)):
        config = config_with(stack, KEY)
        run = deploy(lambda config=config: build(config), stack=stack)
        assert len(run.of_type("azure-native:eventhub:EventHub")) == hubs, stack


def test_the_secondary_plan_fails_the_alias_over_though_the_secondary_declares_no_alias(tmp_path):
    import shutil

    import yaml
    from pulumi_mocks import PROJECT_DIR

    from orchestrator.stack import build_stack_plan

    for name in ("Pulumi.yaml", "Pulumi.primary.yaml", "Pulumi.secondary.yaml"):
        shutil.copy(PROJECT_DIR / name, tmp_path / name)
    shutil.copytree(PROJECT_DIR / "pipelines", tmp_path / "pipelines")
    path = tmp_path / "Pulumi.secondary.yaml"
    document = yaml.safe_load(path.read_text())
    document["config"]["dataplatform:services"]["eventHubsGeoDr"] = True
    path.write_text(yaml.safe_dump(document))

    plan, graph, _ = build_stack_plan(tmp_path, "secondary")
    assert not [r for r in graph.resources if r["type"] == "azure-native:eventhub:DisasterRecoveryConfig"]
    profile = spec(KEY).profile
    assert plan.step(f"{profile.key}.deploy").depends_on == ("event_hubs.deploy",)
    assert f"{profile.key}.smoke" in plan.step("platform.gate").depends_on  # the alias-failover check
