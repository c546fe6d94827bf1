"""ExpressRoute's checks, on Azure Resource Manager: the circuit is provisioned by its provider, the
ExpressRoute gateway is Succeeded, the gateway's connection to the circuit is Connected, and the
gateway has learned routes over it (smoke_tests/gateways.py).

The provider provisions the circuit out of band and takes days (components/express_route.py): a
circuit the provider has not provisioned is a verdict, not something to wait for on the day.
"""

from __future__ import annotations

from smoke_tests import gateways
from smoke_tests.arm_state import judge, name_of, properties
from smoke_tests.check import AZURE, TRANSPORT_DOUBLE, data, smoke
from smoke_tests.probe import ServiceProbe

COMPONENT = "express_route"
CIRCUIT = "azure-native:network:ExpressRouteCircuit"
NO_EXAMPLE = TRANSPORT_DOUBLE + "{} body: no ExpressRoute example in the specs kept here"


def circuit_provisioned(probe: ServiceProbe) -> dict:
    """provisioningState Succeeded, and the provider's side (serviceProviderProvisioningState) Provisioned."""
    circuit = probe.resource(CIRCUIT)
    got = properties(probe.get(circuit))
    what = f"{COMPONENT}: circuit {name_of(str(circuit['id']))}"
    provider = got.get("serviceProviderProperties") or {}
    evidence = {"id": circuit["id"], "provisioningState": got.get("provisioningState"),
                "circuitProvisioningState": got.get("circuitProvisioningState"),
                "serviceProviderProvisioningState": got.get("serviceProviderProvisioningState"),
                "serviceProviderName": provider.get("serviceProviderName"),
                "peeringLocation": provider.get("peeringLocation")}
    judge(what, "provisioningState", evidence["provisioningState"], evidence)
    judge(what, "serviceProviderProvisioningState", evidence["serviceProviderProvisioningState"], evidence,
          want=frozenset({"Provisioned"}), coming=frozenset({"Provisioning"}),
          hint="the provider provisions it from the circuit's service key, which takes days: order it before the day")
    return {"check": "circuit-provisioned", "ok": True, **evidence}


def gateway_provisioned(probe: ServiceProbe) -> dict:
    return gateways.gateway_provisioned(probe, "ExpressRoute")


def connection_connected(probe: ServiceProbe) -> dict:
    return gateways.connection_connected(
        probe, declared=bool(getattr(probe.settings, "connect_circuit", False)), switch="expressRoute.connectCircuit",
        hint="the circuit's private peering must be configured with the provider")


def routes_learned(probe: ServiceProbe) -> tuple[list[str], dict]:
    """Judged against the routes peers advertised before the disaster (the baseline) when recorded;
    otherwise, with the circuit connected, at least one route learned over it from on-premises, and
    without a connection at least the gateway's own."""
    facts = gateways.learned_routes(probe)
    connected = bool(getattr(probe.settings, "connect_circuit", False))
    return gateways.judge_routes(facts, probe.baseline.get("routes-learned"), need_peer_routes=connected), facts


CHECKS = (
    smoke(COMPONENT, "circuit-provisioned", circuit_provisioned, AZURE, plane="management",
          tested_against=NO_EXAMPLE.format("a circuit GET")),
    smoke(COMPONENT, "gateway-provisioned", gateway_provisioned, AZURE, plane="management",
          tested_against=NO_EXAMPLE.format("a virtual network gateway GET")),
    smoke(COMPONENT, "connection-connected", connection_connected, AZURE, plane="management",
          tested_against=NO_EXAMPLE.format("a gateway connection GET")),
    data(COMPONENT, "routes-learned", routes_learned, AZURE, plane="management",
         tested_against=NO_EXAMPLE.format("a getLearnedRoutes")),
)
