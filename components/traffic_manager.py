"""Traffic Manager: the DNS-level entry point that sends clients to the healthy region.

A profile is GLOBAL (location 'global'; Microsoft runs it in every region) and is NOT redeployed
per region: exactly one stack owns it (`owner: true`) and lists the endpoints of both regions. The
other stack declares nothing and exports the owner's FQDN.

Failover:
- By itself: with Priority routing, when the HTTPS probe of the priority-1 endpoint fails
  `toleratedFailures` times, DNS answers switch to the next endpoint: nothing to run.
- On purpose (planned failover, failback, a region kept out): endpoint priorities and `enabled`
  come from the owning stack's settings, so a failover is a config change of the OWNING stack
  followed by its `pulumi up` (drctl edits the stack file). Note the profile's resource group lives
  in the owner's region: while that region is down the profile keeps answering but cannot be
  changed, which is one more reason to rely on the probe-driven failover.

The profile name doubles as its DNS label, `<name>.trafficmanager.net`: unique across all of Azure,
so it carries the stack's prefix and suffix; clients use the platform's own domain (a CNAME in
publicDns), which absorbs the name. https://learn.microsoft.com/azure/traffic-manager/traffic-manager-overview
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from ipaddress import IPv4Address
from typing import Any, Literal

import pulumi
from pulumi_azure_native import trafficmanager
from pydantic import Field, ValidationInfo, field_validator

from components import naming
from components.profile import Dependency, DRProfile, Estimates, RecoveryAction, Responsibility, SeedFacts
from components.settings import AzureRegion
from components.spec import Platform, Posture, ServiceSettings, ServiceSpec, StackFacts
from smoke_tests.traffic_manager import CHECKS

TYPE_TOKEN = "dataplatform:connectivity:TrafficManager"

PROFILE = DRProfile(
    key="traffic_manager",
    title="Azure Traffic Manager profile (global, one owning stack)",
    stateful=False,
    # Global and Microsoft-run: failover is a probe-driven switch, or a priority change.
    recovery_action=RecoveryAction.SERVICE_FAILOVER,
    checks=CHECKS,
    depends_on=(
        Dependency("foundation", "the profile lives in the owning stack's connectivity resource group"),
        Dependency("load_balancer", "endpoints usually target the regions' public load balancer frontends"),
    ),
    priority=3,
    # A priority change is one update (about a minute); clients follow after probes notice
    # (30 s x 3 failures) and the 30 s TTL expires: about three minutes in all.
    estimates=Estimates(deploy=60, smoke=180),
    seed=(
        # The seeds name Traffic Manager in the Load Balancer row's notes only.
        SeedFacts(
            service="Azure Traffic Manager",
            component_responsibility=Responsibility.MICROSOFT,
            workload_responsibility=Responsibility.CUSTOMER,
            sku_selected="N/A (Priority routing)",
            uplift_options=("Priority or performance routing across the paired regions",),
        ),
    ),
    notes=(
        "One stack owns the profile; a deliberate failover is a config change of that stack.",
        "The profile's DNS label is <name>.trafficmanager.net, unique across Azure.",
    ),
)

# The profile name is the relative DNS name under trafficmanager.net: one DNS label.
PROFILE_LABEL = naming.TRAFFIC_MANAGER_LABEL
_LABEL = r"^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$"
_HOST = r"(?:[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}"


profile_name = naming.traffic_manager_profile_name


class MonitorSettings(ServiceSettings):
    protocol: Literal["HTTPS", "HTTP", "TCP"] = "HTTPS"
    port: int = Field(443, ge=1, le=65535)
    path: str = Field("/health", pattern=r"^/")
    # Azure offers 30 s, or 10 s ("fast probing", billed extra).
    interval_seconds: Literal[10, 30] = Field(30, alias="intervalSeconds")
    timeout_seconds: int = Field(10, alias="timeoutSeconds", ge=5, le=10)
    tolerated_failures: int = Field(3, alias="toleratedFailures", ge=0, le=9)

    @field_validator("timeout_seconds")
    @classmethod
    def _shorter_than_interval(cls, value: int, info: ValidationInfo) -> int:
        if value >= info.data.get("interval_seconds", 30):
            raise ValueError("must be shorter than intervalSeconds")
        return value


class Endpoint(ServiceSettings):
    name: str = Field(pattern=_LABEL)
    # An external endpoint: the region's public host name (or IPv4 address).
    target: str = Field(min_length=1, max_length=253)
    region: AzureRegion
    priority: int = Field(ge=1, le=1000)
    enabled: bool = True

    @field_validator("target")
    @classmethod
    def _host_or_address(cls, value: str) -> str:
        try:
            IPv4Address(value)
        except ValueError:
            if not re.fullmatch(_HOST, value):
                raise ValueError(f"{value!r} is neither a host name nor an IPv4 address") from None
        return value



class TrafficManagerSettings(ServiceSettings):
    owner: bool = False
    routing_method: Literal["Priority", "Performance"] = Field("Priority", alias="routingMethod")
    # Short, so resolvers drop a failed region's answer quickly; not shorter, for query cost.
    ttl: int = Field(30, ge=30, le=60)
    monitor: MonitorSettings = MonitorSettings()
    endpoints: tuple[Endpoint, ...] = Field((), validate_default=True)

    @field_validator("endpoints")
    @classmethod
    def _endpoints_of_the_owner(cls, endpoints: tuple[Endpoint, ...], info: ValidationInfo) -> tuple[Endpoint, ...]:
        if info.data.get("owner") and not endpoints:
            raise ValueError("the owning stack lists the endpoints of both regions")
        for attribute in ("name", "priority"):
            values = [getattr(endpoint, attribute) for endpoint in endpoints]
            if len(set(values)) != len(values):
                raise ValueError(f"each endpoint needs its own {attribute}")
        return endpoints


@dataclass(frozen=True)
class TrafficManagerArgs:
    prefix: str
    name_suffix: str
    resource_group_name: pulumi.Input[str]
    settings: TrafficManagerSettings


class TrafficManager(pulumi.ComponentResource):
    def __init__(self, name: str, args: TrafficManagerArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__(TYPE_TOKEN, name, None, opts)
        settings, monitor = args.settings, args.settings.monitor
        label = profile_name(args.prefix, args.name_suffix)
        self.profile = trafficmanager.Profile(
            f"{name}-profile",
            profile_name=label,
            resource_group_name=args.resource_group_name,
            # Global service: Azure only accepts 'global'.
            location="global",
            profile_status="Enabled",
            traffic_routing_method=settings.routing_method,
            dns_config=trafficmanager.DnsConfigArgs(relative_name=label, ttl=settings.ttl),
            monitor_config=trafficmanager.MonitorConfigArgs(
                protocol=monitor.protocol,
                port=monitor.port,
                path=monitor.path if monitor.protocol != "TCP" else None,
                interval_in_seconds=monitor.interval_seconds,
                timeout_in_seconds=monitor.timeout_seconds,
                tolerated_number_of_failures=monitor.tolerated_failures,
            ),
            endpoints=[
                trafficmanager.EndpointArgs(
                    name=endpoint.name,
                    type="Microsoft.Network/trafficManagerProfiles/externalEndpoints",
                    target=endpoint.target,
                    # Used by Performance routing to pick the closest region.
                    endpoint_location=endpoint.region,
                    priority=endpoint.priority,
                    endpoint_status="Enabled" if endpoint.enabled else "Disabled",
                )
                for endpoint in settings.endpoints
            ],
            opts=pulumi.ResourceOptions(parent=self),
        )
        self.fqdn: str = f"{label}.trafficmanager.net"
        self.register_outputs({"profile_id": self.profile.id, "fqdn": self.fqdn})


def deploy(context: Platform, settings: TrafficManagerSettings) -> dict[str, Any]:
    config = context.config
    if not settings.owner:
        # Nothing to declare: the paired stack owns the profile. Its FQDN, for smoke checks.
        if not config.paired_prefix or not config.paired_name_suffix:
            return {"trafficManagerOwner": False}
        fqdn = f"{profile_name(config.paired_prefix, config.paired_name_suffix)}.trafficmanager.net"
        return {"trafficManagerOwner": False, "trafficManagerFqdn": fqdn}
    manager = TrafficManager(
        "traffic-manager",
        TrafficManagerArgs(
            prefix=context.prefix,
            name_suffix=context.suffix,
            resource_group_name=context.resource_groups["connectivity"],
            settings=settings,
        ),
    )
    return {"trafficManagerOwner": True, "trafficManagerFqdn": manager.fqdn, "trafficManagerProfileId": manager.profile.id}


def posture(config: StackFacts, settings: TrafficManagerSettings | None) -> tuple[Posture, ...]:
    if settings is None:
        return (Posture(sku="none", uplift_enabled=(None,)),)
    if not settings.owner or config is None:
        # The owning stack's config tells; this one's cannot.
        return (Posture(sku=f"N/A ({settings.routing_method} routing)", uplift_enabled=(None,)),)
    regions = {endpoint.region for endpoint in settings.endpoints if endpoint.enabled}
    across = {config.region, config.paired_region} <= regions
    return (Posture(sku=f"N/A ({settings.routing_method} routing)", uplift_enabled=(across,)),)


SERVICE = ServiceSpec(
    type_token=TYPE_TOKEN,
    key="trafficManager",
    settings=TrafficManagerSettings,
    profile=PROFILE,
    deploy=deploy,
    posture=posture,
    example={
        "owner": True,
        "routingMethod": "Priority",
        "ttl": 30,
        "monitor": {"protocol": "HTTPS", "port": 443, "path": "/health"},
        "endpoints": [
            {"name": "primary", "target": "app-aue.data.contoso.com", "region": "australiaeast", "priority": 1},
            {"name": "secondary", "target": "app-ase.data.contoso.com", "region": "australiasoutheast", "priority": 2},
        ],
    },
    physical_names={"azure-native:trafficmanager:Profile": "profileName"},
    globally_unique=frozenset({"azure-native:trafficmanager:Profile"}),
)
