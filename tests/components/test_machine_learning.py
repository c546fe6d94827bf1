"""Azure Machine Learning (components/machine_learning.py): private workspace and its dependants."""

from __future__ import annotations

import pytest
from service_harness import config_with, context_for, run_service, spec

from stacks.config import ConfigError

KEY = "machineLearning"
WORKSPACE = "azure-native:machinelearningservices:Workspace"
STORAGE = "azure-native:storage:StorageAccount"
INSIGHTS = "azure-native:applicationinsights:Component"
REGISTRY = "azure-native:containerregistry:Registry"


def _ids(run) -> dict[str, str]:
    return {r.type: r.id for r in run.resources}


def test_workspace_is_private_with_a_managed_identity():
    run, outputs = run_service(KEY)
    inputs = run.one(WORKSPACE).inputs
    assert inputs["workspaceName"] == "mlw-contoso-aue"
    assert inputs["sku"] == {"name": "Basic"}
    assert inputs["identity"] == {"type": "SystemAssigned"}
    assert inputs["publicNetworkAccess"] == "Disabled"
    assert inputs["managedNetwork"]["isolationMode"] == "AllowOnlyApprovedOutbound"
    assert set(outputs) >= {"machineLearningWorkspaceName", "machineLearningWorkspaceId", "machineLearningStorageAccountName"}


def test_workspace_wires_its_own_storage_the_platform_key_vault_and_insights():
    config = config_with("primary", KEY)
    run, _ = run_service(KEY)
    inputs = run.one(WORKSPACE).inputs
    ids = _ids(run)
    assert inputs["storageAccount"] == ids[STORAGE]
    assert inputs["applicationInsights"] == ids[INSIGHTS]
    assert inputs["containerRegistry"] == ids[REGISTRY]
    assert inputs["keyVault"] == context_for(config).key_vault_id
    insights = run.one(INSIGHTS).inputs
    assert insights["workspaceResourceId"] == context_for(config).log_analytics_workspace_id
    assert insights["ingestionMode"] == "LogAnalytics"


def test_storage_is_a_flat_namespace_account_with_the_baseline():
    run, _ = run_service(KEY)
    inputs = run.one(STORAGE).inputs
    assert inputs["accountName"] == "contosomlstaue"
    assert inputs["kind"] == "StorageV2"
    assert inputs["isHnsEnabled"] is False  # AML cannot use the (HNS) lake
    assert inputs["enableHttpsTrafficOnly"] is True
    assert inputs["minimumTlsVersion"] == "TLS1_2"
    assert inputs["allowBlobPublicAccess"] is False
    assert inputs["sku"] == {"name": "Standard_GRS"}


def test_storage_is_closed_to_public_networks_like_the_workspace():
    inputs = run_service(KEY)[0].one(STORAGE).inputs
    assert inputs["publicNetworkAccess"] == "Disabled"
    assert inputs["networkRuleSet"] == {"defaultAction": "Deny", "bypass": "AzureServices"}
    # Shared keys stay (AML's credential-based datastores): a justified exception of the baseline.
    assert "allowSharedKeyAccess" not in inputs


def test_registry_is_premium_private_and_optional():
    run, _ = run_service(KEY)
    registry = run.one(REGISTRY).inputs
    assert registry["sku"] == {"name": "Premium"}
    assert registry["adminUserEnabled"] is False
    assert registry["publicNetworkAccess"] == "Disabled"
    run, outputs = run_service(KEY, settings={"containerRegistry": False})
    assert not run.of_type(REGISTRY)
    assert "containerRegistry" not in run.one(WORKSPACE).inputs
    assert "machineLearningRegistryName" not in outputs


@pytest.mark.parametrize(("redundancy", "ha"), [("Standard_GRS", True), ("Standard_RAGZRS", True), ("Standard_LRS", False)])
def test_posture_dependent_services_ha_follows_storage_redundancy(redundancy, ha):
    config = config_with("primary", KEY, {"storageRedundancy": redundancy})
    (row,) = spec(KEY).posture(config, config.optional_services[KEY])
    assert row.uplift_enabled == (ha, None)
    assert redundancy in row.sku
    run, _ = run_service(KEY, settings={"storageRedundancy": redundancy})
    assert run.one(STORAGE).inputs["sku"] == {"name": redundancy}


def test_seed_row_and_no_failover():
    profile = spec(KEY).profile
    (seed,) = profile.seed
    assert seed.service == "Azure Machine Learning"
    assert str(seed.component_responsibility) == "Customer and Microsoft"
    assert any("no automatic failover" in note for note in profile.notes)


def test_invalid_sku_names_the_key():
    with pytest.raises(ConfigError) as raised:
        config_with("primary", KEY, {"sku": "Enterprise"})
    assert raised.value.key == "dataplatform:machineLearning.sku"


def test_invalid_storage_redundancy_names_the_key():
    with pytest.raises(ConfigError) as raised:
        config_with("primary", KEY, {"storageRedundancy": "Premium_LRS"})
    assert raised.value.key == "dataplatform:machineLearning.storageRedundancy"
