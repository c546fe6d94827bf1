"""Event Hubs Geo-disaster recovery: an alias that pairs the primary namespace with the secondary one.

The alias is created on the PRIMARY namespace with the secondary namespace as its partner, so only the
primary stack declares it; the secondary stack declares nothing and exports the alias name drctl needs.
Geo-DR replicates metadata only (hubs, consumer groups, settings), never events:
https://learn.microsoft.com/azure/event-hubs/event-hubs-geo-dr

On the day drctl issues the failover against the SECONDARY namespace
(`disaster_recovery_configs.fail_over(rg, <secondary namespace>, alias)`): the alias then resolves to
the secondary and the pairing is removed. For a planned move drctl may instead `break_pairing` on the
primary first. Either way the alias is gone from the primary afterwards, so re-pairing (a new
`pulumi up --stack primary` after failback) creates it afresh.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pulumi
from pulumi_azure_native import eventhub
from pydantic import Field

from components import naming
from components.paired import resource_id
from components.profile import Dependency, DRProfile, Estimates, RecoveryAction, Responsibility, SeedFacts
from components.spec import Platform, Posture, ServiceSettings, ServiceSpec, StackFacts
from smoke_tests.event_hubs_geo_dr import CHECKS

TYPE_TOKEN = "dataplatform:data:EventHubsGeoDr"

# The alias is a DNS label under servicebus.windows.net, so it follows the namespace rule.
ALIAS_NAME = naming.RULES["event hubs namespace"]

PROFILE = DRProfile(
    key="event_hubs_geo_dr",
    title="Event Hubs Geo-DR alias (metadata pairing of the namespaces)",
    # The alias carries configuration only: the events themselves are never replicated.
    stateful=False,
    recovery_action=RecoveryAction.SERVICE_FAILOVER,
    checks=CHECKS,
    depends_on=(Dependency("event_hubs", "the alias pairs the two core namespaces, which must both exist"),),
    priority=4,
    # The failover is a metadata switch the docs call "nearly instantaneous"; DNS takes a minute.
    estimates=Estimates(deploy=120, smoke=60),
    seed=(
        SeedFacts(
            service="Azure Event Hubs: Geo-disaster recovery alias",
            component_responsibility=Responsibility.MICROSOFT,
            workload_responsibility=Responsibility.CUSTOMER,
            sku_selected="Standard",
            uplift_options=("Geo-disaster recovery alias: metadata only, no event data",),
        ),
    ),
    notes=(
        "Pairing needs an empty secondary namespace: the hubs arrive there by metadata replication.",
        "Deploy the secondary stack first: the primary's alias names the secondary namespace as partner.",
        "Failover is once-only and removes the pairing; clients must use the alias, not a namespace name.",
        "Entra role assignments on entities are not replicated: the secondary stack grants its own.",
    ),
)


class EventHubsGeoDrSettings(ServiceSettings):
    # Defaults to "<prefix>-evh-geo-<primary suffix>"; it must differ from both namespace names.
    alias: str | None = Field(None, pattern=r"^[A-Za-z][A-Za-z0-9-]{4,48}[A-Za-z0-9]$")


@dataclass(frozen=True)
class EventHubsGeoDrArgs:
    alias: str
    resource_group_name: pulumi.Input[str]
    primary_namespace_id: pulumi.Input[str]
    secondary_namespace_id: pulumi.Input[str]


class EventHubsGeoDr(pulumi.ComponentResource):
    def __init__(self, name: str, args: EventHubsGeoDrArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__(TYPE_TOKEN, name, None, opts)
        # The name comes from the core namespace's id, an output: the alias then waits for the namespace.
        namespace_name = pulumi.Output.from_input(args.primary_namespace_id).apply(lambda i: i.rsplit("/", 1)[-1])
        self.config = eventhub.DisasterRecoveryConfig(
            f"{name}-alias",
            alias=args.alias,
            namespace_name=namespace_name,
            resource_group_name=args.resource_group_name,
            partner_namespace=args.secondary_namespace_id,
            opts=pulumi.ResourceOptions(parent=self),
        )
        self.alias: str = args.alias
        self.partner_namespace_id: pulumi.Output[str] = pulumi.Output.from_input(args.secondary_namespace_id)
        self.register_outputs({"alias": self.alias, "partner_namespace_id": self.partner_namespace_id})


def alias_name(prefix: str, primary_suffix: str, settings: EventHubsGeoDrSettings) -> str:
    """One alias for the pair, named after the primary (which creates it) unless configured."""
    name = settings.alias or f"{prefix}-evh-geo-{primary_suffix}"
    return naming.check_name("event hubs geo-dr alias", name, ALIAS_NAME)


def paired_namespace_id(subscription_id: str, paired_prefix: str, paired_suffix: str) -> str:
    """ARM id of the paired stack's core namespace."""
    namespace = naming.event_hubs_namespace_name(paired_prefix, paired_suffix)
    return resource_id(subscription_id, paired_prefix, paired_suffix, f"Microsoft.EventHub/namespaces/{namespace}")


def _paired_names(context: Platform) -> tuple[str, str]:
    config = context.config
    if not config.paired_prefix or not config.paired_name_suffix:
        raise ValueError(
            f"eventHubsGeoDr: the paired stack '{config.paired_stack}' has no prefix/nameSuffix to derive its namespace from"
        )
    return config.paired_prefix, config.paired_name_suffix


def deploy(context: Platform, settings: EventHubsGeoDrSettings) -> dict[str, Any]:
    config = context.config
    if context.event_hubs_namespace_id is None:
        raise ValueError("eventHubsGeoDr needs the core Event Hubs namespace: set dataplatform:services.eventHubs true")
    if config.settings_of("eventHubs").sku == "Basic":
        raise ValueError("eventHubsGeoDr: Basic namespaces have no Geo-DR; use Standard or Premium")
    paired_prefix, paired_suffix = _paired_names(context)
    if config.is_secondary:
        # The primary owns the alias; the failover call drctl makes needs its name and this namespace.
        alias = alias_name(paired_prefix, paired_suffix, settings)
        return {"eventHubsGeoDrAlias": alias, "eventHubsGeoDrRole": "secondary"}
    alias = alias_name(context.prefix, context.suffix, settings)
    if alias in (
        naming.event_hubs_namespace_name(context.prefix, context.suffix),
        naming.event_hubs_namespace_name(paired_prefix, paired_suffix),
    ):
        raise ValueError(f"eventHubsGeoDr: alias {alias!r} equals a namespace name; choose another")
    geo_dr = EventHubsGeoDr(
        "event_hubs_geo_dr",
        EventHubsGeoDrArgs(
            alias=alias,
            resource_group_name=context.data_group,
            primary_namespace_id=context.event_hubs_namespace_id,
            secondary_namespace_id=pulumi.Output.from_input(context.subscription_id).apply(
                lambda subscription: paired_namespace_id(subscription, paired_prefix, paired_suffix)
            ),
        ),
    )
    return {
        "eventHubsGeoDrAlias": geo_dr.alias,
        "eventHubsGeoDrRole": "primary",
        "eventHubsGeoDrEndpoint": f"sb://{geo_dr.alias}.servicebus.windows.net/",
        "eventHubsGeoDrPartnerNamespaceId": geo_dr.partner_namespace_id,
    }


def posture(config: StackFacts, settings: EventHubsGeoDrSettings | None) -> tuple[Posture, ...]:
    # Both stacks report the pairing: the secondary is the partner of the alias the primary creates.
    paired = settings is not None and config.enabled("eventHubs") and config.settings_of("eventHubs").sku != "Basic"
    return (Posture(sku=config.settings_of("eventHubs").sku if config.enabled("eventHubs") else "none", uplift_enabled=(paired,)),)


SERVICE = ServiceSpec(
    type_token=TYPE_TOKEN,
    key="eventHubsGeoDr",
    settings=EventHubsGeoDrSettings,
    profile=PROFILE,
    deploy=deploy,
    posture=posture,
    example={},
    physical_names={"azure-native:eventhub:DisasterRecoveryConfig": "alias"},
    globally_unique=frozenset({"azure-native:eventhub:DisasterRecoveryConfig"}),
    # The alias is a child of the namespace and has no location of its own.
    subresources=frozenset({"azure-native:eventhub:DisasterRecoveryConfig"}),
    # Azure creates the alias on the primary namespace; the secondary is its passive partner.
    roles=frozenset({"primary"}),
)
