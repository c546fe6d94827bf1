"""The hub's Azure Firewall: its public IP, its policy and the firewall itself.

Standard tier, no zones: the seeds' selection for Contoso; zones are the listed uplift. Egress from
the hub's data subnet is routed through it (components/connectivity.py's route table).
"""

from __future__ import annotations

import pulumi
from pulumi_azure_native import network

from components import naming


def hub_firewall(name: str, *, prefix: str, suffix: str, location: str, group: pulumi.Input[str],
                 subnet_id: pulumi.Input[str], child: pulumi.ResourceOptions) -> network.AzureFirewall:
    """Declare the firewall in the hub's AzureFirewallSubnet (`subnet_id`), with its IP and policy."""
    # A firewall needs a Standard, static public IP. No zones: the seeds' Standard selection;
    # zones are the listed uplift.
    public_ip = network.PublicIPAddress(
        f"{name}-fw-pip",
        public_ip_address_name=naming.firewall_public_ip_name(prefix, suffix),
        resource_group_name=group,
        location=location,
        sku=network.PublicIPAddressSkuArgs(name="Standard", tier="Regional"),
        public_ip_allocation_method="Static",
        opts=child,
    )
    # The policy is usable from any region, but its management plane lives in its resource
    # group's region, so each stack deploys its own copy.
    policy = network.FirewallPolicy(
        f"{name}-fw-policy",
        firewall_policy_name=naming.firewall_policy_name(prefix, suffix),
        resource_group_name=group,
        location=location,
        sku=network.FirewallPolicySkuArgs(tier="Standard"),
        # Deny, not only Alert: traffic to and from addresses and domains Microsoft's threat
        # intelligence knows to be malicious is dropped (and logged), not merely reported.
        # https://learn.microsoft.com/azure/firewall/threat-intel
        threat_intel_mode="Deny",
        opts=child,
    )
    return network.AzureFirewall(
        f"{name}-fw",
        azure_firewall_name=naming.firewall_name(prefix, suffix),
        resource_group_name=group,
        location=location,
        sku=network.AzureFirewallSkuArgs(name="AZFW_VNet", tier="Standard"),
        firewall_policy=network.SubResourceArgs(id=policy.id),
        ip_configurations=[
            network.AzureFirewallIPConfigurationArgs(
                name="ipconfig",
                subnet=network.SubResourceArgs(id=subnet_id),
                public_ip_address=network.SubResourceArgs(id=public_ip.id),
            )
        ],
        opts=child,
    )
