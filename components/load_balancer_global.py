"""The cross-region (Global tier) load balancer: one anycast address in front of the regional public
load balancers of both stacks.

Facts (https://learn.microsoft.com/azure/load-balancer/cross-region-overview): public frontends and
backends only, TCP only, no probe of its own (it polls the regional ones), the rule's backend port
is the regional frontend port, created in a "home region" whose loss does not stop traffic.
"""

from __future__ import annotations

from typing import Literal

import pulumi
from pulumi_azure_native import network

from components import naming
from components.load_balancer_wiring import BACKEND, FRONTEND, single_rule_load_balancer
from components.public_ip import standard_public_ip

# Where a cross-region load balancer (and its Global public IP) can be created (verify: the list grows).
HomeRegion = Literal[
    "eastus2", "westus", "westeurope", "southeastasia", "centralus", "northeurope", "eastasia",
    "usgovvirginia", "ukwest", "uksouth",
]


def cross_region_load_balancer(
    name: str,
    *,
    prefix: str,
    suffix: str,
    subscription_id: pulumi.Input[str],
    resource_group_name: pulumi.Input[str],
    home_region: str,
    port: int,
    members: list[tuple[str, pulumi.Input[str]]],
    parent: pulumi.Resource,
) -> tuple[network.LoadBalancer, network.PublicIPAddress]:
    """The Global load balancer and its anycast address; `members` are the (region, frontend id) of
    the regional load balancers in its backend pool."""
    lb = naming.check_name("load balancer", f"lbg-{prefix}-{suffix}", naming.GENERAL_NAME)
    # Anycast from every participating region; created in the home region, like the load balancer.
    public_ip = standard_public_ip(
        f"{name}-global-pip",
        ip_name=f"pip-{lb}",
        resource_group_name=resource_group_name,
        location=home_region,
        zones=None,
        parent=parent,
        tier="Global",
    )
    pool = network.BackendAddressPoolArgs(
        name=BACKEND,
        load_balancer_backend_addresses=[
            network.LoadBalancerBackendAddressArgs(
                name=region, load_balancer_frontend_ip_configuration=network.SubResourceArgs(id=frontend_id)
            )
            for region, frontend_id in members
        ],
    )
    # No probe (it polls the regional load balancers); the backend port is their frontend port.
    load_balancer = single_rule_load_balancer(
        f"{name}-global-lb",
        lb=lb,
        subscription_id=subscription_id,
        resource_group_name=resource_group_name,
        location=home_region,
        tier="Global",
        frontend=network.FrontendIPConfigurationArgs(
            name=FRONTEND, public_ip_address=network.PublicIPAddressArgs(id=public_ip.id)
        ),
        pool=pool,
        protocol="Tcp",
        port=port,
        backend_port=port,
        probe=None,
        parent=parent,
    )
    return load_balancer, public_ip
