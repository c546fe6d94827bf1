"""Azure Analysis Services (components/analysis_services.py): firewalled server, geo backups."""

from __future__ import annotations

import pulumi
import pytest
from pulumi_mocks import deploy, stack_values
from service_harness import config_with, context_for, run_service, spec

from components.profile import RecoveryAction
from stacks.config import ConfigError

KEY = "analysisServices"
TENANT = "00000000-0000-0000-0000-000000000001"
SERVER = "azure-native:analysisservices:ServerDetails"
STORAGE = "azure-native:storage:StorageAccount"
CONTAINER = "azure-native:storage:BlobContainer"
ADMINS = ["aas-admin@contoso.com", "obj:11111111-2222-3333-4444-555555555555@00000000-0000-0000-0000-000000000001"]


def _with(**changes) -> dict:
    return {**spec(KEY).example, **changes}


def test_server_has_the_sku_tier_and_administrators():
    run, _ = run_service(KEY, settings=_with(administrators=ADMINS))
    server = run.one(SERVER).inputs
    assert server["serverName"] == "contosoaasaue"
    assert server["sku"]["name"] == "S0" and server["sku"]["tier"] == "Standard"
    assert server["asAdministrators"] == {"members": ADMINS}


@pytest.mark.parametrize("sku, tier", [("B1", "Basic"), ("D1", "Development"), ("S4", "Standard")])
def test_tier_follows_the_sku_family(sku, tier):
    run, _ = run_service(KEY, settings=_with(sku=sku))
    assert run.one(SERVER).inputs["sku"]["tier"] == tier


def test_firewall_is_on_and_admits_only_power_bi_and_listed_ranges():
    ranges = [{"name": "office", "rangeStart": "203.0.113.0", "rangeEnd": "203.0.113.255"}]
    run, _ = run_service(KEY, settings=_with(allowedRanges=ranges))
    firewall = run.one(SERVER).inputs["ipV4FirewallSettings"]
    assert firewall["enablePowerBIService"] is True
    assert firewall["firewallRules"] == [
        {"firewallRuleName": "office", "rangeStart": "203.0.113.0", "rangeEnd": "203.0.113.255"}
    ]
    run, _ = run_service(KEY, settings=_with(allowPowerBi=False))
    assert run.one(SERVER).inputs["ipV4FirewallSettings"] == {"enablePowerBIService": False, "firewallRules": []}


def test_backups_go_to_a_private_geo_redundant_container():
    run, _ = run_service(KEY, "secondary")
    account = run.one(STORAGE).inputs
    assert account["accountName"] == "contosoaasbakase"
    assert account["sku"] == {"name": "Standard_RAGRS"}
    assert account["minimumTlsVersion"] == "TLS1_2" and account["enableHttpsTrafficOnly"] is True
    assert account["allowBlobPublicAccess"] is False
    container = run.one(CONTAINER).inputs
    assert (container["containerName"], container["publicAccess"]) == ("model-backups", "None")
    # The SAS the server would need is a secret: the program never sets it.
    assert "backupBlobContainerUri" not in run.one(SERVER).inputs


@pytest.mark.parametrize(
    "redundancy, geo", [("Standard_RAGRS", True), ("Standard_GZRS", True), ("Standard_LRS", False)]
)
def test_posture_reports_geo_redundant_backups(redundancy, geo):
    config = config_with("primary", KEY, _with(backupRedundancy=redundancy))
    (posture,) = spec(KEY).posture(config, config.optional_services[KEY])
    assert posture.sku == "S0" and posture.uplift_enabled == (geo,)


def test_outputs_give_the_server_uri_and_backup_container():
    config = config_with("primary", KEY)
    values: dict = {}

    def program():
        for name, value in spec(KEY).deploy(context_for(config), config.optional_services[KEY]).items():
            pulumi.Output.from_input(value).apply(lambda v, n=name: values.__setitem__(n, v))

    deploy(program)
    assert values["analysisServicesServerUri"] == "asazure://australiaeast.asazure.windows.net/contosoaasaue"
    assert (
        values["analysisServicesBackupContainerUrl"] == "https://contosoaasbakaue.blob.core.windows.net/model-backups"
    )


def test_missing_administrators_are_refused_naming_the_key():
    with pytest.raises(ConfigError) as raised:
        config_with("primary", KEY, {"sku": "S0"})
    assert raised.value.key == "dataplatform:analysisServices.administrators"


@pytest.mark.parametrize("field, value", [("sku", "S3"), ("backupRedundancy", "Premium_LRS")])
def test_invalid_values_are_refused_naming_the_key(field, value):
    with pytest.raises(ConfigError) as raised:
        config_with("primary", KEY, _with(**{field: value}))
    assert raised.value.key == f"dataplatform:analysisServices.{field}"


def test_profile_rehydrates_from_backups_then_refreshes_models():
    profile = spec(KEY).profile
    assert profile.stateful and profile.recovery_action == RecoveryAction.REDEPLOY_REHYDRATE
    assert profile.rehydrates
    assert tuple(c.name for c in profile.data_checks) == ("model-refresh",)
    assert profile.estimates.rehydrate > 0


def test_the_runner_is_an_administrator_and_its_egress_is_in_the_firewall():
    runner = {"clientId": "22222222-2222-2222-2222-222222222222",
              "network": {**stack_values("primary")["dataplatform:runner"]["network"],
                          "egressAddresses": ["203.0.113.40", "198.51.100.0/30"]}}
    run, _ = run_service(KEY, settings=_with(administrators=ADMINS), runner_settings=runner)
    server = run.one(SERVER).inputs
    # No private link: the refresh API is called on the public endpoint, as an administrator.
    assert server["asAdministrators"]["members"] == [*ADMINS, f"app:{runner['clientId']}@{TENANT}"]
    assert server["ipV4FirewallSettings"]["firewallRules"] == [
        {"firewallRuleName": "drctl-runner-1", "rangeStart": "203.0.113.40", "rangeEnd": "203.0.113.40"},
        {"firewallRuleName": "drctl-runner-2", "rangeStart": "198.51.100.0", "rangeEnd": "198.51.100.3"},
    ]
