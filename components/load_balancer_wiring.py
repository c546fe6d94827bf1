"""A Standard load balancer as the platform declares it: one frontend, one backend pool, at most one
probe and one rule, for the regional load balancer and the cross-region (Global tier) one alike.

ARM takes the rule in the same request that creates the frontend, pool and probe, and the rule must
name them by id: their ids are built from names before Azure has created any of them.
"""

from __future__ import annotations

import pulumi
from pulumi_azure_native import network

FRONTEND = "frontend"
BACKEND = "backend"
PROBE = "health"


def child_id(subscription: pulumi.Input[str], group: pulumi.Input[str], lb: str, kind: str, name: str) -> pulumi.Output[str]:
    """Id of a load balancer's sub-resource (`kind` frontendIPConfigurations, backendAddressPools or probes)."""
    return pulumi.Output.concat(
        "/subscriptions/", subscription, "/resourceGroups/", group,
        "/providers/Microsoft.Network/loadBalancers/", lb, f"/{kind}/{name}",
    )


def single_rule_load_balancer(
    resource_name: str,
    *,
    lb: str,
    subscription_id: pulumi.Input[str],
    resource_group_name: pulumi.Input[str],
    location: str,
    tier: str,
    frontend: network.FrontendIPConfigurationArgs,
    pool: network.BackendAddressPoolArgs,
    protocol: str,
    port: int,
    backend_port: int,
    probe: network.ProbeArgs | None,
    parent: pulumi.Resource,
) -> network.LoadBalancer:
    def ref(kind: str, sub_name: str) -> network.SubResourceArgs:
        return network.SubResourceArgs(id=child_id(subscription_id, resource_group_name, lb, kind, sub_name))

    return network.LoadBalancer(
        resource_name,
        load_balancer_name=lb,
        resource_group_name=resource_group_name,
        location=location,
        sku=network.LoadBalancerSkuArgs(name="Standard", tier=tier),
        frontend_ip_configurations=[frontend],
        backend_address_pools=[pool],
        probes=[probe] if probe else None,
        load_balancing_rules=[
            network.LoadBalancingRuleArgs(
                name="default",
                protocol=protocol,
                frontend_port=port,
                backend_port=backend_port,
                frontend_ip_configuration=ref("frontendIPConfigurations", FRONTEND),
                backend_address_pool=ref("backendAddressPools", BACKEND),
                probe=ref("probes", PROBE) if probe else None,
                enable_tcp_reset=protocol == "Tcp",
                # Egress leaves through the hub firewall, never a load balancer's SNAT (a
                # cross-region rule has no such setting).
                disable_outbound_snat=True if tier == "Regional" else None,
            )
        ],
        opts=pulumi.ResourceOptions(parent=parent),
    )
