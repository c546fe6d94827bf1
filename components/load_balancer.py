"""Standard load balancer in front of the platform's compute, private (in the hub's data subnet) or public.

Uplifts from the seeds: a zone-redundant frontend, and `tier: Global`, which adds a cross-region
(Global-tier) load balancer in front of this region's and the paired region's load balancers.

Cross-region facts (https://learn.microsoft.com/azure/load-balancer/cross-region-overview): public
frontends and backends only, TCP only, no probe of its own (it polls the regional ones), the rule's
backend port is the regional frontend port, created in a "home region" whose loss does not stop
traffic. Enable it on ONE stack: both regions' load balancers are its backends, so the paired one
must exist (warm standby), or set `pairedBackend: false` until it does.
The pools' members (NICs, scale sets) join from the compute that uses them.
"""

from __future__ import annotations

from dataclasses import dataclass
from ipaddress import IPv4Address
from typing import Any, Literal

import pulumi
from pulumi_azure_native import network
from pydantic import Field, ValidationInfo, field_validator

from components import naming
from components.connectivity import DATA_SUBNET, carve_hub
from components.placement import Placement
from components.profile import Dependency, DRProfile, Estimates, RecoveryAction, Responsibility, SeedFacts, register
from components.public_ip import ALL_ZONES, standard_public_ip
from components.spec import PlatformContext, Posture, ServiceSettings, ServiceSpec
from stacks.config import ConfigError

TYPE_TOKEN = "dataplatform:connectivity:LoadBalancer"

PROFILE = register(
    TYPE_TOKEN,
    DRProfile(
        key="load_balancer",
        title="Azure Load Balancer (Standard), optionally behind a cross-region load balancer",
        stateful=False,
        recovery_action=RecoveryAction.REDEPLOY,
        smoke_checks=("load-balancer-provisioned", "probe-health", "data-path-availability"),
        data_checks=(),
        depends_on=(Dependency("connectivity", "the frontend takes an address in the hub's data subnet"),),
        priority=2,
        # A load balancer and its public IP provision in one to two minutes.
        estimates=Estimates(deploy=120, smoke=60),
        seed=(
            SeedFacts(
                service="Azure Load Balancer",
                component_responsibility=Responsibility.CUSTOMER,
                workload_responsibility=Responsibility.CUSTOMER,
                sku_selected="Standard",
                uplift_options=(
                    "Zone-redundant frontend: the data path survives while one zone is healthy",
                    "Cross-region load balancer in front of the regional ones",
                ),
            ),
        ),
        notes=(
            "Traffic Manager (DNS-based, global) is the other way across regions: see traffic_manager.",
            "probe-health reads the DipAvailability metric, data-path-availability VipAvailability.",
        ),
    ),
)

FRONTEND = "frontend"
BACKEND = "backend"
PROBE = "health"

# Where a cross-region load balancer (and its Global public IP) can be created (verify: the list grows).
HomeRegion = Literal[
    "eastus2", "westus", "westeurope", "southeastasia", "centralus", "northeurope", "eastasia",
    "usgovvirginia", "ukwest", "uksouth",
]


class ProbeSettings(ServiceSettings):
    protocol: Literal["Tcp", "Http", "Https"] = "Https"
    port: int = Field(443, ge=1, le=65535)
    path: str = Field("/health", pattern=r"^/")  # used by Http and Https probes
    interval_seconds: int = Field(5, alias="intervalSeconds", ge=5, le=3600)


class LoadBalancerSettings(ServiceSettings):
    frontend: Literal["private", "public"] = "private"
    # A fixed private frontend address in the data subnet (else Azure assigns one).
    private_ip: IPv4Address | None = Field(None, alias="privateIp")
    zone_redundant: bool = Field(False, alias="zoneRedundant")
    protocol: Literal["Tcp", "Udp"] = "Tcp"
    port: int = Field(443, ge=1, le=65535)
    backend_port: int = Field(443, alias="backendPort", ge=1, le=65535)
    probe: ProbeSettings = ProbeSettings()
    # For tier Global: where the cross-region load balancer is created, and whether the paired
    # stack's load balancer joins its backend pool.
    home_region: HomeRegion | None = Field(None, alias="homeRegion")
    paired_backend: bool = Field(True, alias="pairedBackend")
    # Last, so its check sees the settings it depends on (pydantic validates in field order).
    tier: Literal["Regional", "Global"] = "Regional"

    @field_validator("private_ip")
    @classmethod
    def _private_only(cls, value: IPv4Address | None, info: ValidationInfo) -> IPv4Address | None:
        if value is not None and info.data.get("frontend") != "private":
            raise ValueError("only a private frontend takes a privateIp")
        return value

    @field_validator("tier")
    @classmethod
    def _global_prerequisites(cls, value: str, info: ValidationInfo) -> str:
        if value != "Global":
            return value
        if info.data.get("frontend") != "public" or info.data.get("protocol") != "Tcp":
            raise ValueError("Global fronts public TCP load balancers only: set frontend public, protocol Tcp")
        if info.data.get("home_region") is None:
            raise ValueError("Global needs homeRegion: the home region of the cross-region load balancer")
        return value


def lb_name(prefix: str, suffix: str, public: bool) -> str:
    return naming.check_name("load balancer", f"{'lbe' if public else 'lbi'}-{prefix}-{suffix}", naming.GENERAL_NAME)


def child_id(subscription: pulumi.Input[str], group: pulumi.Input[str], lb: str, kind: str, name: str) -> pulumi.Output[str]:
    """A load balancer's sub-resource id: rules must name the frontend, pool and probe by id
    before Azure has created any of them."""
    return pulumi.Output.concat(
        "/subscriptions/", subscription, "/resourceGroups/", group,
        "/providers/Microsoft.Network/loadBalancers/", lb, f"/{kind}/{name}",
    )


@dataclass(frozen=True)
class LoadBalancerArgs(Placement):
    subscription_id: pulumi.Input[str]
    data_subnet_id: pulumi.Input[str]
    settings: LoadBalancerSettings
    # (region, frontend id) of the paired stack's public load balancer, for the cross-region pool.
    paired_frontend: tuple[str, pulumi.Input[str]] | None = None


class LoadBalancer(pulumi.ComponentResource):
    def __init__(self, name: str, args: LoadBalancerArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__(TYPE_TOKEN, name, None, opts)
        self._args = args
        settings, probe = args.settings, args.settings.probe
        zones = ALL_ZONES if settings.zone_redundant else None
        lb = lb_name(args.prefix, args.name_suffix, settings.frontend == "public")

        self.public_ip: network.PublicIPAddress | None = None
        if settings.frontend == "public":
            # A public frontend is as zone-redundant as its address: the zones go on the public IP.
            self.public_ip = self._public_ip(f"{name}-pip", f"pip-{lb}", args.location, "Regional", zones)
            frontend = network.FrontendIPConfigurationArgs(
                name=FRONTEND, public_ip_address=network.PublicIPAddressArgs(id=self.public_ip.id)
            )
        else:
            frontend = network.FrontendIPConfigurationArgs(
                name=FRONTEND,
                subnet=network.SubnetArgs(id=args.data_subnet_id),
                private_ip_allocation_method="Static" if settings.private_ip else "Dynamic",
                private_ip_address=str(settings.private_ip) if settings.private_ip else None,
                zones=zones,
            )
        health = network.ProbeArgs(
            name=PROBE,
            protocol=probe.protocol,
            port=probe.port,
            request_path=probe.path if probe.protocol != "Tcp" else None,
            interval_in_seconds=probe.interval_seconds,
            probe_threshold=2,
        )
        self.load_balancer = self._load_balancer(
            f"{name}-lb", lb, args.location, "Regional", frontend, network.BackendAddressPoolArgs(name=BACKEND),
            settings.protocol, settings.port, settings.backend_port, health,
        )
        self.load_balancer_id: pulumi.Output[str] = self.load_balancer.id
        self.frontend_id = child_id(args.subscription_id, args.resource_group_name, lb, "frontendIPConfigurations", FRONTEND)
        self.frontend_address: pulumi.Output[Any] = (
            self.public_ip.ip_address
            if self.public_ip is not None
            else self.load_balancer.frontend_ip_configurations.apply(lambda fes: fes[0].private_ip_address if fes else None)
        )
        self.global_address: pulumi.Output[Any] | None = None
        if settings.tier == "Global":
            self._cross_region(name)
        self.register_outputs(
            {"load_balancer_id": self.load_balancer_id, "frontend_address": self.frontend_address,
             "global_address": self.global_address}
        )

    def _public_ip(self, resource: str, ip_name: str, location: str, tier: str, zones: list[str] | None):
        return standard_public_ip(
            resource,
            ip_name=ip_name,
            resource_group_name=self._args.resource_group_name,
            location=location,
            zones=zones,
            parent=self,
            tier=tier,
        )

    def _load_balancer(self, resource, lb, location, tier, frontend, pool, protocol, port, backend_port, probe=None):
        args = self._args

        def ref(kind: str, sub_name: str) -> network.SubResourceArgs:
            return network.SubResourceArgs(id=child_id(args.subscription_id, args.resource_group_name, lb, kind, sub_name))

        return network.LoadBalancer(
            resource,
            load_balancer_name=lb,
            resource_group_name=args.resource_group_name,
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
            opts=pulumi.ResourceOptions(parent=self),
        )

    def _cross_region(self, name: str) -> None:
        args, settings = self._args, self._args.settings
        assert settings.home_region is not None  # enforced by the settings model
        lb = naming.check_name("load balancer", f"lbg-{args.prefix}-{args.name_suffix}", naming.GENERAL_NAME)
        # Anycast from every participating region; created in the home region, like the load balancer.
        public_ip = self._public_ip(f"{name}-global-pip", f"pip-{lb}", settings.home_region, "Global", None)
        members = [(args.location, self.frontend_id)] + ([args.paired_frontend] if args.paired_frontend else [])
        pool = network.BackendAddressPoolArgs(
            name=BACKEND,
            load_balancer_backend_addresses=[
                network.LoadBalancerBackendAddressArgs(
                    name=region, load_balancer_frontend_ip_configuration=network.SubResourceArgs(id=frontend_id)
                )
                for region, frontend_id in members
            ],
        )
        frontend = network.FrontendIPConfigurationArgs(
            name=FRONTEND, public_ip_address=network.PublicIPAddressArgs(id=public_ip.id)
        )
        # No probe (it polls the regional load balancers); the backend port is their frontend port.
        self.global_load_balancer = self._load_balancer(
            f"{name}-global-lb", lb, settings.home_region, "Global", frontend, pool, "Tcp", settings.port, settings.port
        )
        self.global_address = public_ip.ip_address


def _private_ip_in_data_subnet(context: PlatformContext, settings: LoadBalancerSettings) -> None:
    if settings.private_ip is None:
        return
    data = carve_hub(context.config.address_space).data
    # Azure keeps the first four addresses and the last one of every subnet for itself.
    usable_first, usable_last = data.network_address + 4, data.broadcast_address - 1
    if not usable_first <= settings.private_ip <= usable_last:
        raise ConfigError(
            context.config.source,
            "dataplatform:loadBalancer.privateIp",
            f"{settings.private_ip} is not a usable address of the data subnet ({usable_first}-{usable_last})",
        )


def _paired_frontend(context: PlatformContext, settings: LoadBalancerSettings) -> tuple[str, pulumi.Output[str]] | None:
    """The paired stack's public frontend, by its id: both stacks name resources by one scheme,
    so the id follows from the paired prefix and suffix without asking Azure."""
    config = context.config
    if settings.tier != "Global" or not settings.paired_backend:
        return None
    if not config.paired_prefix or not config.paired_name_suffix:
        raise ValueError("loadBalancer tier Global: the paired stack's prefix/nameSuffix are unknown")
    group = naming.resource_group_name(config.paired_prefix, "connectivity", config.paired_name_suffix)
    name = lb_name(config.paired_prefix, config.paired_name_suffix, public=True)
    return config.paired_region, child_id(context.subscription_id, group, name, "frontendIPConfigurations", FRONTEND)


def deploy(context: PlatformContext, settings: LoadBalancerSettings) -> dict[str, Any]:
    _private_ip_in_data_subnet(context, settings)
    balancer = LoadBalancer(
        "load-balancer",
        LoadBalancerArgs.from_context(
            context,
            layer="connectivity",
            subscription_id=context.subscription_id,
            data_subnet_id=context.subnet_ids[DATA_SUBNET],
            settings=settings,
            paired_frontend=_paired_frontend(context, settings),
        ),
    )
    outputs: dict[str, Any] = {"loadBalancerId": balancer.load_balancer_id, "loadBalancerFrontendIp": balancer.frontend_address}
    if balancer.global_address is not None:
        outputs["loadBalancerGlobalIp"] = balancer.global_address
    return outputs


def posture(config: Any, settings: LoadBalancerSettings | None) -> tuple[Posture, ...]:
    if settings is None:
        return (Posture(sku="none", uplift_enabled=(None, None)),)
    return (Posture(sku="Standard", uplift_enabled=(settings.zone_redundant, settings.tier == "Global")),)


SERVICE = ServiceSpec(
    key="loadBalancer",
    settings=LoadBalancerSettings,
    profile=PROFILE,
    deploy=deploy,
    posture=posture,
    example={"frontend": "private", "zoneRedundant": True, "port": 443, "backendPort": 443,
             "probe": {"protocol": "Https", "port": 443, "path": "/health"}},
    physical_names={
        "azure-native:network:LoadBalancer": "loadBalancerName",
        "azure-native:network:PublicIPAddress": "publicIpAddressName",
    },
)
