"""Azure SQL Managed Instance (components/sql_managed_instance.py): Entra-only, private, and the
instance failover group from the primary to the paired stack's instance."""

from __future__ import annotations

import pytest
from service_harness import config_with, run_service, spec

from components.profile import RecoveryAction
from stacks.config import ConfigError

KEY = "sqlManagedInstance"
INSTANCE = "azure-native:sql:ManagedInstance"
GROUP = "azure-native:sql:InstanceFailoverGroup"
SUBSCRIPTION = "00000000-0000-0000-0000-000000000000"
PRIMARY_ID = f"/subscriptions/{SUBSCRIPTION}/resourceGroups/rg-contoso-data-aue/providers/Microsoft.Sql/managedInstances/contoso-sqlmi-aue"
SECONDARY_ID = f"/subscriptions/{SUBSCRIPTION}/resourceGroups/rg-contoso-data-ase/providers/Microsoft.Sql/managedInstances/contoso-sqlmi-ase"


def _with(**changes) -> dict:
    return {**spec(KEY).example, **changes}


def _without(field: str) -> dict:
    return {key: value for key, value in spec(KEY).example.items() if key != field}


def test_instance_is_entra_only_private_and_in_the_delegated_subnet():
    run, _ = run_service(KEY)
    inputs = run.one(INSTANCE).inputs
    assert inputs["managedInstanceName"] == "contoso-sqlmi-aue"
    assert inputs["subnetId"] == spec(KEY).example["subnetId"]
    assert inputs["publicDataEndpointEnabled"] is False
    assert inputs["minimalTlsVersion"] == "1.2"
    assert inputs["identity"] == {"type": "SystemAssigned"}
    admin = inputs["administrators"]
    assert admin["azureADOnlyAuthentication"] is True and admin["administratorType"] == "ActiveDirectory"
    assert (admin["login"], admin["principalType"]) == ("sqlmi-admins", "Group")
    assert admin["tenantId"] == "00000000-0000-0000-0000-000000000001"
    assert not {"administratorLogin", "administratorLoginPassword"} & set(inputs)
    assert inputs["sku"] == {"name": "GP_Gen5", "tier": "GeneralPurpose", "family": "Gen5"}
    assert (inputs["vCores"], inputs["storageSizeInGB"]) == (4, 256)


def test_primary_declares_the_failover_group_to_the_paired_instance():
    run, _ = run_service(KEY, "primary")
    assert "dnsZonePartner" not in run.one(INSTANCE).inputs
    group = run.one(GROUP).inputs
    assert group["failoverGroupName"] == "contoso-sqlmi-fog-aue"
    assert group["locationName"] == "australiaeast"
    (pair,) = group["managedInstancePairs"]
    assert pair["partnerManagedInstanceId"] == SECONDARY_ID
    assert pair["primaryManagedInstanceId"].endswith("/contoso-sqlmi-aue")
    assert group["partnerRegions"] == [{"location": "australiasoutheast"}]
    assert group["readWriteEndpoint"] == {"failoverPolicy": "Manual"}
    assert group["secondaryType"] == "Standby"


def test_secondary_joins_the_primarys_dns_zone_and_ignores_it_afterwards():
    run, _ = run_service(KEY, "secondary")
    assert not run.of_type(GROUP)
    instance = run.one(INSTANCE)
    assert instance.inputs["dnsZonePartner"] == PRIMARY_ID
    assert instance.inputs["location"] == "australiasoutheast"
    assert instance.ignore_changes == ("dnsZonePartner",)


@pytest.mark.parametrize("stack", ["primary", "secondary"])
def test_without_a_failover_group_each_instance_stands_alone(stack):
    run, _ = run_service(KEY, stack, settings=_with(failoverGroup={"enabled": False}))
    assert not run.of_type(GROUP)
    instance = run.one(INSTANCE)
    assert "dnsZonePartner" not in instance.inputs and instance.ignore_changes == ()


def test_an_explicit_partner_overrides_the_derived_one():
    partner = "/subscriptions/s/resourceGroups/rg-other/providers/Microsoft.Sql/managedInstances/other-mi"
    group = {"enabled": True, "partnerInstanceId": partner}
    run, _ = run_service(KEY, settings=_with(failoverGroup=group))
    assert run.one(GROUP).inputs["managedInstancePairs"][0]["partnerManagedInstanceId"] == partner
    run, _ = run_service(KEY, "secondary", settings=_with(failoverGroup=group))
    assert run.one(INSTANCE).inputs["dnsZonePartner"] == partner


def test_automatic_failover_needs_a_grace_period():
    with pytest.raises(ConfigError) as raised:
        config_with("primary", KEY, _with(failoverGroup={"enabled": True, "failoverPolicy": "Automatic"}))
    assert raised.value.key == "dataplatform:sqlManagedInstance.failoverGroup"
    group = {"enabled": True, "failoverPolicy": "Automatic", "gracePeriodMinutes": 60}
    run, _ = run_service(KEY, settings=_with(failoverGroup=group))
    endpoint = run.one(GROUP).inputs["readWriteEndpoint"]
    assert endpoint == {"failoverPolicy": "Automatic", "failoverWithDataLossGracePeriodMinutes": 60}


@pytest.mark.parametrize("field", ["subnetId", "entraAdmin"])
def test_missing_required_setting_is_refused_naming_the_key(field):
    with pytest.raises(ConfigError) as raised:
        config_with("primary", KEY, _without(field))
    assert raised.value.key == f"dataplatform:sqlManagedInstance.{field}"


@pytest.mark.parametrize(
    "field, value",
    [("vCores", 6), ("storageGb", 100), ("backupStorageRedundancy", "RAGRS"), ("subnetId", "snet-sqlmi")],
)
def test_invalid_values_are_refused_naming_the_key(field, value):
    with pytest.raises(ConfigError) as raised:
        config_with("primary", KEY, _with(**{field: value}))
    assert raised.value.key == f"dataplatform:sqlManagedInstance.{field}"


def test_backup_redundancy_and_zone_redundancy_follow_config_and_posture():
    settings = _with(backupStorageRedundancy="Local", zoneRedundant=True, failoverGroup={"enabled": False}, vCores=8)
    run, _ = run_service(KEY, settings=settings)
    inputs = run.one(INSTANCE).inputs
    assert inputs["requestedBackupStorageRedundancy"] == "Local" and inputs["zoneRedundant"] is True
    config = config_with("primary", KEY, settings)
    (posture,) = spec(KEY).posture(config, config.optional_services[KEY])
    assert posture.sku == "General Purpose GP_Gen5, 8 vCores"
    assert posture.uplift_enabled == (False, False, True)
    config = config_with("primary", KEY)
    (posture,) = spec(KEY).posture(config, config.optional_services[KEY])
    assert posture.uplift_enabled == (True, True, False)


def test_profile_fails_over_the_group():
    profile = spec(KEY).profile
    assert profile.stateful and profile.recovery_action == RecoveryAction.SERVICE_FAILOVER
    (seed,) = profile.seed
    assert seed.service == "Azure SQL Managed Instance"
