"""Public DNS's checks: what Azure DNS holds (ARM) against what the internet resolves (dnspython,
smoke_tests/name_resolution.py):

- `zone-name-servers`: the zone's nameServers from its ARM GET, and the zone's NS as resolvers see it
  include every one of them: resolution reaches this Azure zone (a delegation to other servers, or
  none, does not).
- `records-resolve`: every record set this stack deployed resolves to what the record set holds in
  ARM. A resolver may keep the old answer for the record's TTL, so a difference is worth another
  attempt after it.

Only one stack owns the zone (components/public_dns.py): the other finds it in the owning stack's
connectivity resource group (or the one `resourceGroup` names). While that group's region is down
the zone still resolves, but ARM may not answer for it: the check then fails on the GET, not on DNS.
"""

from __future__ import annotations

from typing import Any

from components import naming
from smoke_tests.arm_state import get_id, name_of, properties
from smoke_tests.check import AZURE, TRANSPORT_DOUBLE, PermanentError, TransientError, smoke
from smoke_tests.name_resolution import host, resolve
from smoke_tests.probe import ServiceProbe

COMPONENT = "public_dns"
ZONE = "azure-native:dns:Zone"
RECORD_SET = "azure-native:dns:RecordSet"


def zone(probe: ServiceProbe) -> tuple[str, dict[str, Any]]:
    """(the zone's ARM id, its GET): the deployed zone, or the owning stack's."""
    settings = probe.settings
    if probe.resources_of(ZONE) or getattr(settings, "owner", False) or settings is None:
        recorded = probe.resource(ZONE)
        return str(recorded["id"]), probe.get(recorded)
    group = settings.resource_group
    if not group:
        paired_prefix, paired_suffix = probe.names.get("paired_prefix"), probe.names.get("paired_suffix")
        if not paired_prefix or not paired_suffix:
            raise PermanentError(f"{COMPONENT}: not the owner, and the owning stack's prefix/nameSuffix are unknown")
        group = naming.resource_group_name(paired_prefix, "connectivity", paired_suffix)
    zone_id = (f"/subscriptions/{probe.names.get('subscription')}/resourceGroups/{group}"
               f"/providers/Microsoft.Network/dnszones/{settings.zone_name}")
    return zone_id, get_id(probe, zone_id, ZONE)


def zone_name_servers(probe: ServiceProbe) -> dict:
    zone_id, got = zone(probe)
    zone_name = host(str(got.get("name") or name_of(zone_id)))
    azure = sorted(host(str(ns)) for ns in properties(got).get("nameServers") or ())
    evidence: dict[str, Any] = {"zone": zone_name, "id": zone_id, "azure_name_servers": azure}
    if not azure:
        raise PermanentError(f"{COMPONENT}: zone {zone_name} lists no name servers in ARM", evidence)
    resolved = resolve(probe, zone_name, "NS")
    evidence["resolved_name_servers"] = resolved
    if resolved is None:
        raise PermanentError(f"{COMPONENT}: {zone_name} has no NS records resolvers can find: delegate it at its "
                             f"parent to {', '.join(azure)}", evidence)
    missing = sorted(set(azure) - set(resolved))
    if missing:
        raise PermanentError(f"{COMPONENT}: {zone_name} resolves to name servers {', '.join(resolved)}, not Azure's "
                             f"{', '.join(missing)}: the delegation points elsewhere", evidence)
    return {"check": "zone-name-servers", "ok": True, **evidence}


def _held(kind: str, props: dict[str, Any]) -> list[str] | None:
    """What the record set holds, as resolution gives it; None for a type drctl does not compare."""
    if kind == "A":
        return sorted(str(r.get("ipv4Address")) for r in props.get("ARecords") or ())
    if kind == "CNAME":
        return [host(str((props.get("CNAMERecord") or {}).get("cname", "")))]
    return None


def records_resolve(probe: ServiceProbe) -> dict:
    records = probe.resources_of(RECORD_SET)
    if not records:
        if getattr(probe.settings, "records", ()):
            probe.resource(RECORD_SET)  # declared but not recorded: a failure naming the type
        return {"check": "records-resolve", "ok": True, "records": {}, "note": "the stack declares no record set"}
    checked: dict[str, Any] = {}
    stale, ttl = [], 0
    for record in records:
        kind = str(record["id"]).rstrip("/").split("/")[-2].upper()
        props = properties(probe.get(record))
        fqdn = host(str(props.get("fqdn") or name_of(str(record["id"]))))
        held = _held(kind, props)
        if held is None:
            checked[fqdn] = {"type": kind, "note": "not compared: only A and CNAME record sets are declared"}
            continue
        resolved = resolve(probe, fqdn, kind)
        checked[fqdn] = {"type": kind, "held": held, "resolved": resolved, "ttl": props.get("TTL")}
        if resolved != held:
            stale.append(fqdn)
            ttl = max(ttl, int(props.get("TTL") or 0))
    if stale:
        first = checked[stale[0]]
        raise TransientError(f"{COMPONENT}: {stale[0]} {first['type']} resolves to {first['resolved']}, Azure DNS holds "
                             f"{first['held']} ({len(stale)} record(s) differ; resolvers keep an answer up to its TTL)",
                             retry_after_s=float(ttl or 60))
    return {"check": "records-resolve", "ok": True, "records": checked}


_DNS_DOUBLE = "dnspython answered by an in-memory nameserver (tests/smoke_tests/dns_double.py): no DNS in tests"
CHECKS = (
    smoke(COMPONENT, "zone-name-servers", zone_name_servers, AZURE, plane="public",
          tested_against=TRANSPORT_DOUBLE + "a DNS zone GET body (no Azure DNS example in the specs kept here); "
          + _DNS_DOUBLE),
    smoke(COMPONENT, "records-resolve", records_resolve, AZURE, plane="public",
          tested_against=TRANSPORT_DOUBLE + "record set GET bodies (no Azure DNS example in the specs kept here); "
          + _DNS_DOUBLE),
)
