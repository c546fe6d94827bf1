"""ExpressRoute service: circuit SKU and provider from config, the AZ gateway, the VPN backup posture."""

from __future__ import annotations

import pytest
from pulumi_mocks import stack_config
from service_harness import config_with, resolved_outputs, run_service, spec

from components.profile import Responsibility
from stacks.config import ConfigError

KEY = "expressRoute"
CIRCUIT = "azure-native:network:ExpressRouteCircuit"
GATEWAY = "azure-native:network:VirtualNetworkGateway"
CONNECTION = "azure-native:network:VirtualNetworkGatewayConnection"
ORDER = {"serviceProviderName": "Telstra", "peeringLocation": "Melbourne", "bandwidthMbps": 200}


def resolved(stack: str = "primary", settings: dict | None = None) -> dict:
    """The service's stack outputs once resolved, each as (value, is_secret)."""
    return resolved_outputs(KEY, stack, settings, secrecy=True)


def test_circuit_is_the_seeds_standard_metered_circuit_from_the_provider_order():
    run, _ = run_service(KEY, settings=ORDER)
    circuit = run.one(CIRCUIT).inputs
    assert circuit["sku"] == {"name": "Standard_MeteredData", "tier": "Standard", "family": "MeteredData"}
    assert circuit["serviceProviderProperties"] == {
        "serviceProviderName": "Telstra", "peeringLocation": "Melbourne", "bandwidthInMbps": 200,
    }
    assert circuit["allowClassicOperations"] is False
    config = config_with("primary", KEY, ORDER)
    assert spec(KEY).posture(config, config.optional_services[KEY])[0].sku == "Standard (MeteredData)"


def test_premium_uplift_changes_the_sku_name_with_the_tier():
    run, _ = run_service(KEY, settings={**ORDER, "tier": "Premium", "family": "UnlimitedData"})
    assert run.one(CIRCUIT).inputs["sku"] == {"name": "Premium_UnlimitedData", "tier": "Premium", "family": "UnlimitedData"}


def test_gateway_is_a_zone_redundant_expressroute_gateway_in_the_gateway_subnet():
    run, _ = run_service(KEY, settings={**ORDER, "gatewaySku": "ErGw2AZ"})
    gateway = run.one(GATEWAY).inputs
    assert gateway["gatewayType"] == "ExpressRoute"
    assert gateway["sku"] == {"name": "ErGw2AZ", "tier": "ErGw2AZ"}
    assert "vpnType" not in gateway
    (configuration,) = gateway["ipConfigurations"]
    assert configuration["subnet"]["id"].endswith("/subnets/GatewaySubnet")
    public_ip = run.one("azure-native:network:PublicIPAddress").inputs
    assert public_ip["sku"]["name"] == "Standard" and public_ip["zones"] == ["1", "2", "3"]
    assert configuration["publicIPAddress"]["id"].endswith("/" + public_ip["publicIpAddressName"])


def test_gateway_joins_the_circuit_only_when_asked():
    run, _ = run_service(KEY, settings=ORDER)
    assert run.of_type(CONNECTION) == []
    run, _ = run_service(KEY, "secondary", settings={**ORDER, "connectCircuit": True})
    connection = run.one(CONNECTION).inputs
    assert connection["connectionType"] == "ExpressRoute"
    assert connection["peer"]["id"].endswith("/erc-contoso-ase")
    assert connection["virtualNetworkGateway1"]["id"].endswith("/ergw-contoso-ase")
    assert connection["location"] == "australiasoutheast"


def test_service_key_is_exported_as_a_secret():
    outputs = resolved(settings=ORDER)
    assert outputs["expressRouteServiceKey"][1] is True
    assert outputs["expressRouteCircuitId"][0].endswith("/erc-contoso-aue")


def test_vpn_backup_uplift_follows_the_vpn_gateway_service():
    alone = config_with("primary", KEY, ORDER)
    assert spec(KEY).posture(alone, alone.optional_services[KEY])[0].uplift_enabled == (None, None, False)
    services = {**alone.switches, KEY: True, "vpnGateway": True}
    both = stack_config(
        "primary",
        {
            "dataplatform:services": services,
            f"dataplatform:{KEY}": ORDER,
            "dataplatform:vpnGateway": spec("vpnGateway").example,
        },
    )
    assert spec(KEY).posture(both, both.optional_services[KEY])[0].uplift_enabled == (None, None, True)


@pytest.mark.parametrize(
    "settings, key",
    [
        ({"peeringLocation": "Sydney", "bandwidthMbps": 1000}, "dataplatform:expressRoute.serviceProviderName"),
        ({"serviceProviderName": "Equinix", "bandwidthMbps": 1000}, "dataplatform:expressRoute.peeringLocation"),
        ({"serviceProviderName": "Equinix", "peeringLocation": "Sydney"}, "dataplatform:expressRoute.bandwidthMbps"),
        ({**ORDER, "bandwidthMbps": 300}, "dataplatform:expressRoute.bandwidthMbps"),
        ({**ORDER, "tier": "Local"}, "dataplatform:expressRoute.tier"),
        ({**ORDER, "family": "Metered"}, "dataplatform:expressRoute.family"),
        # The non-AZ gateway SKUs needed Basic public IPs, which Azure retired.
        ({**ORDER, "gatewaySku": "Standard"}, "dataplatform:expressRoute.gatewaySku"),
    ],
)
def test_invalid_settings_are_refused_naming_the_key(settings, key):
    with pytest.raises(ConfigError) as raised:
        config_with("primary", KEY, settings)
    assert raised.value.key == key


def test_profile_records_the_shared_responsibility():
    profile = spec(KEY).profile
    (seed,) = profile.seed
    assert seed.service == "ExpressRoute Circuit" and seed.sku_selected == "Standard"
    assert seed.component_responsibility is Responsibility.SHARED
    assert len(seed.uplift_options) == 3 and "VPN" in seed.uplift_options[2]
    assert any("connectivity partner" in note for note in profile.notes)
    assert profile.estimates.deploy >= 1800
