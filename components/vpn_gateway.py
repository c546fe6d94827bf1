"""Site-to-site VPN gateway: a route-based gateway in the hub's GatewaySubnet, the on-premises
site (local network gateway) and, when switched on, the IPsec connection between them.

The pre-shared key is never in code or config: this project's stack files hold no secrets
(stacks/config.py refuses them). The connection is created without one, Azure then holds a
generated key (verify), and the operator sets the agreed key out of band
(`az network vpn-connection shared-key update`); `ignore_changes` keeps `pulumi up` from
touching it afterwards. That is also why the connection is off by default.

The secondary's gateway gets NEW public IPs: the on-premises device must know them before the
day, so deploy the secondary's gateway (or at least read its addresses, exported here) ahead of
a failover and pre-stage the peer. https://learn.microsoft.com/azure/vpn-gateway/vpn-gateway-about-vpngateways
"""

from __future__ import annotations

from dataclasses import dataclass
from ipaddress import IPv4Address, IPv4Network
from typing import Any, Literal

import pulumi
from pulumi_azure_native import network
from pydantic import Field

from components import naming
from components.hub_addresses import check_outside_hub
from components.hub_layout import GATEWAY_SUBNET
from components.placement import Placement
from components.profile import Dependency, DRProfile, Estimates, RecoveryAction, Responsibility, SeedFacts
from components.public_ip import ALL_ZONES, gateway_ip_configurations, standard_public_ip
from components.spec import Platform, Posture, ServiceSettings, ServiceSpec, StackFacts
from smoke_tests.vpn_gateway import CHECKS

TYPE_TOKEN = "dataplatform:connectivity:VpnGateway"

PROFILE = DRProfile(
    key="vpn_gateway",
    title="Site-to-site VPN gateway, on-premises site and IPsec connection",
    stateful=False,
    recovery_action=RecoveryAction.REDEPLOY,
    checks=CHECKS,
    depends_on=(Dependency("connectivity", "the gateway sits in the hub's GatewaySubnet"),),
    priority=2,
    # Microsoft quotes 30-45 minutes to provision a VPN gateway; 45 minutes, the upper bound.
    estimates=Estimates(deploy=2700, smoke=120),
    seed=(
        SeedFacts(
            service="VPN Gateway",
            component_responsibility=Responsibility.CUSTOMER,
            workload_responsibility=Responsibility.CUSTOMER,
            sku_selected="Single Zone - VpnGw1",
            uplift_options=("Zone-redundant gateway with the VpnGw#AZ SKUs",),
        ),
    ),
    notes=(
        "The secondary's gateway gets new public IPs: pre-stage the on-premises peer with them "
        "(deploy the gateway ahead of time, or read vpnGatewayPublicIps) before a failover.",
        "The IPsec pre-shared key is set out of band, never in the stack files.",
        "Microsoft is moving VPN gateways onto the AZ SKUs; if a region refuses a new VpnGw1, "
        "use VpnGw1AZ (https://learn.microsoft.com/azure/vpn-gateway/about-gateway-skus).",
    ),
)

GatewaySku = Literal[
    "VpnGw1", "VpnGw2", "VpnGw3", "VpnGw4", "VpnGw5",
    "VpnGw1AZ", "VpnGw2AZ", "VpnGw3AZ", "VpnGw4AZ", "VpnGw5AZ",
]


class OnPremisesSite(ServiceSettings):
    # The public address of the on-premises VPN device, and the ranges reached through it.
    gateway_ip: IPv4Address = Field(alias="gatewayIp")
    address_space: tuple[IPv4Network, ...] = Field(alias="addressSpace", min_length=1)


class VpnConnectionSettings(ServiceSettings):
    # Off until the peer is configured and the key agreed: a connection without them only flaps.
    enabled: bool = False
    protocol: Literal["IKEv2", "IKEv1"] = "IKEv2"


class VpnGatewaySettings(ServiceSettings):
    # VpnGw1 is the seeds' selection; the AZ SKUs are the zone-redundant uplift.
    sku: GatewaySku = "VpnGw1"
    # Two instances, each with its own public IP, both carrying tunnels: a planned maintenance
    # or an instance failure no longer drops the tunnels for the 10-90 s of a standby takeover.
    active_active: bool = Field(False, alias="activeActive")
    on_premises: OnPremisesSite = Field(alias="onPremises")
    connection: VpnConnectionSettings = VpnConnectionSettings()


@dataclass(frozen=True)
class VpnGatewayArgs(Placement):
    gateway_subnet_id: pulumi.Input[str]
    settings: VpnGatewaySettings


def zone_redundant(sku: str) -> bool:
    return sku.endswith("AZ")


class VpnGateway(pulumi.ComponentResource):
    def __init__(self, name: str, args: VpnGatewayArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__(TYPE_TOKEN, name, None, opts)
        settings = args.settings
        # The AZ SKUs need zone-redundant addresses; the others must have none.
        zones = ALL_ZONES if zone_redundant(settings.sku) else None
        self.public_ips = [
            standard_public_ip(
                f"{name}-pip-{index}",
                ip_name=f"pip-vgw-{args.prefix}-{args.name_suffix}-{index}",
                resource_group_name=args.resource_group_name,
                location=args.location,
                zones=zones,
                parent=self,
            )
            for index in range(1, (2 if settings.active_active else 1) + 1)
        ]
        self.gateway = self._gateway(name, args)
        self.local_gateway = self._on_premises_site(name, args)
        self.connection: network.VirtualNetworkGatewayConnection | None = None
        if settings.connection.enabled:
            self.connection = self._connection(name, args)

        self.gateway_id: pulumi.Output[str] = self.gateway.id
        self.public_ip_addresses = pulumi.Output.all(*[ip.ip_address for ip in self.public_ips])
        self.register_outputs(
            {
                "gateway_id": self.gateway_id,
                "public_ip_addresses": self.public_ip_addresses,
                "connection_id": self.connection.id if self.connection else None,
            }
        )

    def _gateway(self, name: str, args: VpnGatewayArgs) -> network.VirtualNetworkGateway:
        settings = args.settings
        return network.VirtualNetworkGateway(
            f"{name}-gateway",
            virtual_network_gateway_name=naming.check_name(
                "vpn gateway", f"vgw-{args.prefix}-{args.name_suffix}", naming.GENERAL_NAME
            ),
            resource_group_name=args.resource_group_name,
            location=args.location,
            gateway_type="Vpn",
            # Route-based: required for IKEv2, BGP, active-active and coexistence with ExpressRoute.
            vpn_type="RouteBased",
            vpn_gateway_generation="Generation2",
            sku=network.VirtualNetworkGatewaySkuArgs(name=settings.sku, tier=settings.sku),
            active_active=settings.active_active,
            enable_bgp=False,
            ip_configurations=gateway_ip_configurations(args.gateway_subnet_id, self.public_ips),
            opts=pulumi.ResourceOptions(parent=self),
        )

    def _on_premises_site(self, name: str, args: VpnGatewayArgs) -> network.LocalNetworkGateway:
        site = args.settings.on_premises
        return network.LocalNetworkGateway(
            f"{name}-onprem",
            local_network_gateway_name=naming.check_name(
                "local network gateway", f"lgw-{args.prefix}-onprem-{args.name_suffix}", naming.GENERAL_NAME
            ),
            resource_group_name=args.resource_group_name,
            location=args.location,
            gateway_ip_address=str(site.gateway_ip),
            local_network_address_space=network.AddressSpaceArgs(
                address_prefixes=[str(prefix_) for prefix_ in site.address_space]
            ),
            opts=pulumi.ResourceOptions(parent=self),
        )

    def _connection(self, name: str, args: VpnGatewayArgs) -> network.VirtualNetworkGatewayConnection:
        return network.VirtualNetworkGatewayConnection(
            f"{name}-connection",
            virtual_network_gateway_connection_name=naming.check_name(
                "vpn connection", f"cn-{args.prefix}-onprem-{args.name_suffix}", naming.GENERAL_NAME
            ),
            resource_group_name=args.resource_group_name,
            location=args.location,
            connection_type="IPsec",
            connection_protocol=args.settings.connection.protocol,
            virtual_network_gateway1=network.VirtualNetworkGatewayArgs(id=self.gateway.id),
            local_network_gateway2=network.LocalNetworkGatewayArgs(id=self.local_gateway.id),
            # No shared_key: it is set out of band and must survive later updates.
            opts=pulumi.ResourceOptions(parent=self, ignore_changes=["shared_key"]),
        )


def deploy(context: Platform, settings: VpnGatewaySettings) -> dict[str, Any]:
    # A route to an on-premises range inside the hub would send hub traffic into the tunnel.
    check_outside_hub(
        context.config, settings.on_premises.address_space, "dataplatform:vpnGateway.onPremises.addressSpace"
    )
    gateway = VpnGateway(
        "vpn-gateway",
        VpnGatewayArgs.from_context(
            context, layer="connectivity", gateway_subnet_id=context.subnet_ids[GATEWAY_SUBNET], settings=settings
        ),
    )
    return {
        "vpnGatewayId": gateway.gateway_id,
        "vpnGatewayPublicIps": gateway.public_ip_addresses,
        "vpnGatewayConnectionEnabled": settings.connection.enabled,
    }


def posture(config: StackFacts, settings: VpnGatewaySettings | None) -> tuple[Posture, ...]:
    if settings is None:
        return (Posture(sku="none", uplift_enabled=(None,)),)
    return (Posture(sku=settings.sku, uplift_enabled=(zone_redundant(settings.sku),)),)


SERVICE = ServiceSpec(
    type_token=TYPE_TOKEN,
    key="vpnGateway",
    settings=VpnGatewaySettings,
    profile=PROFILE,
    deploy=deploy,
    posture=posture,
    example={
        "sku": "VpnGw1AZ",
        "activeActive": True,
        # Documentation addresses (RFC 5737 / RFC 1918): replace with the real site.
        "onPremises": {"gatewayIp": "203.0.113.10", "addressSpace": ["192.168.0.0/16"]},
        "connection": {"enabled": False},
    },
    physical_names={
        "azure-native:network:VirtualNetworkGateway": "virtualNetworkGatewayName",
        "azure-native:network:LocalNetworkGateway": "localNetworkGatewayName",
        "azure-native:network:VirtualNetworkGatewayConnection": "virtualNetworkGatewayConnectionName",
        "azure-native:network:PublicIPAddress": "publicIpAddressName",
    },
)
