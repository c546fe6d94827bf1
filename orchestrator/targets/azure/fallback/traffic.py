"""Switching users back to the primary region, per the stack's `fallback.trafficSwitch`.

- traffic-manager: the profile (components/traffic_manager.py: `tm-<prefix>-<suffix>` in
  the owning stack's connectivity group) is read with the generic ARM client; with Priority
  routing the primary region's endpoint is made priority 1 and the others follow in their current
  order. Any other routing method is refused: priorities would not steer anyone, and drctl will
  not change a routing method behind the owning stack's back.
  The change is one PATCH of the profile carrying every endpoint, not one PATCH per endpoint:
  Traffic Manager refuses two endpoints with the same priority, which a sequence of single
  changes would pass through (https://learn.microsoft.com/rest/api/trafficmanager/endpoints).
- manual: a person switches (a CDN, a partner's DNS, ...) and records it, like a gate's approval.
- dns: not in this drctl; the step says so instead of passing.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from components import naming
from orchestrator.model import PermanentError, StepOutcome, TransientError
from orchestrator.targets.azure.errors import call, wait_for
from orchestrator.targets.azure.stores.databases import norm_region

if TYPE_CHECKING:
    from stacks.config import StackConfig

TM_API_VERSION = "2022-04-01"  # the Traffic Manager API the profile examples and pulumi declare
SWITCH_TIMEOUT_S = 600.0
DNS_NOT_YET = ("declared, not exercised on Azure: drctl has no DNS record switch yet; point the platform's "
               "record at the primary region by hand (or through the publicDns service and `pulumi up`)")
OWNER_NOTE = ("the owning stack declares these priorities (services trafficManager.endpoints): make its stack "
              "file agree, or its next `pulumi up` puts the old ones back")
READ_ONLY = ("endpointMonitorStatus",)


def profile_id(subscription_id: str, config: StackConfig) -> str:
    """The ARM id of the Traffic Manager profile users reach the platform through."""
    from components.traffic_manager import profile_name

    settings = config.optional_services.get("trafficManager")
    if settings is None:
        raise PermanentError("fallback.trafficSwitch is traffic-manager, but the trafficManager service is not in "
                             f"stack {config.stack}: no profile to switch")
    # Exactly one stack owns the global profile; the other only knows its name.
    prefix, suffix = ((config.prefix, config.name_suffix) if settings.owner
                      else (config.paired_prefix, config.paired_name_suffix))
    if not prefix or not suffix:
        raise PermanentError("the paired stack's prefix/nameSuffix are unknown: cannot name its Traffic Manager profile")
    group = naming.resource_group_name(prefix, "connectivity", suffix)
    return (f"/subscriptions/{subscription_id}/resourceGroups/{group}/providers/Microsoft.Network/"
            f"trafficManagerProfiles/{profile_name(prefix, suffix)}")


def _properties(resource: Any) -> dict:
    properties = getattr(resource, "properties", None)
    return properties if isinstance(properties, dict) else {}


def _endpoint_facts(properties: dict) -> list[dict]:
    return [{"name": e.get("name"), "location": (e.get("properties") or {}).get("endpointLocation"),
             "priority": (e.get("properties") or {}).get("priority"),
             "status": (e.get("properties") or {}).get("endpointStatus"),
             "monitor_status": (e.get("properties") or {}).get("endpointMonitorStatus")}
            for e in properties.get("endpoints") or []]


def prioritise_region(resources: Any, profile: str, region: str, *, timeout_s: float = SWITCH_TIMEOUT_S) -> StepOutcome:
    """Make `region`'s endpoint the profile's priority 1; the evidence has the endpoints before and after."""
    name = profile.rsplit("/", 1)[-1]
    what = f"Traffic Manager profile {name}"
    properties = _properties(call(what, resources.resources.get_by_id, profile, api_version=TM_API_VERSION))
    method = properties.get("trafficRoutingMethod")
    evidence: dict[str, Any] = {"profile_id": profile, "routing_method": method, "region": region,
                                "before": _endpoint_facts(properties)}
    if method != "Priority":
        raise PermanentError(f"{what} routes by {method}, not Priority: endpoint priorities would not send users to "
                             f"{region}; switch it by hand, or make the owning stack use Priority routing", evidence)
    endpoints = [e for e in properties.get("endpoints") or [] if isinstance(e, dict)]

    def priority(endpoint: dict) -> int:
        return int((endpoint.get("properties") or {}).get("priority") or 1000)

    mine = [e for e in endpoints if norm_region((e.get("properties") or {}).get("endpointLocation")) == norm_region(region)]
    if not mine:
        raise PermanentError(f"{what} has no endpoint in {region}: nothing to switch to", evidence)
    if not any((e.get("properties") or {}).get("endpointStatus") == "Enabled" for e in mine):
        raise PermanentError(f"{what}: the endpoint in {region} is disabled; priority 1 would not serve anyone",
                             evidence)
    ordered = sorted(mine, key=priority) + sorted((e for e in endpoints if e not in mine), key=priority)
    wanted = {e.get("name"): n for n, e in enumerate(ordered, start=1)}
    if all(priority(e) == wanted[e.get("name")] for e in endpoints):
        return StepOutcome(outputs={"active_region": region, "changed": False},
                           evidence={**evidence, "action": f"none: {region} already has priority 1", "after": evidence["before"]})
    body = {"properties": {"endpoints": [
        {"name": e.get("name"), "type": e.get("type"),
         "properties": {**{k: v for k, v in (e.get("properties") or {}).items() if k not in READ_ONLY},
                        "priority": wanted[e.get("name")]}} for e in endpoints]}}
    poller = call(f"{what}: endpoint priorities", resources.resources.begin_update_by_id, profile,
                  api_version=TM_API_VERSION, parameters=body)
    wait_for(f"{what}: endpoint priorities", poller, timeout_s)
    after = _properties(call(what, resources.resources.get_by_id, profile, api_version=TM_API_VERSION))
    evidence.update(after=_endpoint_facts(after), action=f"{region} set to priority 1, the others after it",
                    priorities=wanted, note=OWNER_NOTE)
    first = [e for e in evidence["after"] if e["priority"] == 1]
    if not first or norm_region(first[0]["location"]) != norm_region(region):
        raise TransientError(f"{what}: the update completed but {region} is not priority 1 yet")
    return StepOutcome(outputs={"active_region": region, "changed": True}, evidence=evidence)
