"""Hand-written ARM bodies for a virtual network gateway, its connection and its learned routes, as
the Microsoft.Network REST API returns them: the specs kept here hold no example of these operations,
so the gateway checks' tests answer with these at the transport (the real SDK pipelines run)."""

from __future__ import annotations

from typing import Any

from smoke_tests import gateways
from tests.azure_fixtures import Route
from tests.smoke_tests.probe_support import arm_id, deployed

GROUP = "rg-dp-connectivity-sec"
OWN_SPACE = "10.20.0.0/22"  # the hub's address space: the gateway's own, configured route


def gateway_id(name: str) -> str:
    return arm_id("Microsoft.Network/virtualNetworkGateways", name, GROUP)


def connection_id(name: str) -> str:
    return arm_id("Microsoft.Network/connections", name, GROUP)


def gateway_route(name: str, gateway_type: str, state: str = "Succeeded") -> Route:
    body = {"id": gateway_id(name), "name": name, "type": "Microsoft.Network/virtualNetworkGateways",
            "location": "westus", "properties": {"provisioningState": state, "gatewayType": gateway_type,
                                                 "sku": {"name": "VpnGw1", "tier": "VpnGw1"}, "activeActive": False}}
    return Route("GET", f"(?i){gateway_id(name)}", body=body)


def connection_route(name: str, connection_type: str, status: str = "Connected", state: str = "Succeeded") -> Route:
    body = {"id": connection_id(name), "name": name, "type": "Microsoft.Network/connections", "location": "westus",
            "properties": {"provisioningState": state, "connectionType": connection_type, "connectionStatus": status,
                           "ingressBytesTransferred": 1024, "egressBytesTransferred": 2048}}
    return Route("GET", f"(?i){connection_id(name)}", body=body)


def route(network: str, origin: str, next_hop: str = "") -> dict[str, Any]:
    return {"localAddress": "10.20.3.4", "network": network, "nextHop": next_hop, "sourcePeer": next_hop or "10.20.3.4",
            "origin": origin, "asPath": "65001" if origin == "EBgp" else "", "weight": 32768}


def learned_routes_route(name: str, routes: list[dict[str, Any]]) -> Route:
    # The POST is a long-running operation; a 200 with the body ends it at once.
    return Route("POST", f"(?i){gateway_id(name)}/getLearnedRoutes", body={"value": routes})


def records(gateway: str, connection: str | None = None) -> list[dict[str, Any]]:
    found = [deployed(gateways.GATEWAY, gateway_id(gateway))]
    if connection:
        found.append(deployed(gateways.CONNECTION, connection_id(connection)))
    return found
