"""VPN gateway service: SKU and zone redundancy from config, the site, the optional IPsec connection."""

from __future__ import annotations

import pytest
from service_harness import config_with, run_service, spec

from stacks.config import ConfigError

KEY = "vpnGateway"
GATEWAY = "azure-native:network:VirtualNetworkGateway"
PIP = "azure-native:network:PublicIPAddress"
CONNECTION = "azure-native:network:VirtualNetworkGatewayConnection"
SITE = {"gatewayIp": "198.51.100.7", "addressSpace": ["172.16.0.0/16", "192.168.10.0/24"]}


def test_seed_selection_is_a_single_non_zonal_vpngw1():
    run, outputs = run_service(KEY, settings={"onPremises": SITE})
    gateway = run.one(GATEWAY).inputs
    assert gateway["sku"] == {"name": "VpnGw1", "tier": "VpnGw1"}
    assert gateway["gatewayType"] == "Vpn" and gateway["vpnType"] == "RouteBased"
    assert gateway["vpnGatewayGeneration"] == "Generation2"
    assert gateway["activeActive"] is False and len(gateway["ipConfigurations"]) == 1
    public_ip = run.one(PIP).inputs
    assert public_ip["sku"] == {"name": "Standard", "tier": "Regional"}
    assert public_ip["publicIPAllocationMethod"] == "Static"
    assert "zones" not in public_ip  # non-AZ SKUs refuse zonal addresses
    config = config_with("primary", KEY, {"onPremises": SITE})
    assert spec(KEY).posture(config, config.optional_services[KEY])[0].uplift_enabled == (False,)
    assert outputs["vpnGatewayConnectionEnabled"] is False


def test_az_sku_and_active_active_give_two_zone_redundant_addresses():
    run, _ = run_service(KEY, settings={"onPremises": SITE, "sku": "VpnGw2AZ", "activeActive": True})
    gateway = run.one(GATEWAY).inputs
    assert gateway["sku"]["name"] == "VpnGw2AZ" and gateway["activeActive"] is True
    addresses = run.of_type(PIP)
    assert len(addresses) == 2 and all(a.inputs["zones"] == ["1", "2", "3"] for a in addresses)
    used = {c["publicIPAddress"]["id"].rsplit("/", 1)[-1] for c in gateway["ipConfigurations"]}
    assert used == {a.inputs["publicIpAddressName"] for a in addresses}
    for configuration in gateway["ipConfigurations"]:
        assert configuration["subnet"]["id"].endswith("/subnets/GatewaySubnet")
    config = config_with("primary", KEY, {"onPremises": SITE, "sku": "VpnGw2AZ"})
    posture = spec(KEY).posture(config, config.optional_services[KEY])
    assert posture[0].sku == "VpnGw2AZ" and posture[0].uplift_enabled == (True,)


def test_local_network_gateway_is_the_configured_site():
    run, _ = run_service(KEY, settings={"onPremises": SITE})
    site = run.one("azure-native:network:LocalNetworkGateway").inputs
    assert site["gatewayIpAddress"] == "198.51.100.7"
    assert site["localNetworkAddressSpace"]["addressPrefixes"] == ["172.16.0.0/16", "192.168.10.0/24"]


def test_connection_is_off_by_default_and_never_carries_a_key():
    run, _ = run_service(KEY)
    assert run.of_type(CONNECTION) == []
    run, outputs = run_service(KEY, settings={"onPremises": SITE, "connection": {"enabled": True}})
    connection = run.one(CONNECTION)
    assert connection.inputs["connectionType"] == "IPsec"
    assert connection.inputs["connectionProtocol"] == "IKEv2"
    assert "sharedKey" not in connection.inputs
    # The key set out of band must survive later updates.
    assert "sharedKey" in connection.ignore_changes
    assert connection.inputs["virtualNetworkGateway1"]["id"].endswith("/vgw-contoso-aue")
    assert connection.inputs["localNetworkGateway2"]["id"].endswith("/lgw-contoso-onprem-aue")
    assert outputs["vpnGatewayConnectionEnabled"] is True


def test_secondary_gateway_gets_its_own_names_and_addresses():
    names = {}
    for stack in ("primary", "secondary"):
        run, _ = run_service(KEY, stack)
        names[stack] = {r.inputs.get("publicIpAddressName") for r in run.of_type(PIP)}
        names[stack].add(run.one(GATEWAY).inputs["virtualNetworkGatewayName"])
    assert not names["primary"] & names["secondary"]
    assert any(note.startswith("The secondary's gateway gets new public IPs") for note in spec(KEY).profile.notes)


def test_site_overlapping_the_hub_is_refused_naming_the_key():
    # The primary hub is 10.10.0.0/16.
    with pytest.raises(ConfigError) as raised:
        run_service(KEY, settings={"onPremises": {"gatewayIp": "198.51.100.7", "addressSpace": ["10.0.0.0/8"]}})
    assert raised.value.key == "dataplatform:vpnGateway.onPremises.addressSpace"


@pytest.mark.parametrize(
    "settings, key",
    [
        ({"sku": "Basic", "onPremises": SITE}, "dataplatform:vpnGateway.sku"),
        ({"sku": "VpnGw6AZ", "onPremises": SITE}, "dataplatform:vpnGateway.sku"),
        ({}, "dataplatform:vpnGateway.onPremises"),
        ({"onPremises": {"addressSpace": ["172.16.0.0/16"]}}, "dataplatform:vpnGateway.onPremises.gatewayIp"),
        ({"onPremises": {"gatewayIp": "198.51.100.7"}}, "dataplatform:vpnGateway.onPremises.addressSpace"),
        ({"onPremises": {"gatewayIp": "198.51.100.7", "addressSpace": []}}, "dataplatform:vpnGateway.onPremises.addressSpace"),
        ({"onPremises": {"gatewayIp": "not-an-ip", "addressSpace": ["172.16.0.0/16"]}}, "dataplatform:vpnGateway.onPremises.gatewayIp"),
        # Host bits set: almost always a typo for the network.
        ({"onPremises": {"gatewayIp": "198.51.100.7", "addressSpace": ["172.16.0.1/16"]}}, "dataplatform:vpnGateway.onPremises.addressSpace.0"),
        ({"onPremises": SITE, "connection": {"protocol": "SSTP"}}, "dataplatform:vpnGateway.connection.protocol"),
    ],
)
def test_invalid_settings_are_refused_naming_the_key(settings, key):
    with pytest.raises(ConfigError) as raised:
        config_with("primary", KEY, settings)
    assert raised.value.key == key


def test_profile_matches_the_seed_and_the_slow_provisioning():
    profile = spec(KEY).profile
    assert profile.key == "vpn_gateway" and not profile.stateful
    assert profile.seed[0].service == "VPN Gateway" and profile.seed[0].sku_selected == "Single Zone - VpnGw1"
    assert profile.estimates.deploy >= 1800  # 30-45 minutes to provision
    assert [d.component for d in profile.depends_on] == ["connectivity"]
