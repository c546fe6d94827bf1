"""Azure Synapse (components/synapse.py): Entra-only workspace on the lake, geo-backed SQL pool,
the secondary's geo-restore, and the Spark pool."""

from __future__ import annotations

import dataclasses

import pytest
from private_link import assert_opened_privately
from service_harness import config_with, context_for, run_service, spec

from components.profile import RecoveryAction
from stacks.config import ConfigError

KEY = "synapse"
WORKSPACE = "azure-native:synapse:Workspace"
SQL_POOL = "azure-native:synapse:SqlPool"
SPARK_POOL = "azure-native:synapse:BigDataPool"
SUBSCRIPTION = "00000000-0000-0000-0000-000000000000"
LAKE_ID = "/subscriptions/s/resourceGroups/rg/providers/Microsoft.Storage/storageAccounts/lake"
ADMIN = {"objectId": "11111111-2222-3333-4444-555555555555", "principalName": "synapse-admins"}


def _with(**changes) -> dict:
    return {**spec(KEY).example, **changes}


def test_workspace_is_entra_only_private_and_on_the_lake():
    run, _ = run_service(KEY)
    inputs = run.one(WORKSPACE).inputs
    assert inputs["workspaceName"] == "syn-contoso-aue"
    assert inputs["azureADOnlyAuthentication"] is True
    assert not {"sqlAdministratorLogin", "sqlAdministratorLoginPassword"} & set(inputs)
    assert inputs["publicNetworkAccess"] == "Disabled"
    assert inputs["identity"] == {"type": "SystemAssigned"}
    assert inputs["managedVirtualNetwork"] == "default"
    assert inputs["defaultDataLakeStorage"] == {
        "accountUrl": "https://contosolakeaue.dfs.core.windows.net/",
        "filesystem": "synapse",
        "resourceId": LAKE_ID,
        "createManagedPrivateEndpoint": True,
    }
    container = run.one("azure-native:storage:BlobContainer").inputs
    assert (container["containerName"], container["accountName"]) == ("synapse", "contosolakeaue")
    assert container["publicAccess"] == "None"


def test_the_managed_network_prevents_data_exfiltration_on_new_workspaces_only():
    workspace = run_service(KEY)[0].one(WORKSPACE)
    assert workspace.inputs["managedVirtualNetworkSettings"] == {"preventDataExfiltration": True}
    # Create-time only: a workspace created without it keeps it off rather than being replaced.
    assert "managedVirtualNetworkSettings.preventDataExfiltration" in workspace.ignore_changes


def test_the_workspace_audits_its_sql_to_azure_monitor():
    run, _ = run_service(KEY)
    (auditing,) = [r for r in run.of_type("azure-native:resources:Resource")
                   if r.inputs["resourceType"] == "auditingSettings"]
    assert auditing.inputs["resourceProviderNamespace"] == "Microsoft.Synapse"
    assert auditing.inputs["parentResourcePath"] == "workspaces/syn-contoso-aue"
    assert auditing.inputs["resourceName"] == "default"
    assert auditing.inputs["properties"] == {"state": "Enabled", "isAzureMonitorTargetEnabled": True}


def test_workspace_identity_may_write_the_lake():
    run, _ = run_service(KEY)
    assignment = run.one("azure-native:authorization:RoleAssignment").inputs
    assert assignment["scope"] == LAKE_ID
    assert assignment["roleDefinitionId"].endswith("/roleDefinitions/ba92f5b4-2d11-453d-a403-e96b0029c9fe")
    assert assignment["principalType"] == "ServicePrincipal"


def test_entra_group_administers_the_sql_endpoints():
    run, _ = run_service(KEY, settings=_with(entraAdmin=ADMIN))
    admin = run.one("azure-native:synapse:WorkspaceAadAdmin").inputs
    assert admin["administratorType"] == "ActiveDirectory"
    assert (admin["sid"], admin["login"]) == (ADMIN["objectId"], "synapse-admins")
    assert admin["tenantId"] == "00000000-0000-0000-0000-000000000001"


def test_primary_sql_pool_is_new_with_geo_backups():
    run, outputs = run_service(KEY)
    pool = run.one(SQL_POOL)
    assert pool.inputs["sku"] == {"name": "DW100c"}
    assert pool.inputs["storageAccountType"] == "GRS"
    assert pool.inputs["createMode"] == "Default"
    assert "recoverableDatabaseId" not in pool.inputs
    assert pool.ignore_changes == ()
    assert outputs["synapseSqlPoolCreateMode"] == "Default"


def test_secondary_recovers_the_pool_from_the_paired_geo_backup():
    run, outputs = run_service(KEY, "secondary", _with(restore={"mode": "Recovery"}))
    pool = run.one(SQL_POOL)
    assert pool.inputs["createMode"] == "Recovery"
    assert pool.inputs["recoverableDatabaseId"] == (
        f"/subscriptions/{SUBSCRIPTION}/resourceGroups/rg-contoso-data-aue"
        "/providers/Microsoft.Sql/servers/syn-contoso-aue/databases/dwh"
    )
    assert not pool.inputs.get("collation")  # the SDK sends an empty default; the source decides
    assert set(pool.ignore_changes) == {"createMode", "recoverableDatabaseId"}
    assert outputs["synapseSqlPoolCreateMode"] == "Recovery"


def test_restore_source_can_be_named():
    source = f"/subscriptions/{SUBSCRIPTION}/resourceGroups/rg-old/providers/Microsoft.Sql/servers/syn-old/databases/dwh"
    run, _ = run_service(KEY, "secondary", _with(restore={"recoverableDatabaseId": source}))
    assert run.one(SQL_POOL).inputs["recoverableDatabaseId"] == source


def test_restore_on_the_primary_is_refused():
    config = config_with("primary", KEY, _with(restore={"mode": "Recovery"}))
    with pytest.raises(ValueError, match=r"secondary stack only"):
        spec(KEY).deploy(context_for(config), config.optional_services[KEY])


def test_synapse_needs_the_lake():
    config = config_with("primary", KEY)
    context = dataclasses.replace(context_for(config), lake_account_id=None, lake_account_name=None, lake_dfs_endpoint=None)
    with pytest.raises(ValueError, match=r"services.lake"):
        spec(KEY).deploy(context, config.optional_services[KEY])


def test_spark_pool_is_small_autoscaled_and_autopaused():
    run, _ = run_service(KEY, settings=_with(sparkPool={"minNodes": 3, "maxNodes": 10, "autoPauseMinutes": 20}))
    inputs = run.one(SPARK_POOL).inputs
    assert (inputs["nodeSize"], inputs["nodeSizeFamily"]) == ("Small", "MemoryOptimized")
    assert inputs["autoScale"] == {"enabled": True, "minNodeCount": 3, "maxNodeCount": 10}
    assert inputs["autoPause"] == {"enabled": True, "delayInMinutes": 20}


@pytest.mark.parametrize(("storage", "geo"), [("GRS", True), ("LRS", False)])
def test_posture_reads_the_geo_backup_storage(storage, geo):
    config = config_with("primary", KEY, _with(sqlPool={"storageAccountType": storage}))
    pipelines, spark, sql, explorer_pools = spec(KEY).posture(config, config.optional_services[KEY])
    assert sql.uplift_enabled == (geo,)
    assert explorer_pools.sku.startswith("none")  # the platform runs Data Explorer clusters instead
    assert sql.sku == f"DW100c, {storage} backups"
    assert spark.sku.startswith("Small")
    assert pipelines.uplift_enabled == (None,)


def test_profile_geo_restores_with_a_24_hour_rpo():
    profile = spec(KEY).profile
    assert profile.recovery_action == RecoveryAction.GEO_RESTORE and profile.rehydrates
    assert [seed.service for seed in profile.seed] == [
        "Azure Synapse: Pipelines",
        "Azure Synapse: Spark Pools",
        "Azure Synapse: Serverless and Dedicated SQL Pools",
        "Azure Synapse: Data Explorer Pools",
    ]
    assert any("24 h" in note for note in profile.notes)
    assert any("Data Explorer Pools" in note for note in profile.notes)


def test_invalid_sql_pool_sku_names_the_key():
    with pytest.raises(ConfigError) as raised:
        config_with("primary", KEY, _with(sqlPool={"sku": "DW50c"}))
    assert raised.value.key == "dataplatform:synapse.sqlPool.sku"


@pytest.mark.parametrize("field", ["filesystem", "entraAdmin"])
def test_filesystem_and_entra_admin_are_required(field):
    settings = {k: v for k, v in spec(KEY).example.items() if k != field}
    with pytest.raises(ConfigError) as raised:
        config_with("primary", KEY, settings)
    assert raised.value.key == f"dataplatform:synapse.{field}"


def test_spark_node_range_must_be_ordered():
    with pytest.raises(ConfigError) as raised:
        config_with("primary", KEY, _with(sparkPool={"minNodes": 8, "maxNodes": 4}))
    assert raised.value.key == "dataplatform:synapse.sparkPool"


def test_filesystem_must_not_be_a_lake_zone():
    with pytest.raises(ConfigError) as raised:
        config_with("primary", KEY, _with(filesystem="raw"))
    assert raised.value.key == "dataplatform:synapse.filesystem"


def test_the_sql_serverless_and_development_endpoints_are_private_with_runner_twins():
    run, _ = run_service(KEY, runner=True)
    assert_opened_privately(run, config_with("primary", KEY), run.one(WORKSPACE).id,
                            ("Sql", "synapse-sql"), ("SqlOnDemand", "synapse-sql"), ("Dev", "synapse-dev"))
