"""Connectivity: the regional hub network, its firewall and the private DNS zones of the data services.

Each stack has its own address space (checked not to overlap the paired stack's in stacks/rules.py),
so the two hubs can be peered or both connected on-premises at the same time.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pulumi
from pulumi_azure_native import network, privatedns

from components import naming
from components.firewall import hub_firewall
from components.hub_layout import (
    DATA_SUBNET,
    FIREWALL_SUBNET,
    GATEWAY_SUBNET,
    PRIVATE_ENDPOINT_SUBNET,
    RUNNER_SUBNET,
    carve_hub,
)
from components.hub_nsg import nsg_rules
from components.private_endpoint import PRIVATE_DNS_ZONES, zone_keys, zone_name
from components.profile import (
    Dependency,
    DRProfile,
    Estimates,
    RecoveryAction,
    Responsibility,
    SeedFacts,
)
from components.runner import open_runner
from components.spec import Platform, Posture, ServiceSpec, StackFacts
from smoke_tests.connectivity import CHECKS

TYPE_TOKEN = "dataplatform:connectivity:Connectivity"

PROFILE = DRProfile(
    key="connectivity",
    title="Connectivity: hub VNet, NSGs, route table, Azure Firewall, private DNS zones",
    stateful=False,
    recovery_action=RecoveryAction.REDEPLOY,
    checks=CHECKS,
    depends_on=(Dependency("foundation", "the hub is deployed into the connectivity resource group"),),
    priority=1,
    # Azure Firewall dominates: about 10 minutes, after the VNet and its public IP.
    estimates=Estimates(deploy=720, smoke=60),
    seed=(
        SeedFacts(
            service="Virtual Networks, including Subnets, UDR & NSGs",
            component_responsibility=Responsibility.CUSTOMER,
            workload_responsibility=Responsibility.CUSTOMER,
            sku_selected="N/A",
            uplift_options=("Replicate the VNet into the secondary, paired region ahead of time",),
        ),
        SeedFacts(
            service="Azure Firewall",
            component_responsibility=Responsibility.CUSTOMER,
            workload_responsibility=Responsibility.CUSTOMER,
            sku_selected="Standard",
            uplift_options=("Highly available by design; deploy across Availability Zones for more",),
        ),
    ),
    notes=("Firewall rules and routes are code: the secondary gets the same policy with its own addresses.",),
)

# Stack outputs, read by drctl and the smoke tests.
VNET_ID_OUTPUT = "vnetId"
VNET_NAME_OUTPUT = "vnetName"
SUBNET_IDS_OUTPUT = "subnetIds"
FIREWALL_PRIVATE_IP_OUTPUT = "firewallPrivateIp"  # absent when services.firewall is off
PRIVATE_DNS_ZONE_IDS_OUTPUT = "privateDnsZoneIds"


@dataclass(frozen=True)
class ConnectivityArgs:
    location: str
    prefix: str
    name_suffix: str
    resource_group_name: pulumi.Input[str]
    address_space: str
    firewall: bool = True
    runner_prefix: str | None = None  # a runner of kind hub (components/runner.py): its subnet here
    # The privatelink zones to hold (components/private_endpoint.zone_keys): every one by default.
    zones: tuple[str, ...] = tuple(PRIVATE_DNS_ZONES)


class Connectivity(pulumi.ComponentResource):
    """Hub VNet with firewall-routed data subnet and the Private Link DNS zones, for one region."""

    def __init__(self, name: str, args: ConnectivityArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__(TYPE_TOKEN, name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        self.layout = carve_hub(args.address_space)
        self.nsgs = self._nsgs(name, args, child)
        self.route_table = self._route_table(name, args, child) if args.firewall else None
        self.vnet = self._vnet(name, args, child)
        # A subnet's id is its VNet's id plus /subnets/<name>; no need to wait for the subnets list.
        self.subnet_ids: dict[str, pulumi.Output[str]] = {
            subnet: pulumi.Output.concat(self.vnet.id, "/subnets/", subnet)
            for subnet in (DATA_SUBNET, PRIVATE_ENDPOINT_SUBNET, FIREWALL_SUBNET, GATEWAY_SUBNET, RUNNER_SUBNET)
        }

        self.firewall: network.AzureFirewall | None = None
        self.firewall_private_ip: str | None = None
        if args.firewall:
            self._deploy_firewall(name, args, child)
        self.dns_zones = self._dns_zones(name, args, child)

        self.vnet_id: pulumi.Output[str] = self.vnet.id
        self.vnet_name: pulumi.Output[str] = self.vnet.name
        self.private_dns_zone_ids: dict[str, pulumi.Output[str]] = {k: z.id for k, z in self.dns_zones.items()}
        self.register_outputs(
            {
                "vnet_id": self.vnet_id,
                "vnet_name": self.vnet_name,
                "subnet_ids": self.subnet_ids,
                "firewall_private_ip": self.firewall_private_ip,
                "private_dns_zone_ids": self.private_dns_zone_ids,
            }
        )

    def _nsgs(self, name: str, args: ConnectivityArgs, child: pulumi.ResourceOptions) -> dict[str, Any]:
        # NSGs only on subnets that accept them: Azure refuses an NSG on AzureFirewallSubnet and
        # GatewaySubnet (https://learn.microsoft.com/azure/firewall/firewall-faq).
        return {
            role: network.NetworkSecurityGroup(
                f"{name}-nsg-{role}",
                network_security_group_name=naming.nsg_name(args.prefix, role, args.name_suffix),
                resource_group_name=args.resource_group_name,
                location=args.location,
                security_rules=nsg_rules(allow_vnet_inbound=role == PRIVATE_ENDPOINT_SUBNET),
                opts=child,
            )
            for role in (DATA_SUBNET, PRIVATE_ENDPOINT_SUBNET)
        }

    def _route_table(self, name: str, args: ConnectivityArgs, child: pulumi.ResourceOptions) -> network.RouteTable:
        return network.RouteTable(
            f"{name}-rt",
            route_table_name=naming.route_table_name(args.prefix, args.name_suffix),
            resource_group_name=args.resource_group_name,
            location=args.location,
            # A default route learned over BGP (VPN/ExpressRoute) must not bypass the firewall.
            disable_bgp_route_propagation=True,
            routes=[
                network.RouteArgs(
                    name="default-via-firewall",
                    address_prefix="0.0.0.0/0",
                    next_hop_type="VirtualAppliance",
                    next_hop_ip_address=self.layout.firewall_private_ip,
                )
            ],
            opts=child,
        )

    def _vnet(self, name: str, args: ConnectivityArgs, child: pulumi.ResourceOptions) -> network.VirtualNetwork:
        # Subnets inline: mixing inline subnets with standalone network.Subnet resources makes each
        # update fight the other (azure-native VirtualNetwork docs).
        return network.VirtualNetwork(
            f"{name}-vnet",
            virtual_network_name=naming.vnet_name(args.prefix, args.name_suffix),
            resource_group_name=args.resource_group_name,
            location=args.location,
            address_space=network.AddressSpaceArgs(address_prefixes=[args.address_space]),
            subnets=[
                network.SubnetArgs(
                    name=DATA_SUBNET,
                    address_prefix=str(self.layout.data),
                    network_security_group=network.NetworkSecurityGroupArgs(id=self.nsgs[DATA_SUBNET].id),
                    route_table=network.RouteTableArgs(id=self.route_table.id) if self.route_table else None,
                    # Egress goes through the firewall (or nowhere), never Azure's implicit outbound IP.
                    default_outbound_access=False,
                ),
                network.SubnetArgs(
                    name=PRIVATE_ENDPOINT_SUBNET,
                    address_prefix=str(self.layout.private_endpoints),
                    network_security_group=network.NetworkSecurityGroupArgs(
                        id=self.nsgs[PRIVATE_ENDPOINT_SUBNET].id
                    ),
                    # Without this, NSG rules do not apply to private endpoints at all.
                    private_endpoint_network_policies="NetworkSecurityGroupEnabled",
                    default_outbound_access=False,
                ),
                network.SubnetArgs(name=FIREWALL_SUBNET, address_prefix=str(self.layout.firewall)),
                network.SubnetArgs(name=GATEWAY_SUBNET, address_prefix=str(self.layout.gateway)),
                *self._runner_subnet(args),
            ],
            opts=child,
        )

    def _runner_subnet(self, args: ConnectivityArgs) -> list[network.SubnetArgs]:
        # Like the data subnet: egress only through the firewall, where the runner's rules are.
        if args.runner_prefix is None:
            return []
        return [network.SubnetArgs(
            name=RUNNER_SUBNET, address_prefix=args.runner_prefix, default_outbound_access=False,
            network_security_group=network.NetworkSecurityGroupArgs(id=self.nsgs[DATA_SUBNET].id),
            route_table=network.RouteTableArgs(id=self.route_table.id) if self.route_table else None)]

    def _dns_zones(self, name: str, args: ConnectivityArgs, child: pulumi.ResourceOptions) -> dict[str, Any]:
        zones: dict[str, privatedns.PrivateZone] = {}
        for key in args.zones:
            # Private DNS zones are global resources: Azure only accepts the location 'Global'.
            zones[key] = privatedns.PrivateZone(
                f"{name}-dns-{key}",
                private_zone_name=zone_name(key, args.location),
                resource_group_name=args.resource_group_name,
                location="Global",
                opts=child,
            )
            privatedns.VirtualNetworkLink(
                f"{name}-dns-{key}-link",
                virtual_network_link_name=naming.vnet_link_name(args.prefix, key, args.name_suffix),
                private_zone_name=zones[key].name,
                resource_group_name=args.resource_group_name,
                location="Global",
                virtual_network=privatedns.SubResourceArgs(id=self.vnet.id),
                # Endpoint records are written by the private endpoints' DNS zone groups, not by VMs.
                registration_enabled=False,
                opts=child,
            )
        return zones

    def _deploy_firewall(self, name: str, args: ConnectivityArgs, child: pulumi.ResourceOptions) -> None:
        self.firewall = hub_firewall(name, prefix=args.prefix, suffix=args.name_suffix, location=args.location,
                                     group=args.resource_group_name, subnet_id=self.subnet_ids[FIREWALL_SUBNET],
                                     child=child)
        self.firewall_private_ip = self.layout.firewall_private_ip


def deploy(platform: Platform, settings: None) -> dict[str, object]:
    """Hub VNet, NSGs, firewall and route table (when switched on), private DNS zones."""
    group = platform.resource_groups["connectivity"]
    hub = Connectivity(
        "connectivity",
        ConnectivityArgs(
            location=platform.region,
            prefix=platform.prefix,
            name_suffix=platform.suffix,
            resource_group_name=group,
            address_space=platform.config.address_space,
            firewall=platform.config.enabled("firewall"),
            runner_prefix=(runner.network.address_prefix
                           if (runner := platform.config.runner) and runner.network.kind == "hub"
                           and platform.config.is_secondary else None),
            zones=zone_keys(platform.config.enabled),
        ),
    )
    if hub.firewall is not None:
        platform.firewall_policy_id = hub.firewall.firewall_policy.apply(lambda policy: policy.id if policy else "")
    open_runner(platform, hub)
    platform.vnet_id, platform.subnet_ids = hub.vnet_id, hub.subnet_ids
    platform.private_dns_zone_ids, platform.private_endpoint_subnet = hub.private_dns_zone_ids, PRIVATE_ENDPOINT_SUBNET
    outputs: dict[str, object] = {
        VNET_ID_OUTPUT: hub.vnet_id,
        VNET_NAME_OUTPUT: hub.vnet_name,
        SUBNET_IDS_OUTPUT: hub.subnet_ids,
        PRIVATE_DNS_ZONE_IDS_OUTPUT: hub.private_dns_zone_ids,
    }
    if hub.firewall_private_ip is not None:
        outputs[FIREWALL_PRIVATE_IP_OUTPUT] = hub.firewall_private_ip
    # Key Vault's network ACL denies by default: its data plane is reached through the hub. Its
    # endpoint belongs to the network layer: parented to the hub, it does not hold the foundation's
    # deploy step until the VNet exists (the plan deploys foundation first).
    if platform.key_vault_id is not None:
        platform.open_privately(hub, "key_vault", group, platform.key_vault_id, ("vault", "vaultcore"))
    return outputs


def posture(config: StackFacts, settings: None) -> tuple[Posture, ...]:
    firewall = "Standard" if config.enabled("firewall") else "not deployed"
    # The VNet is replicated by construction: the paired stack declares the same hub in its region.
    return (Posture(sku="N/A", uplift_enabled=(True,)), Posture(sku=firewall, uplift_enabled=(False,)))


SERVICE = ServiceSpec(
    key="connectivity",
    type_token=TYPE_TOKEN,
    profile=PROFILE,
    settings=None,
    deploy=deploy,
    posture=posture,
    switch="always",
    physical_names={
        "azure-native:network:VirtualNetwork": "virtualNetworkName",
        "azure-native:network:NetworkSecurityGroup": "networkSecurityGroupName",
        "azure-native:network:RouteTable": "routeTableName",
        "azure-native:network:AzureFirewall": "azureFirewallName",
        "azure-native:network:PublicIPAddress": "publicIpAddressName",
        "azure-native:network:FirewallPolicy": "firewallPolicyName",
        "azure-native:privatedns:PrivateZone": "privateZoneName",
        "azure-native:privatedns:VirtualNetworkLink": "virtualNetworkLinkName",
    },
)
