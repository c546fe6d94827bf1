"""Microsoft Fabric capacity: the Azure resource Fabric workspaces run on, in the stack's region.

The capacity is plain ARM and is redeployed like any stateless resource; workspaces are then
reassigned to it. What holds state is OneLake (a catalog service, components/catalog.py), and
OneLake data survives a regional loss only if the capacity's "Disaster Recovery" setting was on
before the disaster: that switch lives in the Fabric admin portal, not in ARM
(https://learn.microsoft.com/fabric/security/disaster-recovery-guide). This module records the
intended value so posture can report it and drctl can check it against the portal.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated, Any, Literal

import pulumi
from pulumi_azure_native import fabric
from pydantic import Field, StringConstraints

from components import naming
from components.placement import Placement
from components.profile import Dependency, DRProfile, Estimates, RecoveryAction, Responsibility, SeedFacts
from components.spec import Platform, Posture, ServiceSettings, ServiceSpec, StackFacts
from smoke_tests.fabric_capacity import CHECKS

TYPE_TOKEN = "dataplatform:compute:FabricCapacity"

# Fabric capacity names: 3-63 lowercase letters and digits, a lowercase letter first.
CAPACITY_NAME = naming.NameRule(3, 63, r"[a-z][a-z0-9]*", "lowercase letters and digits, a letter first")

FabricSku = Literal["F2", "F4", "F8", "F16", "F32", "F64", "F128", "F256", "F512", "F1024", "F2048"]
# A user principal name (user@domain); Fabric also accepts service principals, which this stack
# does not use as capacity administrators.
UPN_PATTERN = r"^[^@\s]+@[^@\s]+\.[^@\s]+$"
Upn = Annotated[str, StringConstraints(pattern=UPN_PATTERN)]

DR_SETTING_NOTE = (
    "The capacity's Disaster Recovery setting (OneLake cross-region replication to the paired region) "
    "is not in ARM: an administrator sets it in the Fabric admin portal (Capacity settings > Disaster "
    "Recovery). It must be on before a disaster; turned on later it protects nothing already lost."
)

PROFILE = DRProfile(
    key="fabric_capacity",
    title="Microsoft Fabric capacity",
    # The capacity is compute; OneLake and the items (the catalog's rows) hold the state.
    stateful=False,
    recovery_action=RecoveryAction.REDEPLOY,
    checks=CHECKS,
    depends_on=(Dependency("foundation", "the capacity lives in the data resource group"),),
    priority=2,
    # A capacity is created and active in one to two minutes.
    estimates=Estimates(deploy=120, smoke=60),
    seed=(
        SeedFacts(
            service="Microsoft Fabric capacity",
            component_responsibility=Responsibility.MICROSOFT,
            workload_responsibility=Responsibility.CUSTOMER,
            sku_selected="Fabric Capacity",
            uplift_options=("Disaster Recovery capacity setting (OneLake replication to the paired region)",),
        ),
    ),
    notes=(
        DR_SETTING_NOTE,
        "After the redeploy, workspaces are reassigned to the new capacity (Fabric admin portal or the "
        "Fabric REST API) before any item is recovered.",
    ),
)


class FabricCapacitySettings(ServiceSettings):
    sku: FabricSku = "F2"
    # Required: a capacity cannot be created without administrators (UPNs of Entra ID users).
    administrators: tuple[Upn, ...] = Field(alias="administrators", min_length=1)
    # Not applied by this program (not in ARM): the value the portal setting must have.
    disaster_recovery_enabled: bool = Field(False, alias="disasterRecoveryEnabled")


@dataclass(frozen=True)
class FabricCapacityArgs(Placement):
    sku: str
    administrators: tuple[str, ...]


def capacity_name(prefix: str, suffix: str) -> str:
    return naming.check_name("fabric capacity", f"{prefix}fabric{suffix}", CAPACITY_NAME)


class FabricCapacity(pulumi.ComponentResource):
    def __init__(self, name: str, args: FabricCapacityArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__(TYPE_TOKEN, name, None, opts)
        self.capacity = fabric.FabricCapacity(
            f"{name}-capacity",
            capacity_name=capacity_name(args.prefix, args.name_suffix),
            resource_group_name=args.resource_group_name,
            location=args.location,
            sku=fabric.RpSkuArgs(name=args.sku, tier=fabric.RpSkuTier.FABRIC),
            administration=fabric.CapacityAdministrationArgs(members=list(args.administrators)),
            opts=pulumi.ResourceOptions(parent=self),
        )
        self.capacity_name: pulumi.Output[str] = self.capacity.name
        self.capacity_id: pulumi.Output[str] = self.capacity.id
        self.register_outputs({"capacity_name": self.capacity_name, "capacity_id": self.capacity_id})


def deploy(context: Platform, settings: FabricCapacitySettings) -> dict[str, Any]:
    capacity = FabricCapacity(
        "fabric",
        FabricCapacityArgs.from_context(context, sku=settings.sku, administrators=settings.administrators),
    )
    return {
        "fabricCapacityName": capacity.capacity_name,
        "fabricCapacityId": capacity.capacity_id,
        # What the portal setting should read; a readiness check compares it with the Fabric API.
        "fabricCapacityDisasterRecoveryExpected": settings.disaster_recovery_enabled,
    }


def posture(config: StackFacts, settings: FabricCapacitySettings | None) -> tuple[Posture, ...]:
    if settings is None:
        return (Posture(sku="none", uplift_enabled=(None,)),)
    return (Posture(sku=settings.sku, uplift_enabled=(settings.disaster_recovery_enabled,)),)


SERVICE = ServiceSpec(
    type_token=TYPE_TOKEN,
    key="fabricCapacity",
    settings=FabricCapacitySettings,
    profile=PROFILE,
    deploy=deploy,
    posture=posture,
    example={"sku": "F2", "administrators": ["fabric-admin@contoso.com"], "disasterRecoveryEnabled": True},
    physical_names={"azure-native:fabric:FabricCapacity": "capacityName"},
)
