"""Preflight on PostgreSQL flexible server capacity: the stack's tier, SKU and version are offered in
the region, and geo-redundant backup where the stack wants it.

Asked of PostgreSQL's own location capabilities (CapabilitiesByLocation_List), not of Compute's VM
SKUs: a flexible server's `Standard_D2ds_v5` is PostgreSQL's offer, and a Compute restriction on
the VM size of the same name neither blocks nor allows it.
https://learn.microsoft.com/rest/api/postgresql/capabilities-by-location/list
"""

from __future__ import annotations

from typing import Any

from orchestrator.targets.azure.clients import AzureSession
from orchestrator.targets.azure.preflight.findings import Check, finding, passed
from orchestrator.targets.azure.preflight.needs import PostgresNeed
from orchestrator.targets.azure.preflight.platform import text

FIX = "choose a tier and SKU the region offers (dataplatform:postgres.tier / skuName), or another region"


def _named(items: Any, name: str) -> Any:
    return next((item for item in items or [] if (item.name or "").lower() == name.lower()), None)


def _disabled(capability: Any) -> str | None:
    """The reason a capability is listed but switched off (status Disabled), else None."""
    if text(getattr(capability, "status", None)) == "Disabled":
        return getattr(capability, "reason", None) or "Disabled"
    return None


def _geo_backup(capability: Any) -> bool:
    if text(capability.geo_backup_supported) == "Enabled":
        return True
    feature = _named(capability.supported_features, "GeoBackup")
    return feature is not None and text(feature.status) == "Enabled"


def check_postgres_sku(session: AzureSession, need: PostgresNeed | None, region: str) -> list[Check]:
    if need is None:
        return []
    check_id = f"sku.postgres:{need.sku}"
    title = f"PostgreSQL {need.tier} {need.sku} (version {need.version}) is offered in {region}"
    capabilities = list(session.postgres().capabilities_by_location.list(region))
    evidence: dict[str, Any] = {"sku": need.sku, "tier": need.tier, "version": need.version,
                                "geo_redundant_backup": need.geo_redundant_backup}
    if not capabilities:
        return [finding(check_id, title, "blocker", f"PostgreSQL lists no capabilities in {region}", fix=FIX,
                        evidence=evidence)]
    problems: list[str] = []
    fits: list[Any] = []  # the offered SKUs
    for capability in capabilities:
        if text(getattr(capability, "restricted", None)) == "Enabled":
            problems.append(f"{region} is restricted for this subscription")
            continue
        edition = _named(capability.supported_server_editions, need.tier)
        if edition is None:
            problems.append(f"tier {need.tier} is not offered")
            continue
        sku = _named(edition.supported_server_skus, need.sku)
        reason = _disabled(edition) or (_disabled(sku) if sku is not None else None)
        if sku is None or reason:
            problems.append(f"SKU {need.sku} is not offered in tier {need.tier}" + (f" ({reason})" if reason else ""))
            continue
        if _named(capability.supported_server_versions, need.version) is None:
            problems.append(f"version {need.version} is not offered")
            continue
        if need.geo_redundant_backup and not _geo_backup(capability):
            problems.append("geo-redundant backup is not supported")
            continue
        fits.append(sku)
    if fits:
        evidence["v_cores"] = fits[0].v_cores
        return [passed(check_id, title, f"{need.tier} {need.sku} is offered in {region}", evidence)]
    evidence["problems"] = problems
    return [finding(check_id, title, "blocker", f"PostgreSQL {need.tier} {need.sku} in {region}: {problems[0]}",
                    fix=FIX if "geo-redundant" not in problems[0] else
                    "geo-restore needs a region with geo-redundant backup: choose another, or switch geoRedundantBackup off",
                    evidence=evidence)]
