"""The site-to-site VPN's checks, on Azure Resource Manager: the VPN gateway is Succeeded, its IPsec
connection to the on-premises site is Connected, and the gateway routes to the site's address space
(smoke_tests/gateways.py).

The secondary's gateway has new public addresses: the on-premises device must have been pre-staged
with them (components/vpn_gateway.py), or the connection never comes up.
"""

from __future__ import annotations

from smoke_tests import gateways
from smoke_tests.check import AZURE, TRANSPORT_DOUBLE, data, smoke
from smoke_tests.probe import ServiceProbe

COMPONENT = "vpn_gateway"
NO_EXAMPLE = TRANSPORT_DOUBLE + "{} body: no VPN gateway example in the specs kept here"


def gateway_provisioned(probe: ServiceProbe) -> dict:
    return gateways.gateway_provisioned(probe, "Vpn")


def connection_connected(probe: ServiceProbe) -> dict:
    connection = getattr(probe.settings, "connection", None)
    return gateways.connection_connected(
        probe, declared=bool(getattr(connection, "enabled", False)), switch="vpnGateway.connection.enabled",
        hint="the on-premises device must know this gateway's public addresses and the shared key")


def routes_learned(probe: ServiceProbe) -> tuple[list[str], dict]:
    """Judged against the routes peers advertised before the disaster (the baseline) when recorded;
    otherwise, with the connection on, every range of the on-premises site (dataplatform:vpnGateway.
    onPremises.addressSpace) among the gateway's routes: without BGP they are the local network
    gateway's static prefixes, origin Network (verify against a live gateway)."""
    facts = gateways.learned_routes(probe)
    settings = probe.settings
    connected = bool(getattr(getattr(settings, "connection", None), "enabled", False))
    site = getattr(settings, "on_premises", None)
    required = [str(prefix) for prefix in getattr(site, "address_space", ())] if connected else []
    return gateways.judge_routes(facts, probe.baseline.get("routes-learned"), required), facts


CHECKS = (
    smoke(COMPONENT, "gateway-provisioned", gateway_provisioned, AZURE, plane="management",
          tested_against=NO_EXAMPLE.format("a virtual network gateway GET")),
    smoke(COMPONENT, "connection-connected", connection_connected, AZURE, plane="management",
          tested_against=NO_EXAMPLE.format("a gateway connection GET")),
    data(COMPONENT, "routes-learned", routes_learned, AZURE, plane="management",
         tested_against=NO_EXAMPLE.format("a getLearnedRoutes")),
)
