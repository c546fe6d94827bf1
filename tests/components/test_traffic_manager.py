"""Traffic Manager service: one global profile owned by one stack; failover is that stack's config."""

from __future__ import annotations

import pytest
from service_harness import config_with, run_service, spec

from components.profile import RecoveryAction
from components.registry import globally_unique_types, physical_name_inputs
from stacks.config import ConfigError

KEY = "trafficManager"
PROFILE = "azure-native:trafficmanager:Profile"
PRIMARY = {"name": "primary", "target": "app-aue.data.contoso.com", "region": "australiaeast", "priority": 1}
SECONDARY = {"name": "secondary", "target": "app-ase.data.contoso.com", "region": "australiasoutheast", "priority": 2}


def owner(*endpoints: dict, **settings) -> dict:
    return {"owner": True, "endpoints": list(endpoints), **settings}


def uplift(settings: dict, stack: str = "primary") -> tuple:
    config = config_with(stack, KEY, settings)
    return spec(KEY).posture(config, config.optional_services[KEY])[0].uplift_enabled


def test_owner_declares_one_global_priority_profile_with_an_https_monitor():
    run, outputs = run_service(KEY, settings=owner(PRIMARY, SECONDARY))
    profile = run.one(PROFILE).inputs
    assert profile["location"] == "global" and profile["trafficRoutingMethod"] == "Priority"
    assert profile["profileStatus"] == "Enabled"
    # The profile name is also its DNS label under trafficmanager.net, checked as globally unique.
    assert profile["profileName"] == profile["dnsConfig"]["relativeName"] == "tm-contoso-aue"
    assert physical_name_inputs()[PROFILE] == "profileName" and PROFILE in globally_unique_types()
    assert 30 <= profile["dnsConfig"]["ttl"] <= 60
    monitor = profile["monitorConfig"]
    assert (monitor["protocol"], monitor["port"], monitor["path"]) == ("HTTPS", 443, "/health")
    assert monitor["timeoutInSeconds"] < monitor["intervalInSeconds"]
    endpoints = {e["name"]: e for e in profile["endpoints"]}
    assert endpoints["primary"]["type"] == "Microsoft.Network/trafficManagerProfiles/externalEndpoints"
    assert (endpoints["primary"]["target"], endpoints["primary"]["priority"]) == ("app-aue.data.contoso.com", 1)
    assert (endpoints["secondary"]["priority"], endpoints["secondary"]["endpointStatus"]) == (2, "Enabled")
    assert endpoints["secondary"]["endpointLocation"] == "australiasoutheast"
    assert outputs["trafficManagerFqdn"] == "tm-contoso-aue.trafficmanager.net"


def test_a_deliberate_failover_is_a_config_change_of_the_owning_stack():
    failed_over = owner({**PRIMARY, "priority": 2, "enabled": False}, {**SECONDARY, "priority": 1})
    run, _ = run_service(KEY, settings=failed_over)
    endpoints = {e["name"]: e for e in run.one(PROFILE).inputs["endpoints"]}
    assert (endpoints["secondary"]["priority"], endpoints["secondary"]["endpointStatus"]) == (1, "Enabled")
    assert (endpoints["primary"]["priority"], endpoints["primary"]["endpointStatus"]) == (2, "Disabled")
    # With the primary out of rotation, routing no longer spans both regions.
    assert uplift(failed_over) == (False,)
    assert uplift(owner(PRIMARY, SECONDARY)) == (True,)


def test_the_other_stack_declares_nothing_and_points_at_the_owners_profile():
    run, outputs = run_service(KEY, "secondary", settings={})
    assert run.resources == []
    assert outputs == {"trafficManagerOwner": False, "trafficManagerFqdn": "tm-contoso-aue.trafficmanager.net"}
    assert uplift({}, "secondary") == (None,)  # the owning stack's config tells, not this one's


def test_performance_routing_and_fast_probing():
    settings = owner(PRIMARY, SECONDARY, routingMethod="Performance", monitor={"intervalSeconds": 10, "timeoutSeconds": 5})
    run, _ = run_service(KEY, settings=settings)
    profile = run.one(PROFILE).inputs
    assert profile["trafficRoutingMethod"] == "Performance"
    assert (profile["monitorConfig"]["intervalInSeconds"], profile["monitorConfig"]["timeoutInSeconds"]) == (10, 5)


def test_tcp_monitor_has_no_path():
    run, _ = run_service(KEY, settings=owner(PRIMARY, monitor={"protocol": "TCP", "port": 5432}))
    assert "path" not in run.one(PROFILE).inputs["monitorConfig"]


@pytest.mark.parametrize(
    "settings, key",
    [
        (owner(PRIMARY, ttl=10), "dataplatform:trafficManager.ttl"),
        (owner(PRIMARY, ttl=300), "dataplatform:trafficManager.ttl"),
        ({"owner": True}, "dataplatform:trafficManager.endpoints"),
        (owner(PRIMARY, {**SECONDARY, "priority": 1}), "dataplatform:trafficManager.endpoints"),
        (owner(PRIMARY, {**SECONDARY, "name": "primary"}), "dataplatform:trafficManager.endpoints"),
        (owner({**PRIMARY, "region": "Australia East"}), "dataplatform:trafficManager.endpoints.0.region"),
        (owner({**PRIMARY, "target": "https://app"}), "dataplatform:trafficManager.endpoints.0.target"),
        (owner({**PRIMARY, "priority": 0}), "dataplatform:trafficManager.endpoints.0.priority"),
        (owner({k: v for k, v in PRIMARY.items() if k != "target"}), "dataplatform:trafficManager.endpoints.0.target"),
        (owner(PRIMARY, routingMethod="Weighted"), "dataplatform:trafficManager.routingMethod"),
        (owner(PRIMARY, monitor={"intervalSeconds": 10, "timeoutSeconds": 10}), "dataplatform:trafficManager.monitor.timeoutSeconds"),
        (owner(PRIMARY, monitor={"intervalSeconds": 20}), "dataplatform:trafficManager.monitor.intervalSeconds"),
        (owner(PRIMARY, monitor={"path": "health"}), "dataplatform:trafficManager.monitor.path"),
    ],
)
def test_invalid_settings_are_refused_naming_the_key(settings, key):
    with pytest.raises(ConfigError) as raised:
        config_with("primary", KEY, settings)
    assert raised.value.key == key


def test_profile_is_a_microsoft_managed_global_failover():
    profile = spec(KEY).profile
    (seed,) = profile.seed
    assert seed.service == "Azure Traffic Manager" and str(seed.component_responsibility) == "Microsoft"
    assert profile.recovery_action is RecoveryAction.SERVICE_FAILOVER and not profile.stateful
