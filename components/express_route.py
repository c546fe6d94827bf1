"""ExpressRoute: this region's circuit and the ExpressRoute gateway in the hub's GatewaySubnet.

Each stack orders its own circuit, at its own peering location: two circuits at two peering
locations is Microsoft's geo-redundant design for private peering, and the secondary's circuit
must already be provisioned by the provider when the day comes (an order takes days, not minutes).
https://learn.microsoft.com/azure/expressroute/designing-for-disaster-recovery-with-expressroute-privatepeering

What is out of band: the provider provisions the circuit with its service key (exported as a
secret), and private peering (VLAN, /30 subnets, ASN) is set up with the provider. Only then can
the gateway be connected (`connectCircuit`), hence off by default.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

import pulumi
from pulumi_azure_native import network
from pydantic import Field

from components import naming
from components.hub_layout import GATEWAY_SUBNET
from components.placement import Placement
from components.profile import Dependency, DRProfile, Estimates, RecoveryAction, Responsibility, SeedFacts
from components.public_ip import ALL_ZONES, gateway_ip_configurations, standard_public_ip
from components.spec import Platform, Posture, ServiceSettings, ServiceSpec, StackFacts
from smoke_tests.express_route import CHECKS

TYPE_TOKEN = "dataplatform:connectivity:ExpressRoute"

PROFILE = DRProfile(
    key="express_route",
    title="ExpressRoute circuit and ExpressRoute gateway",
    stateful=False,
    recovery_action=RecoveryAction.REDEPLOY,
    checks=CHECKS,
    depends_on=(Dependency("connectivity", "the gateway sits in the hub's GatewaySubnet"),),
    priority=2,
    # An ExpressRoute gateway takes up to 45 minutes to create (Microsoft's figure); the
    # circuit resource is quick, but the provider's provisioning is days and must predate the day.
    estimates=Estimates(deploy=2700, smoke=120),
    seed=(
        SeedFacts(
            service="ExpressRoute Circuit",
            # The seed: "Contoso, connectivity partner and Microsoft" (see notes).
            component_responsibility=Responsibility.SHARED,
            # The seed: "Connectivity partner and Microsoft": not Contoso's (see notes).
            workload_responsibility=Responsibility.MICROSOFT,
            sku_selected="Standard",
            uplift_options=(
                "Geo-redundant private peering: a second circuit at another peering location",
                "ExpressRoute high-availability designs",
                "Site-to-site VPN as a backup path for ExpressRoute",
            ),
        ),
    ),
    notes=(
        "Component recovery is shared by Contoso, the connectivity partner and Microsoft "
        "(Responsibility.SHARED stands for all three); workload recovery lies with the partner "
        "and Microsoft, recorded as Microsoft since the enum has no partner value.",
        "Each circuit already has two links to two Microsoft edge routers at its peering location.",
        "A Premium circuit reaches every Azure region worldwide; Standard reaches the regions of "
        "its geopolitical area, which covers a paired region in the same geography.",
        "The provider provisions the circuit from its service key: order the secondary's circuit "
        "before a disaster, not during one.",
    ),
)

# The bandwidths providers offer (Mbps); Azure refuses others for a provider circuit.
Bandwidth = Literal[50, 100, 200, 500, 1000, 2000, 5000, 10000]


class ExpressRouteSettings(ServiceSettings):
    # All three come from the provider's order: no default makes sense.
    service_provider_name: str = Field(alias="serviceProviderName", min_length=1)
    peering_location: str = Field(alias="peeringLocation", min_length=1)
    bandwidth_mbps: Bandwidth = Field(alias="bandwidthMbps")
    # Standard is the seeds' selection; Premium (global reach to all regions) is the uplift.
    tier: Literal["Standard", "Premium"] = "Standard"
    family: Literal["MeteredData", "UnlimitedData"] = "MeteredData"
    # Only the zone-redundant (AZ) gateway SKUs: the others needed Basic public IPs, now retired.
    gateway_sku: Literal["ErGw1AZ", "ErGw2AZ", "ErGw3AZ"] = Field("ErGw1AZ", alias="gatewaySku")
    # Connect the gateway to the circuit's private peering once the provider has provisioned it.
    connect_circuit: bool = Field(False, alias="connectCircuit")


@dataclass(frozen=True)
class ExpressRouteArgs(Placement):
    gateway_subnet_id: pulumi.Input[str]
    settings: ExpressRouteSettings


class ExpressRoute(pulumi.ComponentResource):
    def __init__(self, name: str, args: ExpressRouteArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__(TYPE_TOKEN, name, None, opts)
        self.circuit = self._circuit(name, args)
        self.gateway = self._gateway(name, args)
        self.connection: network.VirtualNetworkGatewayConnection | None = None
        if args.settings.connect_circuit:
            self.connection = self._connection(name, args)

        self.circuit_id: pulumi.Output[str] = self.circuit.id
        self.gateway_id: pulumi.Output[str] = self.gateway.id
        # The provider needs the service key to provision the circuit; treat it as sensitive.
        self.service_key: pulumi.Output[str] = pulumi.Output.secret(self.circuit.service_key)
        self.register_outputs(
            {"circuit_id": self.circuit_id, "gateway_id": self.gateway_id, "service_key": self.service_key}
        )

    def _circuit(self, name: str, args: ExpressRouteArgs) -> network.ExpressRouteCircuit:
        settings = args.settings
        return network.ExpressRouteCircuit(
            f"{name}-circuit",
            circuit_name=naming.check_name(
                "expressroute circuit", f"erc-{args.prefix}-{args.name_suffix}", naming.GENERAL_NAME
            ),
            resource_group_name=args.resource_group_name,
            location=args.location,
            # The SKU name is always "<tier>_<family>".
            sku=network.ExpressRouteCircuitSkuArgs(
                name=f"{settings.tier}_{settings.family}", tier=settings.tier, family=settings.family
            ),
            service_provider_properties=network.ExpressRouteCircuitServiceProviderPropertiesArgs(
                service_provider_name=settings.service_provider_name,
                peering_location=settings.peering_location,
                bandwidth_in_mbps=settings.bandwidth_mbps,
            ),
            allow_classic_operations=False,
            opts=pulumi.ResourceOptions(parent=self),
        )

    def _gateway(self, name: str, args: ExpressRouteArgs) -> network.VirtualNetworkGateway:
        prefix, suffix = args.prefix, args.name_suffix
        # The gateway's address is used by Azure for management only; it still must be Standard
        # and zone-redundant to match the AZ gateway SKU.
        public_ip = standard_public_ip(
            f"{name}-gateway-pip",
            ip_name=f"pip-ergw-{prefix}-{suffix}",
            resource_group_name=args.resource_group_name,
            location=args.location,
            zones=ALL_ZONES,
            parent=self,
        )
        return network.VirtualNetworkGateway(
            f"{name}-gateway",
            virtual_network_gateway_name=naming.check_name(
                "expressroute gateway", f"ergw-{prefix}-{suffix}", naming.GENERAL_NAME
            ),
            resource_group_name=args.resource_group_name,
            location=args.location,
            gateway_type="ExpressRoute",
            sku=network.VirtualNetworkGatewaySkuArgs(name=args.settings.gateway_sku, tier=args.settings.gateway_sku),
            ip_configurations=gateway_ip_configurations(args.gateway_subnet_id, [public_ip]),
            opts=pulumi.ResourceOptions(parent=self),
        )

    def _connection(self, name: str, args: ExpressRouteArgs) -> network.VirtualNetworkGatewayConnection:
        return network.VirtualNetworkGatewayConnection(
            f"{name}-connection",
            virtual_network_gateway_connection_name=naming.check_name(
                "expressroute connection", f"cn-{args.prefix}-erc-{args.name_suffix}", naming.GENERAL_NAME
            ),
            resource_group_name=args.resource_group_name,
            location=args.location,
            connection_type="ExpressRoute",
            virtual_network_gateway1=network.VirtualNetworkGatewayArgs(id=self.gateway.id),
            peer=network.SubResourceArgs(id=self.circuit.id),
            opts=pulumi.ResourceOptions(parent=self),
        )


def deploy(context: Platform, settings: ExpressRouteSettings) -> dict[str, Any]:
    express_route = ExpressRoute(
        "express-route",
        ExpressRouteArgs.from_context(
            context, layer="connectivity", gateway_subnet_id=context.subnet_ids[GATEWAY_SUBNET], settings=settings
        ),
    )
    return {
        "expressRouteCircuitId": express_route.circuit_id,
        "expressRouteServiceKey": express_route.service_key,
        "expressRouteGatewayId": express_route.gateway_id,
    }


def posture(config: StackFacts, settings: ExpressRouteSettings | None) -> tuple[Posture, ...]:
    if settings is None:
        return (Posture(sku="none", uplift_enabled=(None, None, None)),)
    # A second circuit at another peering location, and the HA designs (circuits at separate
    # locations, active connections), show only across both stacks: not from this stack's config.
    # The VPN backup path is on exactly when this stack also runs the VPN gateway service.
    vpn_backup = config.enabled("vpnGateway") if config is not None else None
    return (Posture(sku=f"{settings.tier} ({settings.family})", uplift_enabled=(None, None, vpn_backup)),)


SERVICE = ServiceSpec(
    type_token=TYPE_TOKEN,
    key="expressRoute",
    settings=ExpressRouteSettings,
    profile=PROFILE,
    deploy=deploy,
    posture=posture,
    example={
        "serviceProviderName": "Equinix",
        "peeringLocation": "Sydney",
        "bandwidthMbps": 1000,
        "tier": "Standard",
        "gatewaySku": "ErGw1AZ",
        "connectCircuit": False,
    },
    physical_names={
        "azure-native:network:ExpressRouteCircuit": "circuitName",
        "azure-native:network:VirtualNetworkGateway": "virtualNetworkGatewayName",
        "azure-native:network:VirtualNetworkGatewayConnection": "virtualNetworkGatewayConnectionName",
        "azure-native:network:PublicIPAddress": "publicIpAddressName",
    },
)
