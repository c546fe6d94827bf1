"""Load balancer service: private/public frontends, the zone-redundant and cross-region uplifts."""

from __future__ import annotations

import pytest
from service_harness import config_with, resolved_outputs, run_service, spec

from stacks.config import ConfigError

KEY = "loadBalancer"
LB = "azure-native:network:LoadBalancer"
PIP = "azure-native:network:PublicIPAddress"
PUBLIC = {"frontend": "public", "zoneRedundant": True}
GLOBAL = {**PUBLIC, "tier": "Global", "homeRegion": "southeastasia"}


def resolved(stack: str = "primary", settings: dict | None = None) -> dict:
    return resolved_outputs(KEY, stack, settings)


def posture(settings: dict) -> tuple:
    config = config_with("primary", KEY, settings)
    return spec(KEY).posture(config, config.optional_services[KEY])[0].uplift_enabled


def test_private_frontend_in_the_data_subnet_with_probe_and_rule():
    run, _ = run_service(KEY, settings={})
    assert run.of_type(PIP) == []
    lb = run.one(LB).inputs
    assert lb["loadBalancerName"] == "lbi-contoso-aue"
    assert lb["sku"] == {"name": "Standard", "tier": "Regional"}
    (frontend,) = lb["frontendIPConfigurations"]
    assert frontend["subnet"]["id"].endswith("/subnets/data")
    assert frontend["privateIPAllocationMethod"] == "Dynamic" and "zones" not in frontend
    (probe,) = lb["probes"]
    assert (probe["protocol"], probe["port"], probe["requestPath"]) == ("Https", 443, "/health")
    (rule,) = lb["loadBalancingRules"]
    prefix = "/subscriptions/00000000-0000-0000-0000-000000000000/resourceGroups/rg-test-connectivity"
    base = f"{prefix}/providers/Microsoft.Network/loadBalancers/lbi-contoso-aue"
    assert rule["frontendIPConfiguration"]["id"] == f"{base}/frontendIPConfigurations/frontend"
    assert rule["backendAddressPool"]["id"] == f"{base}/backendAddressPools/backend"
    assert rule["probe"]["id"] == f"{base}/probes/health"
    assert [p["name"] for p in lb["backendAddressPools"]] == ["backend"]
    assert rule["disableOutboundSnat"] is True and rule["enableTcpReset"] is True
    assert posture({}) == (False, False)


def test_zone_redundant_private_frontend_is_the_first_uplift():
    run, _ = run_service(KEY)  # the example: private and zone-redundant
    (frontend,) = run.one(LB).inputs["frontendIPConfigurations"]
    assert frontend["zones"] == ["1", "2", "3"]
    assert posture(spec(KEY).example) == (True, False)


def test_static_private_address_must_be_usable_in_the_data_subnet():
    run, _ = run_service(KEY, settings={"privateIp": "10.10.0.10"})
    (frontend,) = run.one(LB).inputs["frontendIPConfigurations"]
    assert frontend["privateIPAllocationMethod"] == "Static" and frontend["privateIPAddress"] == "10.10.0.10"
    assert resolved(settings={"privateIp": "10.10.0.10"})["loadBalancerFrontendIp"] == "10.10.0.10"
    # snet-data is 10.10.0.0/24 on the primary: outside it, and Azure's reserved addresses, are refused.
    for address in ("10.10.5.10", "10.10.0.3", "10.10.0.255"):
        with pytest.raises(ConfigError) as raised:
            run_service(KEY, settings={"privateIp": address})
        assert raised.value.key == "dataplatform:loadBalancer.privateIp"


def test_public_frontend_uses_a_zone_redundant_standard_address():
    run, _ = run_service(KEY, settings=PUBLIC)
    public_ip = run.one(PIP).inputs
    assert public_ip["sku"] == {"name": "Standard", "tier": "Regional"}
    assert public_ip["zones"] == ["1", "2", "3"] and public_ip["publicIPAllocationMethod"] == "Static"
    lb = run.one(LB).inputs
    assert lb["loadBalancerName"] == "lbe-contoso-aue"
    (frontend,) = lb["frontendIPConfigurations"]
    assert "subnet" not in frontend and "zones" not in frontend  # zones go on the address
    assert frontend["publicIPAddress"]["id"].endswith("/pip-lbe-contoso-aue")


def test_tcp_probe_has_no_path():
    run, _ = run_service(KEY, settings={"probe": {"protocol": "Tcp", "port": 5432}})
    (probe,) = run.one(LB).inputs["probes"]
    assert probe["protocol"] == "Tcp" and "requestPath" not in probe


def test_global_tier_adds_a_cross_region_load_balancer_over_both_regions():
    run, outputs = run_service(KEY, settings=GLOBAL)
    regional, cross = sorted(run.of_type(LB), key=lambda r: r.inputs["sku"]["tier"] == "Global")
    assert cross.inputs["sku"] == {"name": "Standard", "tier": "Global"}
    assert cross.inputs["location"] == "southeastasia" and regional.inputs["location"] == "australiaeast"
    global_ip = next(r for r in run.of_type(PIP) if r.inputs["sku"]["tier"] == "Global").inputs
    assert global_ip["location"] == "southeastasia" and "zones" not in global_ip
    (pool,) = cross.inputs["backendAddressPools"]
    members = {m["name"]: m["loadBalancerFrontendIPConfiguration"]["id"] for m in pool["loadBalancerBackendAddresses"]}
    assert members["australiaeast"].endswith("/loadBalancers/lbe-contoso-aue/frontendIPConfigurations/frontend")
    # The paired stack's frontend, derived from its names: group and load balancer of the secondary.
    assert "/resourceGroups/rg-contoso-connectivity-ase/" in members["australiasoutheast"]
    assert members["australiasoutheast"].endswith("/loadBalancers/lbe-contoso-ase/frontendIPConfigurations/frontend")
    assert "probes" not in cross.inputs  # a cross-region load balancer has no probe of its own
    (rule,) = cross.inputs["loadBalancingRules"]
    assert rule["protocol"] == "Tcp" and rule["backendPort"] == rule["frontendPort"] == 443
    assert "loadBalancerGlobalIp" in outputs
    assert posture(GLOBAL) == (True, True)


def test_global_tier_without_the_paired_backend_has_this_region_only():
    run, _ = run_service(KEY, "secondary", settings={**GLOBAL, "pairedBackend": False})
    cross = next(r for r in run.of_type(LB) if r.inputs["sku"]["tier"] == "Global")
    (pool,) = cross.inputs["backendAddressPools"]
    assert [m["name"] for m in pool["loadBalancerBackendAddresses"]] == ["australiasoutheast"]


@pytest.mark.parametrize(
    "settings, key",
    [
        ({"tier": "Global", "homeRegion": "southeastasia"}, "dataplatform:loadBalancer.tier"),  # private
        ({**GLOBAL, "protocol": "Udp"}, "dataplatform:loadBalancer.tier"),  # TCP only
        ({**PUBLIC, "tier": "Global"}, "dataplatform:loadBalancer.tier"),  # no home region
        ({**GLOBAL, "homeRegion": "australiaeast"}, "dataplatform:loadBalancer.homeRegion"),  # not a home region
        ({"tier": "Basic"}, "dataplatform:loadBalancer.tier"),
        ({**PUBLIC, "privateIp": "10.10.0.10"}, "dataplatform:loadBalancer.privateIp"),
        ({"frontend": "internal"}, "dataplatform:loadBalancer.frontend"),
        ({"protocol": "Http"}, "dataplatform:loadBalancer.protocol"),
        ({"port": 0}, "dataplatform:loadBalancer.port"),
        ({"probe": {"path": "health"}}, "dataplatform:loadBalancer.probe.path"),
    ],
)
def test_invalid_settings_are_refused_naming_the_key(settings, key):
    with pytest.raises(ConfigError) as raised:
        config_with("primary", KEY, settings)
    assert raised.value.key == key


def test_profile_matches_the_seed_row():
    profile = spec(KEY).profile
    (seed,) = profile.seed
    assert seed.service == "Azure Load Balancer" and seed.sku_selected == "Standard"
    assert len(seed.uplift_options) == 2
    assert any("Traffic Manager" in note for note in profile.notes)
