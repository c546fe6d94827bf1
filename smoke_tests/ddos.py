"""The DDoS Network Protection plan's check, on Azure Resource Manager: the plan is Succeeded. The
evidence lists the virtual networks that reference it (the plan protects nothing until a VNet does)."""

from __future__ import annotations

from smoke_tests.arm_state import judge, name_of, properties
from smoke_tests.check import AZURE, TRANSPORT_DOUBLE, smoke
from smoke_tests.probe import ServiceProbe

COMPONENT = "ddos"
PLAN = "azure-native:network:DdosProtectionPlan"


def ddos_plan_provisioned(probe: ServiceProbe) -> dict:
    plan = probe.resource(PLAN)
    got = properties(probe.get(plan))
    evidence = {"id": plan["id"], "provisioningState": got.get("provisioningState"),
                "virtual_networks": sorted(str(v.get("id")) for v in got.get("virtualNetworks") or ())}
    judge(f"{COMPONENT}: protection plan {name_of(str(plan['id']))}", "provisioningState",
          evidence["provisioningState"], evidence)
    return {"check": "ddos-plan-provisioned", "ok": True, **evidence}


CHECKS = (
    smoke(COMPONENT, "ddos-plan-provisioned", ddos_plan_provisioned, AZURE, plane="management",
          tested_against=TRANSPORT_DOUBLE + "a plan GET body: no DDoS protection plan example in the specs kept here"),
)
