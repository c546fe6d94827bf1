"""The checks a virtual network gateway's components share (ExpressRoute, site-to-site VPN): the gateway
is provisioned, its connection is Connected, and it has learned the routes it should.

Learned routes come from the gateway itself (Virtual Network Gateways - Get Learned Routes, a
long-running POST, through azure-mgmt-network as its users call it). Each route says where it came
from: `origin` Network for what the gateway knows by configuration (its VNet's space, a local
network gateway's static prefixes), EBgp/IBgp for what a peer advertised.
https://learn.microsoft.com/rest/api/network-gateway/virtual-network-gateways/get-learned-routes
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from smoke_tests.arm_state import judge, name_of, properties
from smoke_tests.check import PermanentError, TransientError
from smoke_tests.probe import ServiceProbe

GATEWAY = "azure-native:network:VirtualNetworkGateway"
CONNECTION = "azure-native:network:VirtualNetworkGatewayConnection"
# A new connection reads Unknown, then NotConnected until the far side answers (an IPsec peer that
# is pre-staged, a circuit's private peering): worth waiting for within the step's retry budget.
CONNECTION_COMING = frozenset({"Unknown", "Connecting", "NotConnected"})
CONFIGURED = "Network"  # the origin of a route the gateway holds by configuration, not from a peer
LEARN_TIMEOUT_S = 180


def gateway_provisioned(probe: ServiceProbe, gateway_type: str) -> dict:
    """The deployed gateway is Succeeded and of the type the component declares."""
    gateway = probe.resource(GATEWAY)
    got = properties(probe.get(gateway))
    what = f"{probe.component}: gateway {name_of(str(gateway['id']))}"
    evidence = {"id": gateway["id"], "provisioningState": got.get("provisioningState"),
                "gatewayType": got.get("gatewayType"), "sku": (got.get("sku") or {}).get("name"),
                "activeActive": got.get("activeActive")}
    judge(what, "provisioningState", evidence["provisioningState"], evidence)
    if evidence["gatewayType"] != gateway_type:
        raise PermanentError(f"{what}: gatewayType {evidence['gatewayType']}, not {gateway_type}", evidence)
    return {"check": "gateway-provisioned", "ok": True, **evidence}


def connection_connected(probe: ServiceProbe, *, declared: bool, switch: str, hint: str) -> dict:
    """The connection's connectionStatus is Connected. `declared`: the stack's settings ask for a
    connection (`switch` names the setting); when they do not, there is none to judge, and the
    evidence says so rather than passing for a connection."""
    connections = probe.resources_of(CONNECTION)
    if not connections:
        if declared:
            raise PermanentError(f"{probe.component}: {switch} is on but the deploy recorded no connection",
                                 {"setting": switch})
        gateway = probe.resource(GATEWAY)
        return {"check": "connection-connected", "ok": True, "connection": None, "gateway": gateway["id"],
                "note": f"{switch} is off: the stack declares no connection, so none was checked"}
    connection = connections[0]
    got = properties(probe.get(connection))
    what = f"{probe.component}: connection {name_of(str(connection['id']))}"
    evidence = {"id": connection["id"], "connectionType": got.get("connectionType"),
                "provisioningState": got.get("provisioningState"), "connectionStatus": got.get("connectionStatus"),
                "ingressBytesTransferred": got.get("ingressBytesTransferred"),
                "egressBytesTransferred": got.get("egressBytesTransferred")}
    judge(what, "provisioningState", evidence["provisioningState"], evidence)
    judge(what, "connectionStatus", evidence["connectionStatus"], evidence, want=frozenset({"Connected"}),
          coming=CONNECTION_COMING, hint=hint)
    return {"check": "connection-connected", "ok": True, **evidence}


def learned_routes(probe: ServiceProbe) -> dict[str, Any]:
    """The gateway's routes as facts: every network it knows, and those a peer advertised."""
    from azure.mgmt.network import NetworkManagementClient

    gateway = probe.resource(GATEWAY)
    parts = str(gateway["id"]).split("/")
    subscription, group, name = parts[2], parts[4], parts[-1]
    client = probe.client(NetworkManagementClient, subscription_id=subscription)
    what = f"{probe.component}: learned routes of gateway {name}"
    poller = probe.call(what, client.virtual_network_gateways.begin_get_learned_routes, group, name)
    result = probe.call(what, poller.result, timeout=LEARN_TIMEOUT_S)
    if result is None or not poller.done():
        raise TransientError(f"{what}: Azure had not answered after {LEARN_TIMEOUT_S} s")
    routes = list(result.value or [])
    return {"gateway": gateway["id"], "count": len(routes),
            "networks": sorted({str(r.network) for r in routes if r.network}),
            "from_peers": sorted({str(r.network) for r in routes if r.network and r.origin != CONFIGURED})}


def judge_routes(facts: dict[str, Any], baseline: Any, required: Iterable[str] = (),
                 need_peer_routes: bool = False) -> list[str]:
    """Mismatches in words. With a baseline (the same check's facts recorded before the disaster), every
    route a peer advertised then must be learned now (the gateway's own VNet space differs by region, so
    only peers' routes are compared). Without one: the gateway knows some route, each of `required`,
    and, when `need_peer_routes`, at least one route a peer advertised."""
    mismatches = []
    if isinstance(baseline, dict) and baseline.get("from_peers") is not None:
        lost = sorted(set(baseline["from_peers"]) - set(facts["from_peers"]))
        mismatches += [f"{network} was learned from a peer before the disaster, not now" for network in lost]
        return mismatches
    if not facts["count"]:
        mismatches.append("the gateway reports no route at all")
    mismatches += [f"{network} is not among the gateway's routes" for network in sorted(set(required) - set(facts["networks"]))]
    if need_peer_routes and not facts["from_peers"]:
        mismatches.append("no route learned from a peer: nothing is advertised over the connection")
    return mismatches
