"""Azure Databricks (components/databricks.py): security baseline, DBFS redundancy, VNet injection."""

from __future__ import annotations

import pytest
from private_link import assert_opened_privately, endpoints_for
from pulumi_mocks import stack_config
from service_harness import SUBNETS, config_with, run_service, spec

from components.profile import RecoveryAction
from stacks.config import ConfigError

KEY = "databricks"
WORKSPACE = "azure-native:databricks:Workspace"
SUBSCRIPTION = "00000000-0000-0000-0000-000000000000"
INJECTION = {"publicSubnetName": "snet-dbw-host", "privateSubnetName": "snet-dbw-container"}


def _workspace(stack: str = "primary", settings: dict | None = None) -> dict:
    run, _ = run_service(KEY, stack, settings)
    return run.one(WORKSPACE).inputs


def test_premium_workspace_without_public_ips_and_geo_redundant_dbfs():
    inputs = _workspace()
    assert inputs["workspaceName"] == "dbw-contoso-aue"
    assert inputs["sku"] == {"name": "premium"}
    assert inputs["computeMode"] == "Hybrid"
    assert inputs["parameters"]["enableNoPublicIp"] == {"value": True}
    assert inputs["parameters"]["storageAccountSkuName"] == {"value": "Standard_GRS"}
    # No injection unless the stack names the delegated subnets.
    assert "customVirtualNetworkId" not in inputs["parameters"]
    assert inputs["publicNetworkAccess"] == "Enabled"
    assert inputs["requiredNsgRules"] == "AllRules"


@pytest.mark.parametrize(("stack", "suffix"), [("primary", "aue"), ("secondary", "ase")])
def test_managed_resource_group_id_is_derived_from_the_stack_names(stack, suffix):
    assert _workspace(stack)["managedResourceGroupId"] == (
        f"/subscriptions/{SUBSCRIPTION}/resourceGroups/rg-contoso-databricks-managed-{suffix}"
    )


def test_vnet_injection_uses_the_hub_and_private_link_drops_the_nsg_rules():
    settings = {**spec(KEY).example, "vnetInjection": INJECTION, "publicNetworkAccess": "Disabled"}
    inputs = _workspace(settings=settings)
    hub = SUBNETS["data"].rsplit("/subnets/", 1)[0]
    assert inputs["parameters"]["customVirtualNetworkId"] == {"value": hub}
    assert inputs["parameters"]["customPublicSubnetName"] == {"value": "snet-dbw-host"}
    assert inputs["parameters"]["customPrivateSubnetName"] == {"value": "snet-dbw-container"}
    assert inputs["publicNetworkAccess"] == "Disabled"
    assert inputs["requiredNsgRules"] == "NoAzureDatabricksRules"


def test_dbfs_redundancy_comes_from_the_settings():
    inputs = _workspace(settings={"dbfsStorageSku": "Standard_LRS", "publicNetworkAccess": "Enabled"})
    assert inputs["parameters"]["storageAccountSkuName"] == {"value": "Standard_LRS"}


def test_outputs():
    _, outputs = run_service(KEY)
    assert set(outputs) == {"databricksWorkspaceName", "databricksWorkspaceId", "databricksWorkspaceUrl"}


def _posture(settings: dict, lake: str):
    base = stack_config("primary")
    services = {**base.switches, KEY: True}
    config = stack_config(
        "primary",
        {"dataplatform:services": services, f"dataplatform:{KEY}": settings, "dataplatform:lake": {"redundancy": lake}},
    )
    return spec(KEY).posture(config, config.optional_services[KEY])


@pytest.mark.parametrize(
    ("dbfs", "lake", "geo"),
    [
        ("Standard_GRS", "Standard_RAGRS", True),
        ("Standard_LRS", "Standard_RAGRS", False),
        ("Standard_GRS", "Standard_LRS", False),
    ],
)
def test_posture_geo_redundant_storage_needs_both_dbfs_and_lake(dbfs, lake, geo):
    (row,) = _posture({"dbfsStorageSku": dbfs, "publicNetworkAccess": "Enabled"}, lake)
    assert row.sku == "premium"
    assert row.uplift_enabled == (None, geo)


def test_profile_is_a_redeploy_with_workspace_objects_from_code():
    profile = spec(KEY).profile
    assert profile.recovery_action == RecoveryAction.REDEPLOY
    assert profile.seed[0].service == "Azure Databricks"
    assert any("re-applied from code" in note for note in profile.notes)


def test_invalid_sku_names_the_key():
    with pytest.raises(ConfigError) as raised:
        config_with("primary", KEY, {"sku": "enterprise"})
    assert raised.value.key == "dataplatform:databricks.sku"


def test_injection_needs_both_subnet_names():
    with pytest.raises(ConfigError) as raised:
        config_with("primary", KEY, {"vnetInjection": {"publicSubnetName": "snet-dbw-host"}})
    assert raised.value.key == "dataplatform:databricks.vnetInjection.privateSubnetName"


def test_private_link_without_injection_is_refused():
    with pytest.raises(ConfigError) as raised:
        config_with("primary", KEY, {"publicNetworkAccess": "Disabled"})
    assert raised.value.key == "dataplatform:databricks"
    assert "vnetInjection" in raised.value.message


def test_a_workspace_is_private_unless_the_stack_asks_for_public_access():
    # The security baseline's default: without vnetInjection, the stack must say Enabled itself.
    with pytest.raises(ConfigError) as raised:
        config_with("primary", KEY, {"sku": "premium"})
    assert "(the default) needs vnetInjection" in raised.value.message
    assert "publicNetworkAccess: Enabled" in raised.value.message
    inputs = _workspace(settings={"vnetInjection": INJECTION})
    assert inputs["publicNetworkAccess"] == "Disabled"
    assert inputs["requiredNsgRules"] == "NoAzureDatabricksRules"


def _diagnostics(settings: dict) -> tuple:
    run, _ = run_service(KEY, settings=settings)
    return run.one(WORKSPACE), run.of_type("azure-native:monitor:DiagnosticSetting")


def test_a_premium_workspace_sends_its_diagnostic_logs_to_the_workspace():
    workspace, (setting,) = _diagnostics(spec(KEY).example)
    assert setting.inputs["resourceUri"] == workspace.id
    assert setting.inputs["workspaceId"].endswith("/workspaces/log")
    assert setting.inputs["logs"] == [{"categoryGroup": "allLogs", "enabled": True}]
    assert "metrics" not in setting.inputs  # Databricks has no platform metrics


def test_a_standard_workspace_has_no_diagnostic_logs_to_send():
    _, settings = _diagnostics({**spec(KEY).example, "sku": "standard"})
    assert settings == []


def test_a_private_workspace_opens_its_front_end_to_the_hub_and_the_runner():
    settings = {**spec(KEY).example, "vnetInjection": INJECTION, "publicNetworkAccess": "Disabled"}
    run, _ = run_service(KEY, settings=settings, runner=True)
    assert_opened_privately(run, config_with("primary", KEY, settings), run.one(WORKSPACE).id,
                            ("databricks_ui_api", "databricks"))


def test_a_workspace_left_open_has_no_endpoint_its_front_end_needs_injection():
    run, _ = run_service(KEY, runner=True)
    assert not endpoints_for(run, run.one(WORKSPACE).id)
