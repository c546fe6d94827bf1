"""Public IP addresses of the gateways and public load balancers, and how a gateway takes them.

Basic public IPs are retired: gateways and Standard load balancers take Standard, static addresses.
An address is as zone-redundant as its zones: the zone-redundant gateway SKUs and frontends need
all three, the others none.
"""

from __future__ import annotations

from collections.abc import Sequence

import pulumi
from pulumi_azure_native import network

from components import naming

ALL_ZONES = ["1", "2", "3"]


def standard_public_ip(
    resource_name: str,
    *,
    ip_name: str,
    resource_group_name: pulumi.Input[str],
    location: str,
    zones: list[str] | None,
    parent: pulumi.Resource,
    tier: str = "Regional",
) -> network.PublicIPAddress:
    """A static Standard address; tier Global is the anycast address of a cross-region load balancer."""
    return network.PublicIPAddress(
        resource_name,
        public_ip_address_name=naming.check_name("public ip address", ip_name),
        resource_group_name=resource_group_name,
        location=location,
        sku=network.PublicIPAddressSkuArgs(name="Standard", tier=tier),
        public_ip_allocation_method="Static",
        zones=zones,
        opts=pulumi.ResourceOptions(parent=parent),
    )


def gateway_ip_configurations(
    subnet_id: pulumi.Input[str], public_ips: Sequence[network.PublicIPAddress]
) -> list[network.VirtualNetworkGatewayIPConfigurationArgs]:
    """One configuration per public IP (an active-active gateway has two), all in the GatewaySubnet."""
    return [
        network.VirtualNetworkGatewayIPConfigurationArgs(
            name=f"ipconfig{index}",
            private_ip_allocation_method="Dynamic",
            subnet=network.SubResourceArgs(id=subnet_id),
            public_ip_address=network.SubResourceArgs(id=public_ip.id),
        )
        for index, public_ip in enumerate(public_ips, start=1)
    ]
