"""Event Hubs: the namespace and hubs that carry the platform's real-time ingestion."""

from __future__ import annotations

from dataclasses import dataclass

import pulumi
from pulumi_azure_native import eventhub

from components import naming
from components.profile import (
    DataRecovery,
    Dependency,
    DRProfile,
    Estimates,
    RecoveryAction,
    Responsibility,
    SeedFacts,
    register,
)
from stacks.schema import EventHubsConfig

TYPE_TOKEN = "dataplatform:data:EventHubs"

PROFILE = register(
    TYPE_TOKEN,
    DRProfile(
        key="event_hubs",
        title="Event Hubs namespace and hubs",
        # Events in flight are state, but nothing can bring them back: Geo-DR replicates metadata
        # only. The namespace is redeployed empty and the events are replayed from the producers.
        stateful=True,
        recovery_action=RecoveryAction.REDEPLOY,
        smoke_checks=("send-receive-event",),
        data_checks=("hubs-and-partitions", "replayed-event-count"),
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
    ),
)


@dataclass(frozen=True)
class EventHubsArgs:
    location: str
    prefix: str
    name_suffix: str
    resource_group_name: pulumi.Input[str]
    settings: EventHubsConfig = EventHubsConfig()


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
