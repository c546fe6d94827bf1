"""The hub's network security rules: deny everything inbound unless a subnet opens it on purpose."""

from __future__ import annotations

from pulumi_azure_native import network


def _inbound(name: str, priority: int, access: str, source: str, destination: str) -> network.SecurityRuleArgs:
    return network.SecurityRuleArgs(
        name=name,
        priority=priority,
        direction="Inbound",
        access=access,
        protocol="*",
        source_address_prefix=source,
        source_port_range="*",
        destination_address_prefix=destination,
        destination_port_range="*",
    )


def nsg_rules(allow_vnet_inbound: bool) -> list[network.SecurityRuleArgs]:
    # The deny sits at the last custom priority: it overrides Azure's default AllowVnetInBound and
    # AllowAzureLoadBalancerInBound (65000+), so anything inbound has to be opened on purpose.
    deny = _inbound("deny-all-inbound", 4096, "Deny", "*", "*")
    if not allow_vnet_inbound:
        return [deny]
    # Private endpoints must stay reachable from inside the network (hub, peered spokes, VPN).
    return [_inbound("allow-vnet-inbound", 4000, "Allow", "VirtualNetwork", "VirtualNetwork"), deny]
