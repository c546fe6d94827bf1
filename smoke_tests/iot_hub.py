"""Azure IoT Hub's checks, all through Azure Resource Manager (no IoT Hub management package is
installed, so the operations go through the probe's ARM client; the REST API is
https://learn.microsoft.com/rest/api/iothub/iot-hub-resource):

- smoke `hub-active`: the hub's `state` is Active (a failover or activation on its way is retried);
- smoke `endpoint-health`: every routing endpoint's health (IotHubResource_GetEndpointHealth) is
  healthy or unknown (unknown: IoT Hub has not sent to it yet); degraded is retried, unhealthy or dead
  is a failure. With no custom endpoints the list is empty: the built-in endpoint has no health entry;
- data `device-count`: the registry's totalDeviceCount (IotHubResource_GetStats) is at least the
  count recorded before the disaster; a failover keeps the registry, so fewer is a loss. Without a
  record it is counted for the report only.

The specs' examples kept here have no IoT Hub payload: the tests answer with hand-written minimal
bodies at the transport (tests/smoke_tests/test_iot_hub.py).
"""

from __future__ import annotations

from typing import Any

from smoke_tests.arm_rest import arm_json, arm_list
from smoke_tests.check import AZURE, TRANSPORT_DOUBLE, PermanentError, TransientError, data, smoke
from smoke_tests.probe import ServiceProbe, provisioned

COMPONENT = "iot_hub"
HUB_TYPE = "azure-native:iothub:IotHubResource"
# https://learn.microsoft.com/rest/api/iothub/iot-hub-resource/get (IotHubProperties.state)
COMING_ACTIVE = frozenset({"Activating", "Transitioning", "Resuming", "FailingOver", "FailingBack", "Restoring"})
HEALTHY = frozenset({"healthy", "unknown"})
RETRYING = frozenset({"degraded"})
NO_PAYLOAD = TRANSPORT_DOUBLE + "hand-written IoT Hub ARM bodies: the spec examples kept here have none"


def hub_active(probe: ServiceProbe) -> dict:
    return provisioned(probe, HUB_TYPE, "state", frozenset({"Active"}), COMING_ACTIVE)


def endpoint_health(probe: ServiceProbe) -> dict:
    hub = probe.resource(HUB_TYPE)
    endpoints = arm_list(probe, f"{hub['id']}/routingEndpointsHealth", probe.api_version(hub))
    health = {str(e.get("endpointId")): str(e.get("healthStatus") or "unknown").lower() for e in endpoints}
    evidence: dict[str, Any] = {"id": hub["id"], "endpoints": health}
    failing = sorted(name for name, status in health.items() if status not in HEALTHY | RETRYING)
    if failing:
        errors = {str(e.get("endpointId")): e.get("lastKnownError") for e in endpoints
                  if str(e.get("endpointId")) in failing}
        raise PermanentError(f"iot hub: routing endpoint(s) {', '.join(f'{n} {health[n]}' for n in failing)}",
                             {**evidence, "last_known_errors": errors})
    retrying = sorted(name for name, status in health.items() if status in RETRYING)
    if retrying:
        raise TransientError(f"iot hub: routing endpoint(s) {', '.join(retrying)} degraded, IoT Hub is retrying")
    return evidence


def device_count(probe: ServiceProbe) -> tuple[list[str], dict]:
    """Judged against the baseline's `total_device_count` when recorded; counted otherwise."""
    hub = probe.resource(HUB_TYPE)
    stats = arm_json(probe, "GET", f"{hub['id']}/IotHubStats", probe.api_version(hub)) or {}
    facts = {key: stats.get(key) for key in ("totalDeviceCount", "enabledDeviceCount", "disabledDeviceCount")}
    recorded = (probe.baseline.get("device-count") or {}).get("total_device_count")
    found = facts["totalDeviceCount"]
    if found is None:
        return ["the hub's registry statistics carry no totalDeviceCount"], facts
    if recorded is None:
        return [], {**facts, "judged": "no baseline recorded: counted for the report"}
    mismatches = [] if found >= recorded else [
        f"the registry holds {found} device(s), {recorded} were recorded before the disaster "
        f"({recorded - found} missing)"]
    return mismatches, {**facts, "baseline_total_device_count": recorded}


CHECKS = (
    smoke(COMPONENT, "hub-active", hub_active, AZURE, plane="management", tested_against=NO_PAYLOAD),
    smoke(COMPONENT, "endpoint-health", endpoint_health, AZURE, plane="management", tested_against=NO_PAYLOAD),
    data(COMPONENT, "device-count", device_count, AZURE, plane="management", tested_against=NO_PAYLOAD),
)
