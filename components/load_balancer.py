"""Standard load balancer in front of the platform's compute, private (in the hub's data subnet) or public.

Uplifts from the seeds: a zone-redundant frontend, and `tier: Global`, which adds a cross-region
(Global-tier) load balancer in front of this region's and the paired region's load balancers
(components/load_balancer_global.py). Enable it on ONE stack: both regions' load balancers are its
backends, so the paired one must exist (warm standby), or set `pairedBackend: false` until it does.
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
from components.hub_addresses import check_usable_in_data_subnet
from components.hub_layout import DATA_SUBNET
from components.load_balancer_global import HomeRegion, cross_region_load_balancer
from components.load_balancer_wiring import BACKEND, FRONTEND, PROBE, child_id, single_rule_load_balancer
from components.placement import Placement
from components.profile import Dependency, DRProfile, Estimates, RecoveryAction, Responsibility, SeedFacts
from components.public_ip import ALL_ZONES, standard_public_ip
from components.spec import Platform, Posture, ServiceSettings, ServiceSpec, StackFacts
from smoke_tests.load_balancer import CHECKS

TYPE_TOKEN = "dataplatform:connectivity:LoadBalancer"

PROFILE = DRProfile(
    key="load_balancer",
    title="Azure Load Balancer (Standard), optionally behind a cross-region load balancer",
    stateful=False,
    recovery_action=RecoveryAction.REDEPLOY,
    checks=CHECKS,
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
)


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


@dataclass(frozen=True)
class LoadBalancerArgs(Placement):
    subscription_id: pulumi.Input[str]
    data_subnet_id: pulumi.Input[str]
    settings: LoadBalancerSettings
    # (region, frontend id) of the paired stack's public load balancer, for the cross-region pool.
    paired_frontend: tuple[str, pulumi.Input[str]] | None = None


def _regional_frontend(
    args: LoadBalancerArgs, public_ip: network.PublicIPAddress | None, zones: list[str] | None
) -> network.FrontendIPConfigurationArgs:
    if public_ip is not None:
        return network.FrontendIPConfigurationArgs(
            name=FRONTEND, public_ip_address=network.PublicIPAddressArgs(id=public_ip.id)
        )
    private_ip = args.settings.private_ip
    return network.FrontendIPConfigurationArgs(
        name=FRONTEND,
        subnet=network.SubnetArgs(id=args.data_subnet_id),
        private_ip_allocation_method="Static" if private_ip else "Dynamic",
        private_ip_address=str(private_ip) if private_ip else None,
        zones=zones,
    )


def _health_probe(probe: ProbeSettings) -> network.ProbeArgs:
    return network.ProbeArgs(
        name=PROBE,
        protocol=probe.protocol,
        port=probe.port,
        request_path=probe.path if probe.protocol != "Tcp" else None,
        interval_in_seconds=probe.interval_seconds,
        probe_threshold=2,
    )


class LoadBalancer(pulumi.ComponentResource):
    def __init__(self, name: str, args: LoadBalancerArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__(TYPE_TOKEN, name, None, opts)
        settings = args.settings
        zones = ALL_ZONES if settings.zone_redundant else None
        lb = lb_name(args.prefix, args.name_suffix, settings.frontend == "public")

        self.public_ip: network.PublicIPAddress | None = None
        if settings.frontend == "public":
            # A public frontend is as zone-redundant as its address: the zones go on the public IP.
            self.public_ip = standard_public_ip(
                f"{name}-pip",
                ip_name=f"pip-{lb}",
                resource_group_name=args.resource_group_name,
                location=args.location,
                zones=zones,
                parent=self,
            )
        self.load_balancer = single_rule_load_balancer(
            f"{name}-lb",
            lb=lb,
            subscription_id=args.subscription_id,
            resource_group_name=args.resource_group_name,
            location=args.location,
            tier="Regional",
            frontend=_regional_frontend(args, self.public_ip, zones),
            pool=network.BackendAddressPoolArgs(name=BACKEND),
            protocol=settings.protocol,
            port=settings.port,
            backend_port=settings.backend_port,
            probe=_health_probe(settings.probe),
            parent=self,
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
            self._cross_region(name, args)
        self.register_outputs(
            {"load_balancer_id": self.load_balancer_id, "frontend_address": self.frontend_address,
             "global_address": self.global_address}
        )

    def _cross_region(self, name: str, args: LoadBalancerArgs) -> None:
        settings = args.settings
        assert settings.home_region is not None  # enforced by the settings model
        members = [(args.location, self.frontend_id)] + ([args.paired_frontend] if args.paired_frontend else [])
        self.global_load_balancer, public_ip = cross_region_load_balancer(
            name,
            prefix=args.prefix,
            suffix=args.name_suffix,
            subscription_id=args.subscription_id,
            resource_group_name=args.resource_group_name,
            home_region=settings.home_region,
            port=settings.port,
            members=members,
            parent=self,
        )
        self.global_address = public_ip.ip_address


def _paired_frontend(context: Platform, settings: LoadBalancerSettings) -> tuple[str, pulumi.Output[str]] | None:
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


def deploy(context: Platform, settings: LoadBalancerSettings) -> dict[str, Any]:
    if settings.private_ip is not None:
        check_usable_in_data_subnet(context.config, settings.private_ip, "dataplatform:loadBalancer.privateIp")
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


def posture(config: StackFacts, settings: LoadBalancerSettings | None) -> tuple[Posture, ...]:
    if settings is None:
        return (Posture(sku="none", uplift_enabled=(None, None)),)
    return (Posture(sku="Standard", uplift_enabled=(settings.zone_redundant, settings.tier == "Global")),)


SERVICE = ServiceSpec(
    type_token=TYPE_TOKEN,
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
