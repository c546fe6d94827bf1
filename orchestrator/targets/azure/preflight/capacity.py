"""Preflight on capacity: the SKUs the stack needs are offered and unrestricted, and quota is left.

A SKU restricted with reasonCode NotAvailableForSubscription cannot be deployed until Microsoft
lifts it (a support request), which is exactly what must not be discovered during a failover:
https://learn.microsoft.com/azure/azure-resource-manager/troubleshooting/error-sku-not-available
"""

from __future__ import annotations

from typing import Any

from orchestrator.targets.azure.clients import AzureSession
from orchestrator.targets.azure.preflight.findings import Check, finding, passed
from orchestrator.targets.azure.preflight.needs import Needs, norm_location
from orchestrator.targets.azure.preflight.platform import text

SKU_FIX = "choose another size or SKU in the stack file, or ask Microsoft to enable it for the subscription"
QUOTA_FIX = "request a quota increase for {what} in {region} (Azure portal > Quotas) before the failover"
# Network quota names that count the Standard public IPs the program declares (Azure Firewall and
# gateways need Standard SKU addresses); whichever the region reports is checked.
PUBLIC_IP_USAGES = ("PublicIPAddresses", "StandardSkuPublicIpAddresses")


def _restrictions(sku: Any) -> list[Any]:
    return list(getattr(sku, "restrictions", None) or [])


def _restriction_values(restriction: Any) -> list[str]:
    # The models are mappings, so the wire field `values` is exposed as `values_property`.
    return [str(v) for v in (getattr(restriction, "values_property", None) or [])]


def _blocking(restriction: Any, region: str) -> bool:
    """A Location restriction that covers the region (the values list names locations)."""
    if text(restriction.type) != "Location":
        return False
    values = _restriction_values(restriction)
    return not values or norm_location(region) in {norm_location(v) for v in values}


def _restriction_evidence(restriction: Any) -> dict[str, Any]:
    return {
        "type": text(restriction.type),
        "reason_code": text(restriction.reason_code),
        "values": _restriction_values(restriction),
    }


def check_compute_skus(session: AzureSession, needs: Needs) -> tuple[list[Check], dict[str, int]]:
    """Each VM size offered and unrestricted; returns the vCPUs per family that draw on quota."""
    if not needs.vm_sizes:
        return [], {}
    region = needs.region
    # Filtering by location is the one filter the API supports; it keeps the answer small.
    skus = {
        (sku.name or "").lower(): sku
        for sku in session.compute().resource_skus.list(filter=f"location eq '{region}'")
        if (sku.resource_type or "") == "virtualMachines"
    }
    checks: list[Check] = []
    families: dict[str, int] = {}
    for need in needs.vm_sizes:
        check_id, title = f"sku.compute:{need.size}", f"VM size {need.size} ({need.purpose}) is available in {region}"
        sku = skus.get(need.size.lower())
        if sku is None:
            checks.append(
                finding(check_id, title, "blocker", f"{need.size} is not offered in {region}", fix=SKU_FIX,
                        evidence={"size": need.size, "purpose": need.purpose})
            )
            continue
        vcpus = _capability(sku, "vCPUs")
        evidence = {"size": need.size, "purpose": need.purpose, "family": sku.family, "vcpus": vcpus}
        restrictions = _restrictions(sku)
        if restrictions:
            evidence["restrictions"] = [_restriction_evidence(r) for r in restrictions]
        blocking = [r for r in restrictions if _blocking(r, region)]
        if blocking:
            reason = text(blocking[0].reason_code) or "restricted"
            checks.append(
                finding(check_id, title, "blocker", f"{need.size} is restricted in {region} ({reason})",
                        fix=SKU_FIX, evidence=evidence)
            )
            continue
        if restrictions:
            # Zone restrictions leave the size usable in the other zones.
            checks.append(
                finding(check_id, title, "warning", f"{need.size} is restricted in some zones of {region}",
                        fix="deploy without a zone pin, or into an unrestricted zone", evidence=evidence)
            )
        else:
            checks.append(passed(check_id, title, f"{need.size} is offered in {region}", evidence))
        if need.compute_quota and sku.family:
            families[sku.family] = families.get(sku.family, 0) + int(vcpus or 0)
    return checks, families


def _capability(sku: Any, name: str) -> int | None:
    for capability in getattr(sku, "capabilities", None) or []:
        if capability.name == name:
            try:
                return int(float(capability.value))
            except (TypeError, ValueError):
                return None
    return None


def check_storage_skus(session: AzureSession, needs: Needs) -> list[Check]:
    if not needs.storage_skus:
        return []
    region = needs.region
    entries: dict[str, list[Any]] = {}
    for sku in session.storage().skus.list():
        entries.setdefault((text(sku.name) or "").lower(), []).append(sku)
    checks = []
    for name, who in sorted(needs.storage_skus.items()):
        check_id, title = f"sku.storage:{name}", f"Storage SKU {name} ({who}) is available in {region}"
        here = [s for s in entries.get(name.lower(), []) if norm_location(region) in {norm_location(x) for x in s.locations or []}]
        evidence: dict[str, Any] = {"sku": name, "needed_by": who, "kinds": sorted({text(s.kind) or "" for s in here})}
        if not here:
            checks.append(finding(check_id, title, "blocker", f"{name} is not offered in {region}", fix=SKU_FIX, evidence=evidence))
            continue
        usable = [s for s in here if not any(_blocking(r, region) for r in _restrictions(s))]
        if not usable:
            restriction = next(r for s in here for r in _restrictions(s) if _blocking(r, region))
            evidence["restrictions"] = [_restriction_evidence(restriction)]
            reason = text(restriction.reason_code) or "restricted"
            checks.append(finding(check_id, title, "blocker", f"{name} is restricted in {region} ({reason})", fix=SKU_FIX, evidence=evidence))
            continue
        checks.append(passed(check_id, title, f"{name} is offered in {region}", evidence))
    return checks


def check_vcpu_quota(session: AzureSession, region: str, families: dict[str, int]) -> list[Check]:
    title = f"Compute vCPU quota in {region} covers the stack"
    if not families:
        return [passed("quota.vcpu", title, "no resource of this stack draws on Compute vCPU quota", {"families": {}})]
    usages = {(u.name.value or "").lower(): u for u in session.compute().usage.list(region) if u.name}
    checks = []
    for family, needed in sorted(families.items()):
        check_id = f"quota.vcpu:{family}"
        usage = usages.get(family.lower())
        if usage is None:
            checks.append(finding(check_id, title, "warning", f"{region} reports no quota for {family}",
                                  evidence={"family": family, "needed": needed}))
            continue
        checks.append(_headroom(check_id, title, family, usage, needed, region))
    total = usages.get("cores")  # "Total Regional vCPUs": every family also counts against it
    if total is not None:
        checks.append(_headroom("quota.vcpu:cores", title, "cores", total, sum(families.values()), region))
    return checks


def check_public_ip_quota(session: AzureSession, needs: Needs) -> list[Check]:
    title = f"Public IP quota in {needs.region} covers the stack"
    if needs.public_ips == 0:
        return [passed("quota.public-ips", title, "the stack declares no public IP address", {"needed": 0})]
    usages = {u.name.value: u for u in session.network().usages.list(needs.region) if u.name}
    found = [usages[name] for name in PUBLIC_IP_USAGES if name in usages]
    if not found:
        return [finding("quota.public-ips", title, "warning", f"{needs.region} reports no public IP quota",
                        evidence={"needed": needs.public_ips})]
    results = [_headroom("quota.public-ips", title, u.name.value, u, needs.public_ips, needs.region) for u in found]
    short = [c for c in results if c.status != "pass"]
    return [short[0] if short else results[0]]


def _headroom(check_id: str, title: str, what: str, usage: Any, needed: int, region: str) -> Check:
    current, limit = float(usage.current_value or 0), float(usage.limit or 0)
    evidence = {"quota": what, "current": current, "limit": limit, "needed": needed, "free": limit - current}
    if current + needed > limit:
        return finding(
            check_id, title, "blocker",
            f"{what}: {current:g} of {limit:g} used, the stack needs {needed} more",
            fix=QUOTA_FIX.format(what=what, region=region), evidence=evidence,
        )
    return passed(check_id, title, f"{what}: {current:g} of {limit:g} used, {needed} needed", evidence)
