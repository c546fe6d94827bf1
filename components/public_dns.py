"""Public DNS: the platform's public zone and the records of its entry points.

Where the global zone lives: a public zone has ONE name in both stacks, and resolvers only follow
the delegation to one zone, so exactly one stack owns it (`owner: true`, the primary). The other
stack declares only its own records, into the owner's zone (its resource group is derived from the
paired stack's names, or given as `resourceGroup`); on failover drctl applies that stack's records.

Rules that follow:
- The stacks must never declare the same record: azure-native refuses to create a record set that
  exists, and two stacks managing one would overwrite each other. Use regional names per stack
  (app-aue, app-ase) and keep the shared entry point (app) a CNAME to the Traffic Manager profile,
  so a regional failure needs no DNS write at all.
- The zone's management plane lives with its resource group: while the owner's region is down,
  the zone resolves (Azure DNS is global) but cannot be changed, by either stack. Anything that
  must change on the day belongs in Traffic Manager, or the zone in a group in a third region
  (`resourceGroup`).
"""

from __future__ import annotations

import ipaddress
import re
from dataclasses import dataclass
from typing import Any, Literal

import pulumi
from pulumi_azure_native import dns
from pydantic import Field, ValidationInfo, field_validator

from components import naming
from components.profile import Dependency, DRProfile, Estimates, RecoveryAction, Responsibility, SeedFacts
from components.spec import Platform, Posture, ServiceSettings, ServiceSpec, StackFacts
from smoke_tests.public_dns import CHECKS

TYPE_TOKEN = "dataplatform:connectivity:PublicDns"

PROFILE = DRProfile(
    key="public_dns",
    title="Azure DNS public zone and the platform's entry-point records",
    stateful=False,
    recovery_action=RecoveryAction.REDEPLOY,
    checks=CHECKS,
    depends_on=(
        Dependency("foundation", "the zone and its records live in a connectivity resource group"),
        Dependency("load_balancer", "A records point at the regions' public frontends"),
        Dependency("traffic_manager", "the shared entry point is a CNAME to the Traffic Manager profile"),
    ),
    priority=4,
    # Record sets are written in seconds; the smoke check waits out a 60 s TTL at resolvers.
    estimates=Estimates(deploy=60, smoke=120),
    seed=(
        SeedFacts(
            service="Azure DNS",
            component_responsibility=Responsibility.MICROSOFT,
            workload_responsibility=Responsibility.MICROSOFT,
            sku_selected="Single Zone - Public",
            uplift_options=("N/A, DNS is highly available by design",),
        ),
    ),
    notes=(
        "One stack (the primary) owns the zone; the other only adds its own records to it.",
        "The zone cannot be changed while its resource group's region is down: fail over through "
        "Traffic Manager, not through DNS writes.",
    ),
)

_LABEL = r"[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?"
# A zone is at least two labels, the last a TLD of letters; Azure wants lowercase names.
ZONE_NAME = naming.NameRule(3, 253, rf"(?:{_LABEL}\.)+[a-z]{{2,63}}", "lowercase DNS labels separated by '.'")
RECORD_NAME = naming.NameRule(1, 253, rf"@|{_LABEL}(?:\.{_LABEL})*", "'@' or lowercase DNS labels separated by '.'")
_HOST = rf"(?:{_LABEL}\.)+[a-z]{{2,63}}\.?"


class DnsRecord(ServiceSettings):
    name: str = Field(pattern=rf"^(?:{RECORD_NAME.pattern})$", max_length=253)
    type: Literal["A", "CNAME"]
    # Short: a re-pointed record is seen within a minute.
    ttl: int = Field(60, ge=1, le=86400)
    values: tuple[str, ...] = Field(min_length=1)

    @field_validator("values")
    @classmethod
    def _values_fit_the_type(cls, values: tuple[str, ...], info: ValidationInfo) -> tuple[str, ...]:
        kind = info.data.get("type")
        if kind == "A":
            for value in values:
                try:
                    ipaddress.IPv4Address(value)
                except ValueError:
                    raise ValueError(f"{value!r} is not an IPv4 address") from None
        elif kind == "CNAME":
            if len(values) != 1:
                raise ValueError("a CNAME has exactly one target")
            if info.data.get("name") == "@":
                raise ValueError("a CNAME cannot sit at the zone apex ('@')")
            if not re.fullmatch(_HOST, values[0]):
                raise ValueError(f"{values[0]!r} is not a host name")
        return values


class PublicDnsSettings(ServiceSettings):
    zone_name: str = Field(alias="zoneName", pattern=rf"^{ZONE_NAME.pattern}$", max_length=253)
    # Exactly one stack owns the zone (see the module docstring).
    owner: bool = False
    # The zone's resource group when not the owning stack's connectivity group (it must exist).
    resource_group: str | None = Field(None, alias="resourceGroup", min_length=1, max_length=90)
    records: tuple[DnsRecord, ...] = ()

    @field_validator("records")
    @classmethod
    def _one_record_set_per_name(cls, records: tuple[DnsRecord, ...]) -> tuple[DnsRecord, ...]:
        names = [record.name for record in records]
        duplicates = sorted({name for name in names if names.count(name) > 1})
        if duplicates:
            raise ValueError(f"declared twice: {', '.join(duplicates)} (and a CNAME cannot share a name)")
        return records


@dataclass(frozen=True)
class PublicDnsArgs:
    # Where the zone lives: this stack's group when it owns the zone, the owner's group otherwise.
    zone_resource_group: pulumi.Input[str]
    settings: PublicDnsSettings


class PublicDns(pulumi.ComponentResource):
    def __init__(self, name: str, args: PublicDnsArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__(TYPE_TOKEN, name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        settings, group = args.settings, args.zone_resource_group
        zone_name: pulumi.Input[str] = naming.check_name("dns zone", settings.zone_name, ZONE_NAME)

        self.zone: dns.Zone | None = None
        if settings.owner:
            self.zone = dns.Zone(
                f"{name}-zone",
                zone_name=zone_name,
                resource_group_name=group,
                # DNS zones are global: Azure only accepts the location 'global'.
                location="global",
                zone_type="Public",
                opts=child,
            )
            zone_name = self.zone.name  # records wait for the zone

        self.records = [
            dns.RecordSet(
                f"{name}-{'apex' if record.name == '@' else record.name}-{record.type.lower()}",
                relative_record_set_name=naming.check_name("dns record", record.name, RECORD_NAME),
                record_type=record.type,
                zone_name=zone_name,
                resource_group_name=group,
                ttl=record.ttl,
                a_records=[dns.ARecordArgs(ipv4_address=v) for v in record.values] if record.type == "A" else None,
                cname_record=dns.CnameRecordArgs(cname=record.values[0]) if record.type == "CNAME" else None,
                opts=child,
            )
            for record in settings.records
        ]
        self.name_servers: pulumi.Output[Any] | None = self.zone.name_servers if self.zone else None
        self.fqdns = [
            settings.zone_name if r.name == "@" else f"{r.name}.{settings.zone_name}" for r in settings.records
        ]
        self.register_outputs({"name_servers": self.name_servers, "fqdns": self.fqdns})


def zone_resource_group(context: Platform, settings: PublicDnsSettings) -> pulumi.Input[str]:
    if settings.resource_group:
        return settings.resource_group
    if settings.owner:
        return context.resource_groups["connectivity"]
    config = context.config
    if not config.paired_prefix or not config.paired_name_suffix:
        raise ValueError("publicDns: not the owner, and the paired (owning) stack's prefix/nameSuffix are unknown")
    return naming.resource_group_name(config.paired_prefix, "connectivity", config.paired_name_suffix)


def deploy(context: Platform, settings: PublicDnsSettings) -> dict[str, Any]:
    public_dns = PublicDns("public-dns", PublicDnsArgs(zone_resource_group(context, settings), settings))
    outputs: dict[str, Any] = {
        "publicDnsZoneName": settings.zone_name,
        "publicDnsOwner": settings.owner,
        "publicDnsRecords": public_dns.fqdns,
    }
    if public_dns.name_servers is not None:
        # To be set as the NS delegation at the parent zone's registrar, once.
        outputs["publicDnsNameServers"] = public_dns.name_servers
    return outputs


def posture(config: StackFacts, settings: PublicDnsSettings | None) -> tuple[Posture, ...]:
    return (Posture(sku="Single Zone - Public" if settings else "none", uplift_enabled=(None,)),)


SERVICE = ServiceSpec(
    type_token=TYPE_TOKEN,
    key="publicDns",
    settings=PublicDnsSettings,
    profile=PROFILE,
    deploy=deploy,
    posture=posture,
    example={
        "zoneName": "data.contoso.com",
        "owner": True,
        "records": [
            {"name": "app", "type": "CNAME", "ttl": 60, "values": ["tm-contoso-aue.trafficmanager.net"]},
            # Documentation address (RFC 5737): the region's public frontend.
            {"name": "ingest-aue", "type": "A", "ttl": 60, "values": ["203.0.113.20"]},
        ],
    },
    physical_names={
        "azure-native:dns:Zone": "zoneName",
        "azure-native:dns:RecordSet": "relativeRecordSetName",
    },
    # Record sets live inside their zone; the zone itself is 'global'.
    subresources=frozenset({"azure-native:dns:RecordSet"}),
)
