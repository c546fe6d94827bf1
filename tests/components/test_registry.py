"""Every optional service (components/services/), under Pulumi's mocks, on both stacks.

Service-specific checks (security baseline, restore paths) live in tests/test_service_<name>.py;
these hold for all of them, so a new service module is covered from its first day.
"""

from __future__ import annotations

import pytest
from service_harness import config_with, run_service, spec

from components.registry import SERVICES, globally_unique_types, physical_name_inputs, profile_for, subresource_types
from stacks.config import ConfigError

KEYS = sorted(spec.key for spec in SERVICES if spec.switch == "off")
REGIONS = {"primary": "australiaeast", "secondary": "australiasoutheast"}


def test_there_are_services():
    assert "ddos" in KEYS


@pytest.mark.parametrize("key", KEYS)
@pytest.mark.parametrize("stack", ["primary", "secondary"])
def test_service_deploys_in_region_under_its_components(key, stack):
    run, _ = run_service(key, stack)
    if stack not in spec(key).roles:
        assert not run.resources, f"{key} declares resources on a {stack} stack"
        return
    assert run.resources, f"{key} declared nothing"
    subresources = subresource_types()
    for resource in run.resources:
        component = run.nearest_component(resource)
        assert component is not None, f"{resource.urn} has no parent component"
        assert profile_for(component.type) is not None, f"{component.type} has no DR profile"
    for resource in run.resources:
        location = resource.inputs.get("location")
        if resource.type in subresources or str(location).lower() == "global":
            continue
        assert location == REGIONS[stack], f"{resource.name} ({resource.type}) is in {location!r}"


@pytest.mark.parametrize("key", KEYS)
def test_globally_unique_names_differ_between_stacks(key):
    names = {}
    for stack in ("primary", "secondary"):
        run, _ = run_service(key, stack)
        inputs = physical_name_inputs()
        names[stack] = {
            r.inputs.get(inputs[r.type]) for r in run.resources if r.type in globally_unique_types() and r.type in inputs
        }
    assert not (names["primary"] & names["secondary"]) - {None}


@pytest.mark.parametrize("key", KEYS)
def test_every_deployed_type_has_a_physical_name_rule_or_is_named_by_azure(key):
    run, _ = run_service(key)
    inputs = physical_name_inputs()
    for resource in run.resources:
        if resource.type in inputs:
            assert resource.inputs.get(inputs[resource.type]), f"{resource.type} has no {inputs[resource.type]}"


@pytest.mark.parametrize("key", KEYS)
def test_posture_matches_the_seed_rows(key):
    service = spec(key)
    config = config_with("primary", key)
    postures = service.posture(config, config.optional_services[key])
    assert len(postures) == len(service.profile.seed)
    for posture, seed in zip(postures, service.profile.seed, strict=False):
        assert len(posture.uplift_enabled) == len(seed.uplift_options), seed.service
        assert posture.sku


@pytest.mark.parametrize("key", KEYS)
def test_unknown_setting_is_refused_naming_the_key(key):
    with pytest.raises(ConfigError) as raised:
        config_with("primary", key, {**spec(key).example, "noSuchSetting": 1})
    assert raised.value.key == f"dataplatform:{key}.noSuchSetting"


def test_unknown_service_toggle_is_refused():
    from pulumi_mocks import stack_config

    with pytest.raises(ConfigError) as raised:
        stack_config("primary", {"dataplatform:services": {"teleporter": True}})
    assert raised.value.key == "dataplatform:services.teleporter"
