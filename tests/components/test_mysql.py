"""mysql: Entra-only flexible server, geo-redundant backup, and the GeoRestore path on the secondary.

The server carries a user-assigned identity. azure-native takes its ids as a list and returns ARM's
map keyed by id; the shared echo mocks return the list, which the SDK cannot read back as a map, so
these tests run under mocks that answer with the map.
"""

from __future__ import annotations

from typing import Any

import pytest
from private_link import assert_opened_privately
from pulumi_mocks import PROJECT, Deployment
from service_harness import config_with, context_for, run_service, spec

from components.profile import RecoveryAction
from orchestrator.program.capture import AzureMocks, run_under_mocks
from stacks.config import ConfigError

KEY = "mysql"
SERVER = "azure-native:dbformysql:Server"
ADMIN = "azure-native:dbformysql:AzureADAdministrator"
CONFIGURATION = "azure-native:dbformysql:Configuration"
DATABASE = "azure-native:dbformysql:Database"
IDENTITY = "azure-native:managedidentity:UserAssignedIdentity"
SUBSCRIPTION = "00000000-0000-0000-0000-000000000000"


class IdentityMapMocks(AzureMocks):
    def new_resource(self, args):
        resource_id, state = super().new_resource(args)
        identity = state.get("identity")
        if isinstance(identity, dict) and isinstance(identity.get("userAssignedIdentities"), list):
            state["identity"] = {**identity, "userAssignedIdentities": {i: {} for i in identity["userAssignedIdentities"]}}
        return resource_id, state


def run_mysql(stack: str = "primary", settings: dict[str, Any] | None = None) -> tuple[Deployment, dict]:
    config = config_with(stack, KEY, settings)
    exported: dict[str, Any] = {}

    def program():
        exported.update(spec(KEY).deploy(context_for(config), config.optional_services[KEY]))

    registrations = run_under_mocks(program, project=PROJECT, stack=stack, mocks=IdentityMapMocks())
    return Deployment(stack=stack, registrations=registrations), exported


def settings(**changes):
    return {**spec(KEY).example, **changes}


def test_server_baseline_no_public_access_and_geo_redundant_backup():
    run, outputs = run_mysql()
    server = run.one(SERVER)
    assert server.inputs["serverName"] == "contoso-mysql-aue"
    assert server.inputs["location"] == "australiaeast"
    assert server.inputs["network"] == {"publicNetworkAccess": "Disabled"}
    assert server.inputs["backup"] == {"backupRetentionDays": 7, "geoRedundantBackup": "Enabled"}
    assert server.inputs["sku"] == {"name": "Standard_D2ads_v5", "tier": "GeneralPurpose"}
    assert server.inputs["version"] == "8.0.21"
    assert [d.inputs["databaseName"] for d in run.of_type(DATABASE)] == ["platform"]
    assert outputs["mysqlCreateMode"] == "Default"


def test_geo_redundant_backup_is_off_unless_configured():
    run, _ = run_mysql(settings=settings(geoRedundantBackup=False))
    assert run.one(SERVER).inputs["backup"]["geoRedundantBackup"] == "Disabled"


def test_entra_only_authentication():
    run, _ = run_mysql()
    identity = run.one(IDENTITY)
    assert identity.inputs["resourceName"] == "id-contoso-mysql-aue" and identity.inputs["location"] == "australiaeast"
    server = run.one(SERVER)
    assert server.inputs["identity"] == {"type": "UserAssigned", "userAssignedIdentities": [identity.id]}
    admin = run.one(ADMIN)
    assert admin.inputs["administratorType"] == "ActiveDirectory"
    assert admin.inputs["login"] == "mysql-admins"
    assert admin.inputs["sid"] == "00000000-0000-0000-0000-0000000000bb"
    assert admin.inputs["identityResourceId"] == identity.id
    parameters = {c.inputs["configurationName"]: c.inputs["value"] for c in run.of_type(CONFIGURATION)}
    assert parameters == {"aad_auth_only": "ON", "tls_version": "TLSv1.2,TLSv1.3", "require_secure_transport": "ON"}


def test_the_bootstrap_password_is_never_diffed():
    run, _ = run_mysql()
    server = run.one(SERVER)
    # The create call insists on a login; the password is random and ignored afterwards.
    assert server.inputs["administratorLogin"] == "bootstrapadmin"
    assert server.inputs["administratorLoginPassword"]
    assert "administratorLoginPassword" in server.ignore_changes
    again, _ = run_mysql()
    assert again.one(SERVER).inputs["administratorLoginPassword"] != server.inputs["administratorLoginPassword"]


def test_secondary_geo_restores_the_paired_server():
    run, outputs = run_mysql("secondary", settings(restore={"mode": "GeoRestore"}))
    server = run.one(SERVER)
    assert server.inputs["serverName"] == "contoso-mysql-ase"
    assert server.inputs["location"] == "australiasoutheast"
    assert server.inputs["createMode"] == "GeoRestore"
    assert server.inputs["sourceServerResourceId"] == (
        f"/subscriptions/{SUBSCRIPTION}/resourceGroups/rg-contoso-data-aue"
        "/providers/Microsoft.DBforMySQL/flexibleServers/contoso-mysql-aue"
    )
    assert {"createMode", "sourceServerResourceId"} <= set(server.ignore_changes)
    # The login comes with the backup; the databases too.
    assert "administratorLogin" not in server.inputs
    assert run.of_type(DATABASE) == []
    # Entra-only still holds on the restored server.
    assert run.one(ADMIN).inputs["login"] == "mysql-admins"
    assert outputs["mysqlCreateMode"] == "GeoRestore"


def test_an_explicit_source_server_id_wins():
    source = "/subscriptions/x/resourceGroups/rg/providers/Microsoft.DBforMySQL/flexibleServers/old"
    run, _ = run_mysql("secondary", settings(restore={"sourceServerId": source}))
    assert run.one(SERVER).inputs["sourceServerResourceId"] == source


@pytest.mark.parametrize(
    "changes, field",
    [
        ({"tier": "BusinessCritical"}, "tier"),
        ({"skuName": "D2ads_v5"}, "skuName"),
        ({"version": "5.7"}, "version"),
        ({"storageGb": 10}, "storageGb"),
        ({"databases": ["bad-name"]}, "databases.0"),
        ({"restore": {"mode": "PointInTimeRestore"}}, "restore.mode"),
    ],
)
def test_invalid_settings_are_refused_naming_the_key(changes, field):
    with pytest.raises(ConfigError) as raised:
        config_with("primary", KEY, settings(**changes))
    assert raised.value.key == f"dataplatform:{KEY}.{field}"


@pytest.mark.parametrize("missing", ["adminLogin", "adminObjectId"])
def test_the_entra_administrator_is_required(missing):
    values = settings()
    del values[missing]
    with pytest.raises(ConfigError) as raised:
        config_with("primary", KEY, values)
    assert raised.value.key == f"dataplatform:{KEY}.{missing}"


def test_posture_and_profile():
    config = config_with("primary", KEY, settings(geoRedundantBackup=False))
    (row,) = spec(KEY).posture(config, config.optional_services[KEY])
    assert row.sku == "GeneralPurpose Standard_D2ads_v5" and row.uplift_enabled == (False, False)
    profile = spec(KEY).profile
    assert profile.recovery_action is RecoveryAction.GEO_RESTORE and profile.rehydrates and profile.data_checks


def test_the_hub_and_the_runner_reach_the_server_through_private_link():
    run, _ = run_service(KEY, runner=True)
    assert_opened_privately(run, config_with("primary", KEY), run.one(SERVER).id, ("mysqlServer", "mysql"))
