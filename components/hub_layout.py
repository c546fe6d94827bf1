"""The hub's address plan: the subnets carved from a stack's address space, and their names.

Plain arithmetic, no Pulumi: stacks/config.py checks a stack's address space with it offline, and the
connectivity component declares the subnets from it.
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass
from itertools import islice

# Azure requires these exact subnet names for a firewall and a VPN/ExpressRoute gateway.
FIREWALL_SUBNET = "AzureFirewallSubnet"
GATEWAY_SUBNET = "GatewaySubnet"
DATA_SUBNET = "data"
PRIVATE_ENDPOINT_SUBNET = "private-endpoints"
# The machine that runs drctl on the day, when it sits in the hub (components/runner.py).
RUNNER_SUBNET = "runner"


@dataclass(frozen=True)
class HubLayout:
    """The hub's subnets, carved from the stack's address space."""

    data: ipaddress.IPv4Network
    private_endpoints: ipaddress.IPv4Network
    firewall: ipaddress.IPv4Network
    gateway: ipaddress.IPv4Network

    @property
    def firewall_private_ip(self) -> str:
        # Azure keeps the first four addresses of every subnet (network, gateway, two for DNS), and a
        # firewall's frontend takes the first free one. Knowing it up front lets the route table be
        # created without waiting for (or cycling through) the firewall, and be checked offline.
        return str(self.firewall.network_address + 4)


def carve_hub(address_space: str) -> HubLayout:
    """First /24 for data, second for private endpoints, then /26 firewall and /27 gateway.

    /26 is the size Azure Firewall requires (room to scale out); /27 is the smallest GatewaySubnet
    Microsoft recommends. Everything fits in a /22, the smallest space stacks/config.py accepts.
    """
    space = ipaddress.ip_network(address_space, strict=True)
    if space.version != 4 or space.prefixlen > 22:
        raise ValueError(f"{address_space}: the hub needs an IPv4 /22 or larger")
    data, endpoints, infra = islice(space.subnets(new_prefix=24), 3)
    firewall, rest = islice(infra.subnets(new_prefix=26), 2)
    gateway = next(rest.subnets(new_prefix=27))
    return HubLayout(data=data, private_endpoints=endpoints, firewall=firewall, gateway=gateway)
