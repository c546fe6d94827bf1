"""The site-to-site VPN's checks through the real ARM and network clients, on hand-written bodies (no
VPN gateway example is kept with the specs: tests/smoke_tests/gateway_doubles.py)."""

from __future__ import annotations

import pytest

from components.vpn_gateway import VpnGatewaySettings
from smoke_tests import vpn_gateway
from smoke_tests.check import PermanentError, TransientError
from tests.smoke_tests.gateway_doubles import (
    OWN_SPACE,
    connection_route,
    gateway_id,
    gateway_route,
    learned_routes_route,
    records,
    route,
)
from tests.smoke_tests.probe_support import service_probe

GATEWAY, CONNECTION = "vgw-dp-sec", "cn-dp-onprem-sec"
SITE = "192.168.0.0/16"


def _settings(enabled: bool) -> VpnGatewaySettings:
    return VpnGatewaySettings(onPremises={"gatewayIp": "203.0.113.10", "addressSpace": [SITE]},
                              connection={"enabled": enabled})


def _probe(routes, resources, enabled=True, baseline=None):
    return service_probe("vpn_gateway", routes, resources, settings=_settings(enabled), baseline=baseline)


def test_the_vpn_gateway_is_provisioned():
    probe, transport = _probe([gateway_route(GATEWAY, "Vpn")], records(GATEWAY))
    assert vpn_gateway.gateway_provisioned(probe)["provisioningState"] == "Succeeded"
    assert gateway_id(GATEWAY).lower() in transport.requests[0].url.lower()
    with pytest.raises(TransientError, match="provisioningState Updating, not Succeeded yet"):
        vpn_gateway.gateway_provisioned(_probe([gateway_route(GATEWAY, "Vpn", "Updating")], records(GATEWAY))[0])


def test_the_ipsec_connection_is_connected_or_waited_for():
    probe, _ = _probe([connection_route(CONNECTION, "IPsec")], records(GATEWAY, CONNECTION))
    assert vpn_gateway.connection_connected(probe)["connectionType"] == "IPsec"
    waiting, _ = _probe([connection_route(CONNECTION, "IPsec", "Connecting")], records(GATEWAY, CONNECTION))
    with pytest.raises(TransientError, match="connectionStatus Connecting"):
        vpn_gateway.connection_connected(waiting)


def test_a_status_outside_azures_set_fails_with_what_the_peer_needs():
    # Unknown, Connecting and NotConnected are waited for; anything else is a verdict.
    probe, _ = _probe([connection_route(CONNECTION, "IPsec", "Disconnected")], records(GATEWAY, CONNECTION))
    with pytest.raises(PermanentError, match="connectionStatus Disconnected, not Connected; the on-premises device"):
        vpn_gateway.connection_connected(probe)


def test_a_connection_switched_off_is_reported_not_passed_as_connected():
    evidence = vpn_gateway.connection_connected(_probe([], records(GATEWAY), enabled=False)[0])
    assert evidence["connection"] is None and "vpnGateway.connection.enabled is off" in evidence["note"]


def test_the_on_premises_ranges_are_among_the_gateways_routes():
    routes = [route(OWN_SPACE, "Network"), route(SITE, "Network", "203.0.113.10")]
    probe, transport = _probe([learned_routes_route(GATEWAY, routes)], records(GATEWAY))
    mismatches, facts = vpn_gateway.routes_learned(probe)
    assert mismatches == [] and facts["networks"] == sorted([OWN_SPACE, SITE])
    assert transport.requests[-1].method == "POST" and transport.requests[-1].url.split("?")[0].endswith("/getLearnedRoutes")


def test_an_on_premises_range_missing_is_a_mismatch():
    probe, _ = _probe([learned_routes_route(GATEWAY, [route(OWN_SPACE, "Network")])], records(GATEWAY))
    assert vpn_gateway.routes_learned(probe)[0] == [f"{SITE} is not among the gateway's routes"]
    switched_off, _ = _probe([learned_routes_route(GATEWAY, [route(OWN_SPACE, "Network")])], records(GATEWAY),
                             enabled=False)
    assert vpn_gateway.routes_learned(switched_off)[0] == []


def test_a_gateway_azure_does_not_know_fails_the_learned_routes():
    probe, _ = _probe([], records(GATEWAY))
    with pytest.raises(PermanentError, match="learned routes of gateway vgw-dp-sec"):
        vpn_gateway.routes_learned(probe)
