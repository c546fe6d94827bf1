"""Azure IoT Hub: one Standard hub per stack, kept eligible for failover to the paired region.

Recovery of the primary's hub is a service failover, not a redeploy: IoT Hub replicates each hub
to the paired region, and a manual failover (or a Microsoft-initiated one) moves it there keeping its
hostname and device registry, so devices reconnect unchanged
(https://learn.microsoft.com/azure/iot-hub/iot-hub-ha-dr). drctl triggers it with
`iot_hub.begin_manual_failover(<hub>, <rg>, FailoverInput(failover_region=<paired region>))`.
The secondary stack's own hub is the landing hub of the cross-region HA pattern (devices
re-provisioned through DPS); it is not where the failed-over primary hub ends up.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

import pulumi
from pulumi_azure_native import iothub
from pydantic import Field

from components import naming
from components.placement import Placement
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
from smoke_tests.iot_hub import CHECKS

TYPE_TOKEN = "dataplatform:data:IotHub"

# The name is the DNS label of <name>.azure-devices.net.
IOT_HUB_NAME = naming.NameRule(
    3, 50, r"[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?", "letters, digits and '-', not ending with '-'"
)

PROFILE = DRProfile(
    key="iot_hub",
    title="Azure IoT Hub",
    # The device registry (identities, twins) and in-flight cloud-to-device messages are state.
    stateful=True,
    recovery_action=RecoveryAction.SERVICE_FAILOVER,
    checks=CHECKS,
    data_recovery=DataRecovery(
        source="the hub's replica in the paired region, by Microsoft-initiated or manual failover",
        replay="devices re-send the telemetry not acknowledged before the failover",
        source_uplifts=((0, 0), (0, 1)),
    ),
    depends_on=(
        Dependency("foundation", "the hub lives in the data resource group"),
        Dependency("connectivity", "public access is off: clients come through the hub VNet"),
    ),
    priority=3,
    # Manual failover: Microsoft's HA/DR page gives 10 minutes to a couple of hours; an hour plans
    # for the middle. Device telemetry is not replayed (devices resend), so replay is a short check.
    estimates=Estimates(deploy=3600, validate=300, replay=60, smoke=120),
    seed=(
        SeedFacts(
            service="Azure IoT Hubs",
            component_responsibility=Responsibility.MICROSOFT,
            workload_responsibility=Responsibility.CUSTOMER,
            sku_selected="Standard",
            uplift_options=(
                "Cross-regional HA: a second hub in another region, devices re-provisioned through DPS",
                "Microsoft-initiated and manual failover to the paired region (data residency off)",
            ),
        ),
    ),
    notes=(
        "enable_data_residency must stay false: true keeps the data in-region and disables failover.",
        "After a failover the hub's location reads as the paired region; the primary stack ignores "
        "location changes so a later `pulumi up` does not replace the failed-over hub.",
        "Failback is a second manual failover, allowed once the hub has been in its region an hour.",
    ),
)


class IotHubSettings(ServiceSettings):
    # Standard tiers only: Basic has no cloud-to-device messaging or device twins, Free no SLA.
    sku: Literal["S1", "S2", "S3"] = "S1"
    capacity: int = Field(1, ge=1, le=200)
    # Device-to-cloud partitions are fixed at creation.
    partitions: int = Field(4, ge=2, le=128)
    retention_days: int = Field(1, alias="retentionDays", ge=1, le=7)
    # Device-scoped SAS keys are how many devices authenticate; switch off once all use X.509.
    disable_device_sas: bool = Field(False, alias="disableDeviceSas")


@dataclass(frozen=True)
class IotHubArgs(Placement):
    settings: IotHubSettings


class IotHub(pulumi.ComponentResource):
    def __init__(self, name: str, args: IotHubArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__(TYPE_TOKEN, name, None, opts)
        settings = args.settings
        hub_name = naming.check_name("iot hub", f"{args.prefix}-iot-{args.name_suffix}", IOT_HUB_NAME)
        self.hub = iothub.IotHubResource(
            f"{name}-hub",
            resource_name_=hub_name,
            resource_group_name=args.resource_group_name,
            location=args.location,
            sku=iothub.IotHubSkuInfoArgs(name=settings.sku, capacity=settings.capacity),
            # Managed identity for identity-based routing and the registry export/import jobs.
            identity=iothub.ArmIdentityArgs(type="SystemAssigned"),
            properties=iothub.IotHubPropertiesArgs(
                # True would pin the data to this region and disable failover to the paired region.
                enable_data_residency=False,
                min_tls_version="1.2",
                # Hub-scoped SAS policies (service and registry access) off: services use Entra ID.
                disable_local_auth=True,
                disable_module_sas=True,
                disable_device_sas=settings.disable_device_sas,
                public_network_access="Disabled",
                event_hub_endpoints={
                    "events": iothub.EventHubPropertiesArgs(
                        partition_count=settings.partitions, retention_time_in_days=settings.retention_days
                    )
                },
            ),
            # A failover moves the hub to the paired region and its location with it (verify in a drill).
            opts=pulumi.ResourceOptions(parent=self, ignore_changes=["location"]),
        )
        self.hub_name: pulumi.Output[str] = self.hub.name
        self.hub_id: pulumi.Output[str] = self.hub.id
        # The hostname survives a failover: devices keep connecting to it.
        self.host_name = f"{hub_name}.azure-devices.net"
        self.register_outputs({"hub_name": self.hub_name, "hub_id": self.hub_id, "host_name": self.host_name})


def deploy(context: Platform, settings: IotHubSettings) -> dict[str, Any]:
    hub = IotHub(
        "iot_hub",
        IotHubArgs.from_context(context, settings=settings),
    )
    return {"iotHubName": hub.hub_name, "iotHubId": hub.hub_id, "iotHubHostName": hub.host_name}


def posture(config: StackFacts, settings: IotHubSettings | None) -> tuple[Posture, ...]:
    if settings is None:
        return (Posture(sku="none", uplift_enabled=(None, None)),)
    # A second hub depends on the paired stack, which this stack's config cannot tell; failover is on
    # because data residency is always off here.
    return (Posture(sku=f"Standard {settings.sku} x{settings.capacity}", uplift_enabled=(None, True)),)


SERVICE = ServiceSpec(
    type_token=TYPE_TOKEN,
    key="iotHub",
    settings=IotHubSettings,
    profile=PROFILE,
    deploy=deploy,
    posture=posture,
    example={"sku": "S1", "capacity": 1, "partitions": 4, "retentionDays": 1},
    physical_names={"azure-native:iothub:IotHubResource": "resourceName"},
    globally_unique=frozenset({"azure-native:iothub:IotHubResource"}),
)
