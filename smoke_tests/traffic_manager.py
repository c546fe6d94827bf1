"""Traffic Manager's checks, judged from the region being brought up (the probe's region, "here"):

- `profile-monitor-online`: profileMonitorStatus Online. Azure reports the profile Degraded as soon
  as ONE endpoint fails its probe, which is exactly the state of a failover (the region failed away
  from is down). So Degraded passes when every degraded endpoint is elsewhere and an endpoint here is
  Online, and the evidence says so; CheckingEndpoints (or this region's endpoint degraded, as while
  its application starts) is waited for; Inactive or Disabled is a verdict.
  https://learn.microsoft.com/azure/traffic-manager/traffic-manager-monitoring
- `endpoints-online`: every enabled endpoint here is Online; an enabled endpoint elsewhere may be
  Online or Degraded (the region failed away from); Stopped or Inactive on an enabled endpoint is a
  verdict; a disabled endpoint (endpointStatus Disabled, someone took it out) is listed, not judged.
- `fqdn-resolves-to-secondary`: the profile's FQDN (dnsConfig.fqdn) resolves, through dnspython, to
  the target of an enabled endpoint here. Another endpoint's target is worth another attempt after
  the profile's TTL (Traffic Manager switches once its probes fail, resolvers once the TTL expires).

The profile is global and owned by one stack (components/traffic_manager.py): the other stack finds it
in the owner's connectivity resource group, by the owner's names.
"""

from __future__ import annotations

from ipaddress import IPv4Address
from typing import Any

from components import naming
from smoke_tests.arm_state import get_id, properties
from smoke_tests.check import AZURE, SPEC_EXAMPLES, TRANSPORT_DOUBLE, PermanentError, TransientError, smoke
from smoke_tests.name_resolution import host, resolve
from smoke_tests.probe import ServiceProbe

COMPONENT = "traffic_manager"
PROFILE = "azure-native:trafficmanager:Profile"
ENDPOINT_VERDICTS = frozenset({"Stopped", "Inactive", "Disabled"})


def profile(probe: ServiceProbe) -> tuple[str, dict[str, Any]]:
    """(the profile's ARM id, its properties): the deployed profile, or the owning stack's."""
    if probe.resources_of(PROFILE) or getattr(probe.settings, "owner", True):
        recorded = probe.resource(PROFILE)
        return str(recorded["id"]), properties(probe.get(recorded))
    from components.naming import traffic_manager_profile_name as profile_name

    paired_prefix, paired_suffix = probe.names.get("paired_prefix"), probe.names.get("paired_suffix")
    if not paired_prefix or not paired_suffix:
        raise PermanentError(f"{COMPONENT}: not the owner, and the owning stack's prefix/nameSuffix are unknown")
    group = naming.resource_group_name(paired_prefix, "connectivity", paired_suffix)
    profile_id = (f"/subscriptions/{probe.names.get('subscription')}/resourceGroups/{group}/providers/"
                  f"Microsoft.Network/trafficManagerProfiles/{profile_name(paired_prefix, paired_suffix)}")
    return profile_id, properties(get_id(probe, profile_id, PROFILE))


def _region(text: Any) -> str:
    """"North Europe" (as ARM echoes an endpoint's location) and "northeurope" are one region."""
    return str(text or "").replace(" ", "").lower()


def endpoints(props: dict[str, Any]) -> list[dict[str, Any]]:
    found = []
    for endpoint in props.get("endpoints") or ():
        p = endpoint.get("properties") or {}
        found.append({"name": endpoint.get("name"), "region": _region(p.get("endpointLocation")),
                      "target": p.get("target"), "priority": p.get("priority"),
                      "enabled": p.get("endpointStatus") == "Enabled", "monitor": p.get("endpointMonitorStatus")})
    return found


def _here(probe: ServiceProbe) -> str:
    region = _region(probe.names.get("region"))
    if not region:
        raise PermanentError(f"{COMPONENT}: this stack's region is unknown: cannot tell which endpoint must be up")
    return region


def profile_monitor_online(probe: ServiceProbe) -> dict:
    profile_id, props = profile(probe)
    here, found = _here(probe), endpoints(props)
    status = (props.get("monitorConfig") or {}).get("profileMonitorStatus")
    evidence: dict[str, Any] = {"id": profile_id, "profileStatus": props.get("profileStatus"),
                                "profileMonitorStatus": status, "region": here, "endpoints": found}
    what = f"{COMPONENT}: profile {profile_id.rsplit('/', 1)[-1]}"
    if status == "Online":
        return {"check": "profile-monitor-online", "ok": True, **evidence}
    if status == "Degraded":
        degraded_here = [e["name"] for e in found if e["monitor"] == "Degraded" and e["region"] == here]
        online_here = [e["name"] for e in found if e["monitor"] == "Online" and e["region"] == here]
        if online_here and not degraded_here:
            away = sorted({e["region"] for e in found if e["monitor"] == "Degraded"})
            return {"check": "profile-monitor-online", "ok": True, **evidence,
                    "note": f"Degraded only by the endpoints of {', '.join(away)}, the region failed away from; "
                            f"{', '.join(online_here)} here Online"}
        raise TransientError(f"{what}: Degraded, and no endpoint in {here} is Online yet")
    if status == "CheckingEndpoints":
        raise TransientError(f"{what}: CheckingEndpoints: its probes have not judged the endpoints yet")
    raise PermanentError(f"{what}: profileMonitorStatus {status}: Traffic Manager answers for no endpoint", evidence)


def endpoints_online(probe: ServiceProbe) -> dict:
    profile_id, props = profile(probe)
    here, found = _here(probe), endpoints(props)
    evidence = {"id": profile_id, "region": here, "endpoints": found}
    what = f"{COMPONENT}: profile {profile_id.rsplit('/', 1)[-1]}"
    enabled = [e for e in found if e["enabled"]]
    if not any(e["region"] == here for e in enabled):
        raise PermanentError(f"{what}: no enabled endpoint in {here}: Traffic Manager cannot send clients here", evidence)
    stopped = [e for e in enabled if e["monitor"] in ENDPOINT_VERDICTS]
    if stopped:
        first = stopped[0]
        raise PermanentError(f"{what}: endpoint {first['name']} ({first['region']}) is enabled but {first['monitor']}",
                             evidence)
    waiting = [e for e in enabled if e["monitor"] == "CheckingEndpoint" or (e["region"] == here and e["monitor"] != "Online")]
    if waiting:
        first = waiting[0]
        raise TransientError(f"{what}: endpoint {first['name']} ({first['region']}) is {first['monitor']}, not Online yet")
    return {"check": "endpoints-online", "ok": True, **evidence,
            "degraded_elsewhere": [e["name"] for e in enabled if e["monitor"] == "Degraded"]}


def _is_address(target: str) -> bool:
    try:
        IPv4Address(target)
    except ValueError:
        return False
    return True


def fqdn_resolves_to_secondary(probe: ServiceProbe) -> dict:
    profile_id, props = profile(probe)
    here, found = _here(probe), endpoints(props)
    dns_config = props.get("dnsConfig") or {}
    fqdn = host(str(dns_config.get("fqdn") or ""))
    if not fqdn:
        raise PermanentError(f"{COMPONENT}: the profile {profile_id} has no dnsConfig.fqdn")
    mine = {host(str(e["target"])) for e in found if e["enabled"] and e["region"] == here and e["target"]}
    if not mine:
        raise PermanentError(f"{COMPONENT}: no enabled endpoint in {here} for {fqdn} to resolve to",
                             {"fqdn": fqdn, "endpoints": found})
    # A host-name endpoint is answered with a CNAME to it, an address endpoint with an A record.
    answer = resolve(probe, fqdn, "CNAME") or resolve(probe, fqdn, "A")
    evidence = {"fqdn": fqdn, "resolved": answer, "expected": sorted(mine), "region": here}
    if answer and mine & set(answer):
        return {"check": "fqdn-resolves-to-secondary", "ok": True, **evidence}
    others = {host(str(e["target"])): e["region"] for e in found if e["target"] and e["region"] != here}
    if answer and set(answer) & set(others):
        elsewhere = sorted(set(answer) & set(others))[0]
        raise TransientError(f"{COMPONENT}: {fqdn} still resolves to {elsewhere} ({others[elsewhere]}), not to "
                             f"{', '.join(sorted(mine))} in {here}", retry_after_s=float(dns_config.get("ttl") or 30))
    kind = "an address" if any(_is_address(t) for t in mine) else "a host name"
    raise PermanentError(f"{COMPONENT}: {fqdn} resolves to {answer or 'nothing'}, no endpoint of the profile "
                         f"(expected {kind} of {here}: {', '.join(sorted(mine))})", evidence)


_TM = SPEC_EXAMPLES + " (Profile-GET-WithEndpoints)"
CHECKS = (
    smoke(COMPONENT, "profile-monitor-online", profile_monitor_online, AZURE, plane="management", tested_against=_TM),
    smoke(COMPONENT, "endpoints-online", endpoints_online, AZURE, plane="management", tested_against=_TM),
    smoke(COMPONENT, "fqdn-resolves-to-secondary", fqdn_resolves_to_secondary, AZURE, plane="public",
          tested_against=_TM + " and " + TRANSPORT_DOUBLE + "dnspython answered by an in-memory nameserver "
          "(tests/smoke_tests/dns_double.py): no DNS in tests"),
)
