"""ExpressRoute's checks through the real ARM and network clients, on hand-written bodies (no
ExpressRoute example is kept with the specs: tests/smoke_tests/gateway_doubles.py)."""

from __future__ import annotations

import pytest

from components.express_route import ExpressRouteSettings
from smoke_tests import express_route
from smoke_tests.check import PermanentError, TransientError
from tests.azure_fixtures import Route
from tests.smoke_tests.gateway_doubles import (
    GROUP,
    OWN_SPACE,
    connection_route,
    gateway_route,
    learned_routes_route,
    records,
    route,
)
from tests.smoke_tests.probe_support import arm_id, deployed, service_probe

CIRCUIT_ID = arm_id("Microsoft.Network/expressRouteCircuits", "erc-dp-sec", GROUP)
GATEWAY, CONNECTION = "ergw-dp-sec", "cn-dp-erc-sec"


def _settings(connect: bool) -> ExpressRouteSettings:
    return ExpressRouteSettings(serviceProviderName="Equinix", peeringLocation="Sydney", bandwidthMbps=1000,
                                connectCircuit=connect)


def _probe(routes, resources, connect=True, baseline=None):
    return service_probe("express_route", routes, resources, settings=_settings(connect), baseline=baseline)[0]


def _circuit_probe(provider_state="Provisioned", state="Succeeded"):
    # Hand-written circuit GET: the provider's side of provisioning is its own field.
    body = {"id": CIRCUIT_ID, "name": "erc-dp-sec", "type": "Microsoft.Network/expressRouteCircuits",
            "location": "westus",
            "properties": {"provisioningState": state, "circuitProvisioningState": "Enabled",
                           "serviceProviderProvisioningState": provider_state,
                           "serviceProviderProperties": {"serviceProviderName": "Equinix", "peeringLocation": "Sydney",
                                                         "bandwidthInMbps": 1000}}}
    return _probe([Route("GET", f"(?i){CIRCUIT_ID}", body=body)], [deployed(express_route.CIRCUIT, CIRCUIT_ID)])


def test_a_circuit_provisioned_by_its_provider_passes():
    evidence = express_route.circuit_provisioned(_circuit_probe())
    assert evidence["serviceProviderProvisioningState"] == "Provisioned" and evidence["peeringLocation"] == "Sydney"


def test_a_circuit_the_provider_has_not_provisioned_fails_saying_to_order_it_ahead():
    with pytest.raises(PermanentError, match=r"serviceProviderProvisioningState NotProvisioned.*order it before the day"):
        express_route.circuit_provisioned(_circuit_probe("NotProvisioned"))
    with pytest.raises(TransientError, match="Provisioning, not Provisioned yet"):
        express_route.circuit_provisioned(_circuit_probe("Provisioning"))


def test_the_gateway_is_provisioned_and_of_the_expressroute_type():
    probe = _probe([gateway_route(GATEWAY, "ExpressRoute")], records(GATEWAY))
    assert express_route.gateway_provisioned(probe)["gatewayType"] == "ExpressRoute"
    with pytest.raises(PermanentError, match="gatewayType Vpn, not ExpressRoute"):
        express_route.gateway_provisioned(_probe([gateway_route(GATEWAY, "Vpn")], records(GATEWAY)))
    with pytest.raises(PermanentError, match="provisioningState Failed"):
        express_route.gateway_provisioned(_probe([gateway_route(GATEWAY, "ExpressRoute", "Failed")], records(GATEWAY)))


def test_the_connection_to_the_circuit_is_connected():
    probe = _probe([connection_route(CONNECTION, "ExpressRoute")], records(GATEWAY, CONNECTION))
    assert express_route.connection_connected(probe)["connectionStatus"] == "Connected"


@pytest.mark.parametrize(("status", "state", "error", "message"), [
    ("NotConnected", "Succeeded", TransientError, "connectionStatus NotConnected, not Connected yet"),
    ("Connected", "Failed", PermanentError, "cn-dp-erc-sec: provisioningState Failed"),
])
def test_a_connection_not_connected_waits_or_fails(status, state, error, message):
    probe = _probe([connection_route(CONNECTION, "ExpressRoute", status, state)], records(GATEWAY, CONNECTION))
    with pytest.raises(error, match=message):
        express_route.connection_connected(probe)


def test_without_connect_circuit_no_connection_is_checked_and_the_evidence_says_so():
    evidence = express_route.connection_connected(_probe([], records(GATEWAY), connect=False))
    assert evidence["connection"] is None and "connectCircuit is off" in evidence["note"]
    with pytest.raises(PermanentError, match="connectCircuit is on but the deploy recorded no connection"):
        express_route.connection_connected(_probe([], records(GATEWAY), connect=True))


ON_PREMISES = route("192.168.0.0/16", "EBgp", "10.20.3.12")


def test_routes_learned_over_the_circuit_pass():
    probe = _probe([learned_routes_route(GATEWAY, [route(OWN_SPACE, "Network"), ON_PREMISES])], records(GATEWAY))
    mismatches, facts = express_route.routes_learned(probe)
    assert mismatches == [] and facts["from_peers"] == ["192.168.0.0/16"] and facts["count"] == 2


def test_no_route_from_on_premises_over_a_connected_circuit_is_a_mismatch():
    probe = _probe([learned_routes_route(GATEWAY, [route(OWN_SPACE, "Network")])], records(GATEWAY))
    assert express_route.routes_learned(probe)[0] == [
        "no route learned from a peer: nothing is advertised over the connection"]
    unconnected = _probe([learned_routes_route(GATEWAY, [route(OWN_SPACE, "Network")])], records(GATEWAY), connect=False)
    assert express_route.routes_learned(unconnected)[0] == []
    empty = _probe([learned_routes_route(GATEWAY, [])], records(GATEWAY), connect=False)
    assert express_route.routes_learned(empty)[0] == ["the gateway reports no route at all"]


def test_routes_learned_before_the_disaster_must_be_learned_again():
    baseline = {"routes-learned": {"from_peers": ["192.168.0.0/16", "172.16.0.0/12"]}}
    probe = _probe([learned_routes_route(GATEWAY, [route(OWN_SPACE, "Network"), ON_PREMISES])], records(GATEWAY),
                   baseline=baseline)
    assert express_route.routes_learned(probe)[0] == [
        "172.16.0.0/12 was learned from a peer before the disaster, not now"]
