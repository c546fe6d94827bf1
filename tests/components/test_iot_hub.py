"""iotHub: a Standard hub kept eligible for failover, with the security baseline."""

from __future__ import annotations

import pytest
from service_harness import config_with, run_service, spec

from components.profile import RecoveryAction
from stacks.config import ConfigError

KEY = "iotHub"
HUB = "azure-native:iothub:IotHubResource"


def test_hub_is_standard_and_eligible_for_failover_to_the_paired_region():
    run, outputs = run_service(KEY, "primary")
    hub = run.one(HUB)
    assert hub.inputs["resourceName"] == "contoso-iot-aue"
    assert hub.inputs["sku"] == {"name": "S1", "capacity": 1}
    properties = hub.inputs["properties"]
    # Data residency on would keep the data in-region and disable failover.
    assert properties["enableDataResidency"] is False
    assert properties["eventHubEndpoints"] == {"events": {"partitionCount": 4, "retentionTimeInDays": 1}}
    # After a failover the hub's location reads as the paired region: it must not trigger a replace.
    assert "location" in hub.ignore_changes
    assert outputs["iotHubHostName"] == "contoso-iot-aue.azure-devices.net"


def test_security_baseline():
    run, _ = run_service(KEY, "primary")
    hub = run.one(HUB)
    properties = hub.inputs["properties"]
    assert properties["minTlsVersion"] == "1.2"
    assert properties["disableLocalAuth"] is True
    assert properties["disableModuleSAS"] is True
    assert properties["disableDeviceSAS"] is False  # devices keep their keys until moved to X.509
    assert properties["publicNetworkAccess"] == "Disabled"
    assert hub.inputs["identity"] == {"type": "SystemAssigned"}


def test_device_sas_can_be_switched_off():
    run, _ = run_service(KEY, "primary", {"disableDeviceSas": True})
    assert run.one(HUB).inputs["properties"]["disableDeviceSAS"] is True


def test_each_stack_has_its_own_hub_name():
    primary, _ = run_service(KEY, "primary")
    secondary, _ = run_service(KEY, "secondary")
    assert primary.one(HUB).inputs["resourceName"] != secondary.one(HUB).inputs["resourceName"]
    assert secondary.one(HUB).inputs["location"] == "australiasoutheast"


@pytest.mark.parametrize(
    "settings, field",
    [({"sku": "B1"}, "sku"), ({"sku": "F1"}, "sku"), ({"capacity": 0}, "capacity"), ({"partitions": 1}, "partitions")],
)
def test_invalid_settings_are_refused_naming_the_key(settings, field):
    with pytest.raises(ConfigError) as raised:
        config_with("primary", KEY, settings)
    assert raised.value.key == f"dataplatform:{KEY}.{field}"


def test_posture_reports_failover_on_and_the_second_hub_unknown():
    config = config_with("primary", KEY, {"sku": "S2", "capacity": 2})
    (row,) = spec(KEY).posture(config, config.optional_services[KEY])
    assert row.sku == "Standard S2 x2"
    assert row.uplift_enabled == (None, True)


def test_profile_is_a_service_failover_of_a_stateful_hub():
    profile = spec(KEY).profile
    assert profile.recovery_action is RecoveryAction.SERVICE_FAILOVER
    assert profile.stateful and tuple(c.name for c in profile.data_checks) == ("device-count",)
    assert profile.seed[0].service == "Azure IoT Hubs"
