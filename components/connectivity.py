"""Connectivity: the regional hub network, its firewall and the private DNS zones of the data services.

Each stack has its own address space (checked not to overlap the paired stack's in stacks/config.py),
so the two hubs can be peered or both connected on-premises at the same time.
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass
from itertools import islice

import pulumi
from pulumi_azure_native import network, privatedns

from components import naming
from components.profile import (
    Dependency,
    DRProfile,
    Estimates,
    RecoveryAction,
    Responsibility,
    SeedFacts,
    register,
)

TYPE_TOKEN = "dataplatform:connectivity:Connectivity"

PROFILE = register(
    TYPE_TOKEN,
    DRProfile(
        key="connectivity",
        title="Connectivity: hub VNet, NSGs, route table, Azure Firewall, private DNS zones",
        stateful=False,
        recovery_action=RecoveryAction.REDEPLOY,
        smoke_checks=("vnet-subnets-present", "firewall-provisioned", "private-dns-zones-linked"),
        data_checks=(),
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
    ),
)

# Azure requires these exact subnet names for a firewall and a VPN/ExpressRoute gateway.
FIREWALL_SUBNET = "AzureFirewallSubnet"
GATEWAY_SUBNET = "GatewaySubnet"
DATA_SUBNET = "data"
PRIVATE_ENDPOINT_SUBNET = "private-endpoints"

# Private Link zones of the services the platform runs (one per sub-resource that gets an endpoint).
# https://learn.microsoft.com/azure/private-link/private-endpoint-dns
PRIVATE_DNS_ZONES: dict[str, str] = {
    "blob": "privatelink.blob.core.windows.net",
    "dfs": "privatelink.dfs.core.windows.net",
    "postgres": "privatelink.postgres.database.azure.com",
    "servicebus": "privatelink.servicebus.windows.net",  # Event Hubs
    "vaultcore": "privatelink.vaultcore.azure.net",  # Key Vault
    "datafactory": "privatelink.datafactory.azure.net",
}


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


def _nsg_rules(allow_vnet_inbound: bool) -> list[network.SecurityRuleArgs]:
    # The deny sits at the last custom priority: it overrides Azure's default AllowVnetInBound and
    # AllowAzureLoadBalancerInBound (65000+), so anything inbound has to be opened on purpose.
    deny = _inbound("deny-all-inbound", 4096, "Deny", "*", "*")
    if not allow_vnet_inbound:
        return [deny]
    # Private endpoints must stay reachable from inside the network (hub, peered spokes, VPN).
    return [_inbound("allow-vnet-inbound", 4000, "Allow", "VirtualNetwork", "VirtualNetwork"), deny]


@dataclass(frozen=True)
class ConnectivityArgs:
    location: str
    prefix: str
    name_suffix: str
    resource_group_name: pulumi.Input[str]
    address_space: str
    firewall: bool = True


class Connectivity(pulumi.ComponentResource):
    """Hub VNet with firewall-routed data subnet and the Private Link DNS zones, for one region."""

    def __init__(self, name: str, args: ConnectivityArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__(TYPE_TOKEN, name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        prefix, suffix, location, group = args.prefix, args.name_suffix, args.location, args.resource_group_name
        self.layout = carve_hub(args.address_space)

        # NSGs only on subnets that accept them: Azure refuses an NSG on AzureFirewallSubnet and
        # GatewaySubnet (https://learn.microsoft.com/azure/firewall/firewall-faq).
        self.nsgs = {
            role: network.NetworkSecurityGroup(
                f"{name}-nsg-{role}",
                network_security_group_name=naming.nsg_name(prefix, role, suffix),
                resource_group_name=group,
                location=location,
                security_rules=_nsg_rules(allow_vnet_inbound=role == PRIVATE_ENDPOINT_SUBNET),
                opts=child,
            )
            for role in (DATA_SUBNET, PRIVATE_ENDPOINT_SUBNET)
        }

        self.route_table: network.RouteTable | None = None
        if args.firewall:
            self.route_table = network.RouteTable(
                f"{name}-rt",
                route_table_name=naming.route_table_name(prefix, suffix),
                resource_group_name=group,
                location=location,
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

        # Subnets inline: mixing inline subnets with standalone network.Subnet resources makes each
        # update fight the other (azure-native VirtualNetwork docs).
        self.vnet = network.VirtualNetwork(
            f"{name}-vnet",
            virtual_network_name=naming.vnet_name(prefix, suffix),
            resource_group_name=group,
            location=location,
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
            ],
            opts=child,
        )
        # A subnet's id is its VNet's id plus /subnets/<name>; no need to wait for the subnets list.
        self.subnet_ids: dict[str, pulumi.Output[str]] = {
            subnet: pulumi.Output.concat(self.vnet.id, "/subnets/", subnet)
            for subnet in (DATA_SUBNET, PRIVATE_ENDPOINT_SUBNET, FIREWALL_SUBNET, GATEWAY_SUBNET)
        }

        self.firewall: network.AzureFirewall | None = None
        self.firewall_private_ip: str | None = None
        if args.firewall:
            self._deploy_firewall(name, args, child)

        self.dns_zones: dict[str, privatedns.PrivateZone] = {}
        for key, zone in PRIVATE_DNS_ZONES.items():
            # Private DNS zones are global resources: Azure only accepts the location 'Global'.
            self.dns_zones[key] = privatedns.PrivateZone(
                f"{name}-dns-{key}",
                private_zone_name=zone,
                resource_group_name=group,
                location="Global",
                opts=child,
            )
            privatedns.VirtualNetworkLink(
                f"{name}-dns-{key}-link",
                virtual_network_link_name=naming.vnet_link_name(prefix, key, suffix),
                private_zone_name=self.dns_zones[key].name,
                resource_group_name=group,
                location="Global",
                virtual_network=privatedns.SubResourceArgs(id=self.vnet.id),
                # Endpoint records are written by the private endpoints' DNS zone groups, not by VMs.
                registration_enabled=False,
                opts=child,
            )

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

    def _deploy_firewall(self, name: str, args: ConnectivityArgs, child: pulumi.ResourceOptions) -> None:
        prefix, suffix, location, group = args.prefix, args.name_suffix, args.location, args.resource_group_name
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
            threat_intel_mode="Alert",
            opts=child,
        )
        self.firewall = network.AzureFirewall(
            f"{name}-fw",
            azure_firewall_name=naming.firewall_name(prefix, suffix),
            resource_group_name=group,
            location=location,
            sku=network.AzureFirewallSkuArgs(name="AZFW_VNet", tier="Standard"),
            firewall_policy=network.SubResourceArgs(id=policy.id),
            ip_configurations=[
                network.AzureFirewallIPConfigurationArgs(
                    name="ipconfig",
                    subnet=network.SubResourceArgs(id=self.subnet_ids[FIREWALL_SUBNET]),
                    public_ip_address=network.SubResourceArgs(id=public_ip.id),
                )
            ],
            opts=child,
        )
        self.firewall_private_ip = self.layout.firewall_private_ip
