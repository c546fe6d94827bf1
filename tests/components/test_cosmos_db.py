"""cosmosDb: baseline, the paired read region with automatic failover, backups, and the restore path."""

from __future__ import annotations

import pytest
from private_link import assert_opened_privately
from service_harness import config_with, run_service, spec

from components.profile import RecoveryAction
from stacks.config import ConfigError

KEY = "cosmosDb"
ACCOUNT = "azure-native:cosmosdb:DatabaseAccount"
DATABASE = "azure-native:cosmosdb:SqlResourceSqlDatabase"
CONTAINER = "azure-native:cosmosdb:SqlResourceSqlContainer"
SUBSCRIPTION = "00000000-0000-0000-0000-000000000000"
INSTANCE = "0b9d2c6e-1f3a-4c5d-9e8f-7a6b5c4d3e2f"
RESTORE = {"sourceInstanceId": INSTANCE, "restoreTimestampUtc": "2030-01-02T03:00:00Z"}
CONTINUOUS = {"mode": "Continuous", "continuousTier": "Continuous7Days"}


def settings(**changes):
    return {**spec(KEY).example, **changes}


def test_security_baseline():
    run, _ = run_service(KEY, "primary")
    account = run.one(ACCOUNT)
    assert account.inputs["accountName"] == "contoso-cosmos-aue"
    assert account.inputs["databaseAccountOfferType"] == "Standard"
    assert account.inputs["disableLocalAuth"] is True
    assert account.inputs["disableKeyBasedMetadataWriteAccess"] is True
    assert account.inputs["publicNetworkAccess"] == "Disabled"
    assert account.inputs["minimalTlsVersion"] == "Tls12"
    assert account.inputs["identity"] == {"type": "SystemAssigned"}


def test_uplift_adds_the_paired_region_as_read_region_with_automatic_failover():
    run, _ = run_service(KEY, "primary")
    account = run.one(ACCOUNT)
    assert [(loc["locationName"], loc["failoverPriority"]) for loc in account.inputs["locations"]] == [
        ("australiaeast", 0), ("australiasoutheast", 1),
    ]
    assert account.inputs["enableAutomaticFailover"] is True
    config = config_with("primary", KEY)
    (row,) = spec(KEY).posture(config, config.optional_services[KEY])
    assert row.uplift_enabled == (True, True) and row.sku == "Single Region Write with Continuous backup"


def test_defaults_are_the_seeds_single_region_with_periodic_geo_backup():
    run, _ = run_service(KEY, "primary", {})
    account = run.one(ACCOUNT)
    assert [loc["locationName"] for loc in account.inputs["locations"]] == ["australiaeast"]
    assert account.inputs["enableAutomaticFailover"] is False
    assert account.inputs["backupPolicy"] == {
        "type": "Periodic",
        "periodicModeProperties": {
            "backupIntervalInMinutes": 240, "backupRetentionIntervalInHours": 8, "backupStorageRedundancy": "Geo",
        },
    }
    config = config_with("primary", KEY, {})
    (row,) = spec(KEY).posture(config, config.optional_services[KEY])
    assert row.sku == "Single Region Write with Periodic backup" and row.uplift_enabled == (False, False)


def test_continuous_backup_and_the_database_and_container_from_settings():
    run, outputs = run_service(KEY, "primary")
    account = run.one(ACCOUNT)
    assert account.inputs["backupPolicy"] == {"type": "Continuous", "continuousModeProperties": {"tier": "Continuous7Days"}}
    assert account.inputs["createMode"] == "Default" and not account.ignore_changes
    database = run.one(DATABASE)
    assert database.inputs["resource"] == {"id": "platform"}
    assert database.inputs["options"] == {"autoscaleSettings": {"maxThroughput": 1000}}
    container = run.one(CONTAINER)
    assert container.inputs["resource"]["partitionKey"] == {"paths": ["/deviceId"], "kind": "Hash", "version": 2}
    assert outputs["cosmosCreateMode"] == "Default"


def test_secondary_restores_point_in_time_from_the_paired_regions_account():
    run, outputs = run_service(KEY, "secondary", settings(backup=CONTINUOUS, restore=RESTORE))
    account = run.one(ACCOUNT)
    assert account.inputs["accountName"] == "contoso-cosmos-ase"
    assert account.inputs["createMode"] == "Restore"
    assert account.inputs["restoreParameters"] == {
        "restoreMode": "PointInTime",
        "restoreSource": f"/subscriptions/{SUBSCRIPTION}/providers/Microsoft.DocumentDB/locations/australiaeast"
        f"/restorableDatabaseAccounts/{INSTANCE}",
        "restoreTimestampInUtc": "2030-01-02T03:00:00Z",
        "sourceBackupLocation": "australiaeast",
    }
    assert set(account.ignore_changes) == {"createMode", "restoreParameters"}
    # The failed region is not added as a read region, and the restored account brings its own data.
    assert [loc["locationName"] for loc in account.inputs["locations"]] == ["australiasoutheast"]
    assert run.of_type(DATABASE) == [] and run.of_type(CONTAINER) == []
    assert outputs["cosmosCreateMode"] == "Restore"


def test_a_restore_needs_continuous_backup():
    with pytest.raises(ConfigError) as raised:
        config_with("secondary", KEY, settings(backup={"mode": "Periodic"}, restore=RESTORE))
    assert raised.value.key == f"dataplatform:{KEY}.restore"
    assert "Continuous" in raised.value.message


def test_a_restore_requires_the_source_instance_id():
    with pytest.raises(ConfigError) as raised:
        config_with("secondary", KEY, settings(restore={"restoreTimestampUtc": "2030-01-02T03:00:00Z"}))
    assert raised.value.key == f"dataplatform:{KEY}.restore.sourceInstanceId"


@pytest.mark.parametrize(
    "changes, field",
    [
        ({"consistency": "BoundedStaleness"}, "consistency"),
        ({"backup": {"mode": "Periodic", "storageRedundancy": "GRS"}}, "backup.storageRedundancy"),
        ({"backup": {"mode": "Periodic", "intervalMinutes": 30}}, "backup.intervalMinutes"),
        ({"autoscaleMaxThroughput": 1500}, "autoscaleMaxThroughput"),
    ],
)
def test_invalid_settings_are_refused_naming_the_key(changes, field):
    with pytest.raises(ConfigError) as raised:
        config_with("primary", KEY, settings(**changes))
    assert raised.value.key == f"dataplatform:{KEY}.{field}"


def test_profile_is_a_service_managed_failover():
    profile = spec(KEY).profile
    assert profile.recovery_action is RecoveryAction.SERVICE_FAILOVER and profile.stateful
    (seed,) = profile.seed
    assert seed.service == "Azure Cosmos DB" and seed.sku_selected == "Single Region Write with Periodic backup"


def test_the_runner_reaches_the_account_privately_as_a_cosmos_data_contributor():
    run, _ = run_service(KEY, runner=True)
    config = config_with("primary", KEY)
    account = run.one(ACCOUNT)
    assert_opened_privately(run, config, account.id, ("Sql", "documents"))
    # Local auth is off and Azure roles carry no Cosmos data action: a Cosmos SQL role assignment.
    (assignment,) = run.of_type("azure-native:cosmosdb:SqlResourceSqlRoleAssignment")
    assert assignment.inputs["principalId"] == config.runner.object_id
    assert assignment.inputs["scope"] == account.id
    assert assignment.inputs["roleDefinitionId"] == f"{account.id}/sqlRoleDefinitions/00000000-0000-0000-0000-000000000002"
    assert assignment.inputs["accountName"] == account.inputs["accountName"]

