"""Network Watcher's check, on Azure Resource Manager: the region's watcher exists and is Succeeded.

The watcher is Azure's, not the stack's (components/network_watcher.py): unless the stack adopts it,
the deploy records nothing, and the watcher is found where Azure puts it, NetworkWatcher_<region> in
NetworkWatcherRG. A 404 there means the subscription opted out of its automatic creation.
"""

from __future__ import annotations

from smoke_tests.arm_state import get_id, judge, properties
from smoke_tests.check import AZURE, TRANSPORT_DOUBLE, PermanentError, smoke
from smoke_tests.probe import ServiceProbe

COMPONENT = "network_watcher"
WATCHER = "azure-native:network:NetworkWatcher"


def network_watcher_present(probe: ServiceProbe) -> dict:
    # Imported here: components/network_watcher.py imports this module for its CHECKS.
    from components.naming import network_watcher_id as watcher_id

    adopted = probe.resources_of(WATCHER)
    if adopted:
        resource_id, got = str(adopted[0]["id"]), probe.get(adopted[0])
    else:
        subscription, region = probe.names.get("subscription"), probe.names.get("region")
        if not subscription or not region:
            raise PermanentError(f"{COMPONENT}: the subscription or region is unknown: cannot name the region's watcher")
        resource_id = watcher_id(subscription, region)
        try:
            got = get_id(probe, resource_id, WATCHER)
        except PermanentError as err:
            if (err.evidence or {}).get("status") != 404:
                raise
            raise PermanentError(f"{COMPONENT}: no Network Watcher at {resource_id}: Azure creates it with the "
                                 "region's first VNet unless the subscription opted out; create it, or adopt one",
                                 err.evidence) from None
    evidence = {"id": resource_id, "adopted": bool(adopted), "location": got.get("location"),
                "provisioningState": properties(got).get("provisioningState")}
    judge(f"{COMPONENT}: {resource_id.rsplit('/', 1)[-1]}", "provisioningState", evidence["provisioningState"], evidence)
    return {"check": "network-watcher-present", "ok": True, **evidence}


CHECKS = (
    smoke(COMPONENT, "network-watcher-present", network_watcher_present, AZURE, plane="management",
          tested_against=TRANSPORT_DOUBLE + "a watcher GET body: no Network Watcher example in the specs kept here"),
)
