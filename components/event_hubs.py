"""Event Hubs: the namespace and hubs that carry the platform's real-time ingestion."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

import pulumi
from pulumi_azure_native import eventhub
from pydantic import Field

from components import naming
from components.child_names import EventHubName
from components.profile import (
    DataRecovery,
    Dependency,
    DRProfile,
    Estimates,
    RecoveryAction,
    Responsibility,
    SeedFacts,
)
from components.spec import Platform, Posture, ServiceSettings, ServiceSpec, StackFacts
from smoke_tests.event_hubs import CHECKS

TYPE_TOKEN = "dataplatform:data:EventHubs"

PROFILE = DRProfile(
    key="event_hubs",
    title="Event Hubs namespace and hubs",
    # Events in flight are state, but nothing can bring them back: Geo-DR replicates metadata
    # only. The namespace is redeployed empty and the events are replayed from the producers.
    stateful=True,
    recovery_action=RecoveryAction.REDEPLOY,
    checks=CHECKS,
    data_recovery=DataRecovery(
        source=(
            "the producers' system of record: Geo-DR carries metadata only, so the namespace is "
            "redeployed empty"
        ),
        replay="producers re-send from the replay watermark; consumers restart from it",
    ),
    depends_on=(
        Dependency("foundation", "the namespace lives in the data resource group"),
        Dependency("connectivity", "clients reach it through the hub's privatelink.servicebus zone"),
    ),
    priority=3,
    # A Standard namespace and its hubs take 2-3 minutes; replay depends on the producers.
    estimates=Estimates(deploy=180, replay=300, smoke=60),
    seed=(
        SeedFacts(
            service="Azure Event Hubs",
            component_responsibility=Responsibility.MICROSOFT,
            workload_responsibility=Responsibility.CUSTOMER,
            sku_selected="Standard",
            uplift_options=(
                "Availability zones in the namespace",
                "Geo-disaster recovery alias: metadata only, no event data",
                "Geo-replication of metadata and data (Premium/Dedicated only)",
            ),
        ),
    ),
    notes=("Consumers restart from the replay watermark; checkpoints in the primary are not reused.",),
)


# Stack outputs, read by drctl and the smoke tests.
NAMESPACE_OUTPUT = "eventHubsNamespace"
ENDPOINT_OUTPUT = "eventHubsEndpoint"
HUBS_OUTPUT = "eventHubs"


class EventHub(ServiceSettings):
    name: EventHubName = Field(pattern=r"^[a-z0-9][a-z0-9._-]{0,49}$")
    partitions: int = Field(4, ge=1, le=32)
    retention_days: int = Field(1, alias="retentionDays", ge=1, le=7)


class EventHubsSettings(ServiceSettings):
    sku: Literal["Basic", "Standard", "Premium"] = "Standard"
    capacity: int = Field(1, ge=1, le=40)
    hubs: tuple[EventHub, ...] = (EventHub(name="telemetry"),)


@dataclass(frozen=True)
class EventHubsArgs:
    location: str
    prefix: str
    name_suffix: str
    resource_group_name: pulumi.Input[str]
    settings: EventHubsSettings = field(default_factory=EventHubsSettings)


class EventHubs(pulumi.ComponentResource):
    """Namespace with Entra-only access and one event hub per configured hub."""

    def __init__(self, name: str, args: EventHubsArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__(TYPE_TOKEN, name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        settings = args.settings

        self.namespace = eventhub.Namespace(
            f"{name}-namespace",
            namespace_name=naming.event_hubs_namespace_name(args.prefix, args.name_suffix),
            resource_group_name=args.resource_group_name,
            location=args.location,
            # Capacity is throughput units on Standard, processing units on Premium.
            sku=eventhub.SkuArgs(name=settings.sku, tier=settings.sku, capacity=settings.capacity),
            minimum_tls_version="1.2",
            # Entra ID only: SAS keys and connection strings stop working, so none can leak.
            disable_local_auth=True,
            # Clients come through the hub's private endpoint (privatelink.servicebus zone).
            public_network_access="Disabled",
            opts=child,
        )

        self.hubs: dict[str, eventhub.EventHub] = {
            hub.name: eventhub.EventHub(
                f"{name}-hub-{hub.name}",
                event_hub_name=hub.name,
                namespace_name=self.namespace.name,
                resource_group_name=args.resource_group_name,
                # Partitions are fixed at creation on Standard: the same count keeps keyed ordering.
                partition_count=hub.partitions,
                retention_description=eventhub.RetentionDescriptionArgs(
                    cleanup_policy="Delete",
                    retention_time_in_hours=hub.retention_days * 24,
                ),
                opts=child,
            )
            for hub in settings.hubs
        }

        self.namespace_name: pulumi.Output[str] = self.namespace.name
        self.namespace_id: pulumi.Output[str] = self.namespace.id
        self.endpoint: pulumi.Output[str] = pulumi.Output.concat(
            "sb://", self.namespace.name, ".servicebus.windows.net/"
        )
        self.hub_names: list[str] = list(self.hubs)
        self.register_outputs(
            {
                "namespace_name": self.namespace_name,
                "namespace_id": self.namespace_id,
                "endpoint": self.endpoint,
                "hub_names": self.hub_names,
            }
        )


def deploy(platform: Platform, settings: EventHubsSettings) -> dict[str, object]:
    """The namespace and its hubs, reached through the hub's privatelink.servicebus zone."""
    config = platform.config
    if config.is_secondary and config.enabled("eventHubsGeoDr"):
        # A Geo-DR pairing needs an empty secondary namespace: the primary's hubs arrive there by the
        # alias's metadata replication, so the secondary stack declares none of its own.
        settings = settings.model_copy(update={"hubs": ()})
    event_hubs = EventHubs(
        "event_hubs",
        EventHubsArgs(
            location=platform.region,
            prefix=platform.prefix,
            name_suffix=platform.suffix,
            resource_group_name=platform.data_group,
            settings=settings,
        ),
    )
    platform.event_hubs_namespace_id = event_hubs.namespace_id
    outputs = {
        NAMESPACE_OUTPUT: event_hubs.namespace_name,
        ENDPOINT_OUTPUT: event_hubs.endpoint,
        HUBS_OUTPUT: event_hubs.hub_names,
    }
    platform.open_privately(event_hubs, "event_hubs", platform.data_group, event_hubs.namespace_id,
                            ("namespace", "servicebus"))
    return outputs


def posture(config: StackFacts, settings: EventHubsSettings) -> tuple[Posture, ...]:
    # Zone redundancy is the service default in regions with zones; geo-replication needs Premium.
    return (Posture(sku=settings.sku, uplift_enabled=(None, config.enabled("eventHubsGeoDr"), False)),)


SERVICE = ServiceSpec(
    key="eventHubs",
    type_token=TYPE_TOKEN,
    profile=PROFILE,
    settings=EventHubsSettings,
    deploy=deploy,
    posture=posture,
    switch="on",
    physical_names={
        "azure-native:eventhub:Namespace": "namespaceName",
        "azure-native:eventhub:EventHub": "eventHubName",
    },
    globally_unique=frozenset({"azure-native:eventhub:Namespace"}),
    subresources=frozenset({"azure-native:eventhub:EventHub"}),
)
