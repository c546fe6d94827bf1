"""Microsoft Fabric capacity (components/fabric_capacity.py): SKU, administrators, DR setting."""

from __future__ import annotations

import pulumi
import pytest
from pulumi_mocks import deploy
from service_harness import config_with, context_for, run_service, spec

from stacks.config import ConfigError

KEY = "fabricCapacity"
CAPACITY = "azure-native:fabric:FabricCapacity"
ADMINS = ["fabric-admin@contoso.com"]


def outputs_of(stack: str, settings: dict) -> dict:
    config = config_with(stack, KEY, settings)
    values: dict = {}

    def program():
        for name, value in spec(KEY).deploy(context_for(config), config.optional_services[KEY]).items():
            pulumi.Output.from_input(value).apply(lambda v, n=name: values.__setitem__(n, v))

    deploy(program, stack=stack)
    return values


def test_capacity_defaults_to_f2_with_the_named_administrators():
    run, _ = run_service(KEY, settings={"administrators": ADMINS})
    inputs = run.one(CAPACITY).inputs
    assert inputs["sku"] == {"name": "F2", "tier": "Fabric"}
    assert inputs["administration"] == {"members": ADMINS}
    assert inputs["capacityName"] == "contosofabricaue"


def test_secondary_capacity_has_its_own_name_and_region():
    run, _ = run_service(KEY, "secondary")
    inputs = run.one(CAPACITY).inputs
    assert (inputs["capacityName"], inputs["location"]) == ("contosofabricase", "australiasoutheast")


def test_missing_administrators_are_refused_naming_the_key():
    with pytest.raises(ConfigError) as raised:
        config_with("primary", KEY, {"sku": "F4"})
    assert raised.value.key == "dataplatform:fabricCapacity.administrators"


def test_empty_or_malformed_administrators_are_refused():
    with pytest.raises(ConfigError) as raised:
        config_with("primary", KEY, {"administrators": []})
    assert raised.value.key == "dataplatform:fabricCapacity.administrators"
    with pytest.raises(ConfigError) as raised:
        config_with("primary", KEY, {"administrators": ["not-a-upn"]})
    assert raised.value.key.startswith("dataplatform:fabricCapacity.administrators")


def test_invalid_sku_is_refused_naming_the_key():
    with pytest.raises(ConfigError) as raised:
        config_with("primary", KEY, {"administrators": ADMINS, "sku": "F3"})
    assert raised.value.key == "dataplatform:fabricCapacity.sku"


@pytest.mark.parametrize("enabled", [True, False])
def test_disaster_recovery_setting_is_reported_not_deployed(enabled):
    settings = {"administrators": ADMINS, "sku": "F64", "disasterRecoveryEnabled": enabled}
    config = config_with("primary", KEY, settings)
    (posture,) = spec(KEY).posture(config, config.optional_services[KEY])
    assert posture.sku == "F64" and posture.uplift_enabled == (enabled,)
    # Not an ARM property: nothing in the request carries it, the stack output records the intent.
    run, _ = run_service(KEY, settings=settings)
    assert "disasterRecovery" not in str(run.one(CAPACITY).inputs)
    assert outputs_of("primary", settings)["fabricCapacityDisasterRecoveryExpected"] is enabled


def test_profile_says_the_dr_setting_lives_in_the_admin_portal():
    profile = spec(KEY).profile
    assert not profile.stateful
    (seed,) = profile.seed
    assert seed.sku_selected == "Fabric Capacity"
    assert any("Fabric admin portal" in note for note in profile.notes)
