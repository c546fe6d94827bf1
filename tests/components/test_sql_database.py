"""sqlDatabase: Entra-only server, geo-redundant backups, the failover group and the geo-restore path."""

from __future__ import annotations

import pytest
from private_link import assert_opened_privately
from service_harness import config_with, run_service, spec

from components.profile import RecoveryAction
from stacks.config import ConfigError

KEY = "sqlDatabase"
SERVER = "azure-native:sql:Server"
DATABASE = "azure-native:sql:Database"
FOG = "azure-native:sql:FailoverGroup"
SUBSCRIPTION = "00000000-0000-0000-0000-000000000000"
TENANT = "00000000-0000-0000-0000-000000000001"


def settings(**changes):
    return {**spec(KEY).example, **changes}


NO_GROUP = settings(failoverGroup={"enabled": False})


def test_server_is_entra_only_without_public_access():
    run, outputs = run_service(KEY, "primary")
    server = run.one(SERVER)
    assert server.inputs["serverName"] == "contoso-sql-aue"
    assert server.inputs["administrators"] == {
        "administratorType": "ActiveDirectory",
        "azureADOnlyAuthentication": True,
        "login": "sql-admins",
        "sid": "00000000-0000-0000-0000-0000000000aa",
        "principalType": "Group",
        "tenantId": TENANT,
    }
    assert "administratorLogin" not in server.inputs and "administratorLoginPassword" not in server.inputs
    assert server.inputs["minimalTlsVersion"] == "1.2"
    assert server.inputs["publicNetworkAccess"] == "Disabled"
    assert server.inputs["identity"] == {"type": "SystemAssigned"}
    assert outputs["sqlCreateMode"] == "Default"


@pytest.mark.parametrize("stack", ["primary", "secondary"])
def test_the_server_audits_every_database_to_azure_monitor(stack):
    run, _ = run_service(KEY, stack)
    policy = run.one("azure-native:sql:ServerBlobAuditingPolicy").inputs
    assert policy["serverName"] == run.one(SERVER).inputs["serverName"]
    assert (policy["blobAuditingPolicyName"], policy["state"]) == ("default", "Enabled")
    assert policy["isAzureMonitorTargetEnabled"] is True
    # Azure Monitor only: no storage account, so no storage key in the program.
    assert not {"storageEndpoint", "storageAccountAccessKey"} & set(policy)


def test_database_takes_its_sku_and_geo_redundant_backup_from_settings():
    run, _ = run_service(KEY, "primary", settings(skuName="GP_Gen5_2", tier="GeneralPurpose"))
    database = run.one(DATABASE)
    assert database.inputs["databaseName"] == "platform"
    assert database.inputs["sku"] == {"name": "GP_Gen5_2", "tier": "GeneralPurpose"}
    assert database.inputs["requestedBackupStorageRedundancy"] == "Geo"
    assert "sourceDatabaseId" not in database.inputs and not database.ignore_changes


def test_primary_failover_group_partners_the_secondary_server_derived_from_names():
    run, outputs = run_service(KEY, "primary")
    group = run.one(FOG)
    assert group.inputs["failoverGroupName"] == "contoso-sqlfog-aue"
    assert group.inputs["partnerServers"] == [
        {"id": f"/subscriptions/{SUBSCRIPTION}/resourceGroups/rg-contoso-data-ase/providers/Microsoft.Sql/servers/contoso-sql-ase"}
    ]
    assert group.inputs["readWriteEndpoint"] == {"failoverPolicy": "Manual"}
    assert group.inputs["databases"] == [run.one(DATABASE).id]
    assert "sqlFailoverGroupListener" in outputs


def test_automatic_failover_policy_carries_the_grace_period():
    run, _ = run_service(KEY, "primary", settings(failoverGroup={"enabled": True, "policy": "Automatic"}))
    assert run.one(FOG).inputs["readWriteEndpoint"] == {
        "failoverPolicy": "Automatic", "failoverWithDataLossGracePeriodMinutes": 60,
    }


def test_secondary_with_a_failover_group_declares_the_server_only():
    run, outputs = run_service(KEY, "secondary")
    assert run.one(SERVER).inputs["serverName"] == "contoso-sql-ase"
    # The group seeds the geo-secondary database; the group itself belongs to the primary.
    assert run.of_type(DATABASE) == [] and run.of_type(FOG) == []
    assert "sqlFailoverGroupListener" not in outputs


def test_no_failover_group_when_disabled():
    run, _ = run_service(KEY, "primary", NO_GROUP)
    assert run.of_type(FOG) == [] and len(run.of_type(DATABASE)) == 1


def test_secondary_geo_restores_from_the_paired_servers_recoverable_database():
    run, outputs = run_service(KEY, "secondary", {**NO_GROUP, "restore": {"mode": "Recovery"}})
    database = run.one(DATABASE)
    assert database.inputs["createMode"] == "Recovery"
    assert database.inputs["sourceDatabaseId"] == (
        f"/subscriptions/{SUBSCRIPTION}/resourceGroups/rg-contoso-data-aue"
        "/providers/Microsoft.Sql/servers/contoso-sql-aue/recoverableDatabases/platform"
    )
    assert set(database.ignore_changes) == {"createMode", "sourceDatabaseId"}
    assert database.inputs["location"] == "australiasoutheast"
    assert outputs["sqlCreateMode"] == "Recovery"


def test_an_explicit_source_database_id_wins():
    source = "/subscriptions/x/resourceGroups/rg/providers/Microsoft.Sql/servers/old/recoverableDatabases/platform"
    run, _ = run_service(KEY, "secondary", {**NO_GROUP, "restore": {"sourceDatabaseId": source}})
    assert run.one(DATABASE).inputs["sourceDatabaseId"] == source


def test_restore_and_failover_group_are_exclusive():
    with pytest.raises(ConfigError) as raised:
        config_with("secondary", KEY, settings(restore={"mode": "Recovery"}))
    assert raised.value.key == f"dataplatform:{KEY}.restore"


@pytest.mark.parametrize(
    "changes, field",
    [
        ({"tier": "Premium2"}, "tier"),
        ({"backupStorageRedundancy": "GRS"}, "backupStorageRedundancy"),
        ({"adminObjectId": "not-a-guid"}, "adminObjectId"),
        ({"failoverGroup": {"enabled": True, "graceMinutes": 30}}, "failoverGroup.graceMinutes"),
        ({"restore": {"mode": "GeoRestore"}, "failoverGroup": {"enabled": False}}, "restore.mode"),
    ],
)
def test_invalid_settings_are_refused_naming_the_key(changes, field):
    with pytest.raises(ConfigError) as raised:
        config_with("primary", KEY, settings(**changes))
    assert raised.value.key == f"dataplatform:{KEY}.{field}"


def test_the_entra_administrator_is_required():
    values = settings()
    del values["adminLogin"]
    with pytest.raises(ConfigError) as raised:
        config_with("primary", KEY, values)
    assert raised.value.key == f"dataplatform:{KEY}.adminLogin"


@pytest.mark.parametrize(
    "changes, expected",
    [({}, (True, True, True)), ({"failoverGroup": {"enabled": False}, "backupStorageRedundancy": "Local"}, (False, False, False))],
)
def test_posture_follows_the_settings(changes, expected):
    config = config_with("primary", KEY, settings(**changes))
    (row,) = spec(KEY).posture(config, config.optional_services[KEY])
    assert row.sku == "BusinessCritical BC_Gen5_2" and row.uplift_enabled == expected


def test_profile_is_a_geo_restore():
    profile = spec(KEY).profile
    assert profile.recovery_action is RecoveryAction.GEO_RESTORE and profile.rehydrates and profile.data_checks
    assert profile.seed[0].service == "Azure SQL Database"


@pytest.mark.parametrize("stack", ["primary", "secondary"])
def test_each_server_is_reached_through_its_own_endpoint_from_the_hub_and_the_runner(stack):
    run, _ = run_service(KEY, stack, runner=True)
    assert_opened_privately(run, config_with(stack, KEY), run.one(SERVER).id, ("sqlServer", "sql"))
