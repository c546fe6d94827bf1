"""Azure Data Explorer (components/data_explorer.py): private V3 cluster, database retention,
zones as the AZ uplift, and the re-ingestion path from the lake."""

from __future__ import annotations

import pytest
from private_link import assert_opened_privately
from service_harness import config_with, run_service, spec

from components.profile import RecoveryAction
from stacks.config import ConfigError

KEY = "dataExplorer"
CLUSTER = "azure-native:kusto:Cluster"
DATABASE = "azure-native:kusto:ReadWriteDatabase"
LAKE_ID = "/subscriptions/s/resourceGroups/rg/providers/Microsoft.Storage/storageAccounts/lake"


def test_cluster_is_private_v3_with_a_managed_identity():
    run, outputs = run_service(KEY)
    inputs = run.one(CLUSTER).inputs
    assert inputs["clusterName"] == "contosoadxaue"
    assert inputs["sku"] == {"name": "Standard_E2ads_v5", "tier": "Standard", "capacity": 2}
    assert inputs["engineType"] == "V3"
    assert inputs["identity"] == {"type": "SystemAssigned"}
    assert inputs["publicNetworkAccess"] == "Disabled"
    assert inputs["enableDiskEncryption"] is True
    assert outputs["dataExplorerDatabaseName"] == "platform"
    assert set(outputs) == {"dataExplorerClusterName", "dataExplorerClusterUri", "dataExplorerDatabaseName"}


def test_new_clusters_are_double_encrypted_at_rest():
    cluster = run_service(KEY)[0].one(CLUSTER)
    assert cluster.inputs["enableDoubleEncryption"] is True
    # Create-time only: a cluster created without it keeps it off rather than being replaced.
    assert cluster.ignore_changes == ("enableDoubleEncryption",)


def test_zones_are_the_az_uplift_and_show_in_the_posture():
    run, _ = run_service(KEY)
    assert run.one(CLUSTER).inputs["zones"] == ["1", "2", "3"]
    config = config_with("primary", KEY)
    assert spec(KEY).posture(config, config.optional_services[KEY])[0].uplift_enabled == (None, True)

    settings = {**spec(KEY).example, "zones": []}
    run, _ = run_service(KEY, "secondary", settings)
    assert "zones" not in run.one(CLUSTER).inputs
    config = config_with("secondary", KEY, settings)
    (row,) = spec(KEY).posture(config, config.optional_services[KEY])
    assert row.uplift_enabled == (None, False)
    assert row.sku == "Standard_E2ads_v5 x2"


def test_database_retention_comes_from_the_settings():
    run, _ = run_service(KEY, settings={"softDeleteDays": 90, "hotCacheDays": 7, "database": "telemetry"})
    inputs = run.one(DATABASE).inputs
    assert inputs["kind"] == "ReadWrite"
    assert inputs["databaseName"] == "telemetry"
    assert (inputs["softDeletePeriod"], inputs["hotCachePeriod"]) == ("P90D", "P7D")


def test_cluster_identity_may_read_the_lake_for_reingestion():
    run, _ = run_service(KEY)
    assignment = run.one("azure-native:authorization:RoleAssignment").inputs
    assert assignment["scope"] == LAKE_ID
    assert assignment["roleDefinitionId"].endswith("/roleDefinitions/2a2b9908-6ea1-4ae2-8e65-a410df84e7d1")


def test_profile_rehydrates_from_the_lake():
    profile = spec(KEY).profile
    assert profile.recovery_action == RecoveryAction.REDEPLOY_REHYDRATE and profile.rehydrates
    assert tuple(c.name for c in profile.data_checks) == ("row-counts", "max-ingestion-time")
    assert "lake" in {dependency.component for dependency in profile.depends_on}


def test_dev_sku_is_basic_tier_single_instance():
    run, _ = run_service(KEY, settings={"sku": "Dev(No SLA)_Standard_E2a_v4", "capacity": 1})
    assert run.one(CLUSTER).inputs["sku"] == {"name": "Dev(No SLA)_Standard_E2a_v4", "tier": "Basic", "capacity": 1}


def test_invalid_sku_names_the_key():
    with pytest.raises(ConfigError) as raised:
        config_with("primary", KEY, {"sku": "Standard_Z9"})
    assert raised.value.key == "dataplatform:dataExplorer.sku"


@pytest.mark.parametrize(
    "settings",
    [{"capacity": 1}, {"hotCacheDays": 400, "softDeleteDays": 365}, {"sku": "Dev(No SLA)_Standard_E2a_v4", "capacity": 2}],
)
def test_inconsistent_settings_are_refused(settings):
    with pytest.raises(ConfigError) as raised:
        config_with("primary", KEY, settings)
    assert raised.value.key == "dataplatform:dataExplorer"


def test_zone_names_are_checked():
    with pytest.raises(ConfigError) as raised:
        config_with("primary", KEY, {"zones": ["4"]})
    assert raised.value.key.startswith("dataplatform:dataExplorer.zones")


def test_the_repositorys_schema_is_applied_with_the_identity_allowed_to_ingest():
    run, _ = run_service(KEY)
    script = run.one("azure-native:kusto:Script").inputs
    assert script["clusterName"] == "contosoadxaue"
    assert script["databaseName"] == "platform"
    assert script["continueOnErrors"] is False
    content = script["scriptContent"]
    assert content.startswith("// Data Explorer schema")
    assert ".create-merge table Events (id: string, ts: datetime" in content
    assert "ingestion json mapping 'events_json'" in content
    assert ".alter-merge database ['platform'] policy managed_identity" in content
    assert "'AllowedUsages':'NativeIngestion'" in content


RUNNER_APP = {"clientId": "22222222-2222-2222-2222-222222222222"}


def test_the_runner_reaches_the_cluster_privately_in_the_regions_zone_as_viewer_and_ingestor():
    run, _ = run_service(KEY, "secondary", runner=True, runner_settings=RUNNER_APP)
    config = config_with("secondary", KEY, runner=RUNNER_APP)
    cluster = run.one(CLUSTER)
    # Kusto's private zone is per region: privatelink.<region>.kusto.windows.net.
    assert_opened_privately(run, config, cluster.id, ("cluster", "kusto"))
    assignments = run.of_type("azure-native:kusto:DatabasePrincipalAssignment")
    assert {a.inputs["role"] for a in assignments} == {"Viewer", "Ingestor"}
    for assignment in assignments:
        # Kusto names an application by its application id, not its object id.
        assert (assignment.inputs["principalId"], assignment.inputs["principalType"]) == (RUNNER_APP["clientId"], "App")
        assert assignment.inputs["clusterName"] == cluster.inputs["clusterName"]
        assert assignment.inputs["databaseName"] == "platform"


def test_a_service_principal_runner_without_a_client_id_gets_no_principal_assignment():
    run, _ = run_service(KEY, runner=True)
    assert config_with("primary", KEY).runner.client_id is None
    assert not run.of_type("azure-native:kusto:DatabasePrincipalAssignment")
