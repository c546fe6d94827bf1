"""DDoS Network Protection: a plan in the stack's region that the hub VNet's public IPs use.

The template for an optional service: a DR profile with the seed facts, a settings model (the
`dataplatform:ddos` key), a ComponentResource, and the ServiceSpec that ties them together.
"""

from __future__ import annotations

from typing import Any, Literal

import pulumi
from pulumi_azure_native import network

from components import naming
from components.placement import Placement
from components.profile import Dependency, DRProfile, Estimates, RecoveryAction, Responsibility, SeedFacts
from components.spec import Platform, Posture, ServiceSettings, ServiceSpec, StackFacts
from smoke_tests.ddos import CHECKS

TYPE_TOKEN = "dataplatform:connectivity:DdosProtection"

PROFILE = DRProfile(
    key="ddos",
    title="Azure DDoS Network Protection plan",
    stateful=False,
    recovery_action=RecoveryAction.REDEPLOY,
    checks=CHECKS,
    depends_on=(Dependency("foundation", "the plan lives in the connectivity resource group"),),
    priority=1,
    # The plan itself is a metadata object: about a minute.
    estimates=Estimates(deploy=60, smoke=30),
    seed=(
        SeedFacts(
            service="Azure DDoS",
            component_responsibility=Responsibility.MICROSOFT,
            workload_responsibility=Responsibility.CUSTOMER,
            sku_selected="DDoS Network Protection",
            uplift_options=("N/A, covered as part of the Azure service",),
        ),
    ),
    notes=("A plan can protect VNets in other subscriptions of the tenant; one per region keeps each stack self-contained.",),
)


class DdosSettings(ServiceSettings):
    # "plan": a DDoS Network Protection plan; IP Protection is per public IP and needs no plan.
    mode: Literal["plan"] = "plan"


class DdosProtection(pulumi.ComponentResource):
    def __init__(self, name: str, args: Placement, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__(TYPE_TOKEN, name, None, opts)
        self.plan = network.DdosProtectionPlan(
            f"{name}-plan",
            ddos_protection_plan_name=naming.check_name(
                "ddos protection plan", f"ddos-{args.prefix}-{args.name_suffix}", naming.GENERAL_NAME
            ),
            resource_group_name=args.resource_group_name,
            location=args.location,
            opts=pulumi.ResourceOptions(parent=self),
        )
        self.plan_id: pulumi.Output[str] = self.plan.id
        self.register_outputs({"plan_id": self.plan_id})


def deploy(context: Platform, settings: DdosSettings) -> dict[str, Any]:
    plan = DdosProtection(
        "ddos",
        Placement.from_context(context, layer="connectivity"),
    )
    return {"ddosProtectionPlanId": plan.plan_id}


def posture(config: StackFacts, settings: DdosSettings | None) -> tuple[Posture, ...]:
    # The seed lists no uplift: protection is part of the service.
    return (Posture(sku="DDoS Network Protection" if settings else "none", uplift_enabled=(None,)),)


SERVICE = ServiceSpec(
    type_token=TYPE_TOKEN,
    key="ddos",
    settings=DdosSettings,
    profile=PROFILE,
    deploy=deploy,
    posture=posture,
    example={"mode": "plan"},
    physical_names={"azure-native:network:DdosProtectionPlan": "ddosProtectionPlanName"},
)
