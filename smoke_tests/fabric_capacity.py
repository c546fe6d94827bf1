"""Microsoft Fabric capacity: the check its DR profile declares (components/fabric_capacity.py), on
Azure: ARM says the capacity's state is Active. A Paused or Suspended capacity runs no workspace
reassigned to it after a redeploy; a state on its way (Provisioning, Resuming) is worth waiting for."""

from __future__ import annotations

from smoke_tests.check import AZURE, TRANSPORT_DOUBLE, smoke
from smoke_tests.probe import IN_PROGRESS, ServiceProbe, provisioned

COMPONENT = "fabric_capacity"
CAPACITY_TYPE = "azure-native:fabric:FabricCapacity"


def fabric_capacity_active(probe: ServiceProbe) -> dict:
    return provisioned(probe, CAPACITY_TYPE, "state", frozenset({"Active"}), IN_PROGRESS | {"Preparing"})


CHECKS = (
    smoke(COMPONENT, "fabric-capacity-active", fabric_capacity_active, AZURE, plane="management",
          tested_against=TRANSPORT_DOUBLE + "a hand-written Microsoft.Fabric/capacities GET: no example of it "
                                            "in the specs kept here"),
)
