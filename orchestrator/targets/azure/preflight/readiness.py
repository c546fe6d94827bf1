"""DR readiness of the primary: were the geo-redundancy settings a restore needs in place?

A redeploy cannot add geo-redundancy after the disaster: GRS storage, PostgreSQL geo-redundant
backup (create-time only), SQL geo-replicated backups, a second Cosmos DB region and a vault's
Cross Region Restore all had to be on before. Each finding names the fix (the seed's uplift) and
what failing over without it costs in data.

The names come from the primary stack's own program graph. When the primary region is down its
resources may not answer: a dropped connection or a 5xx is a warning ("could not confirm"), not
a blocker, because the failover is exactly for that case.

What a redeploy from code would miss is redeploy_audit.py's.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

from azure.core.exceptions import HttpResponseError, ServiceRequestError, ServiceResponseError

from orchestrator.targets.azure.clients import AzureSession
from orchestrator.targets.azure.preflight.findings import Check, Severity, error_check, error_evidence, finding, passed
from orchestrator.targets.azure.preflight.platform import text
from stacks.config import StackConfig

if TYPE_CHECKING:

    from orchestrator.program.graph import Graph

GEO_SKUS = frozenset({"Standard_GRS", "Standard_RAGRS", "Standard_GZRS", "Standard_RAGZRS"})
READABLE_GEO_SKUS = frozenset({"Standard_RAGRS", "Standard_RAGZRS"})
STORAGE_FIX = "uplift to GRS/RA-GRS (seed: GRS recommended): dataplatform:lake.redundancy on the primary stack"
STORAGE_LOSS = "no copy in the secondary: data since the last backup is lost"
UNREACHABLE = "could not confirm readiness; the primary is unreachable"

# The kinds preflight reads, by Pulumi type token.
KINDS = {
    "azure-native:storage:StorageAccount": "storage",
    "azure-native:dbforpostgresql:Server": "postgres",
    "azure-native:sql:Database": "sql",
    "azure-native:cosmosdb:DatabaseAccount": "cosmos",
    "azure-native:recoveryservices:Vault": "recovery-vault",
}


@dataclass(frozen=True)
class Target:
    kind: str
    name: str
    resource_group: str
    component: str | None
    parent: str | None = None  # the SQL server of a database

    @property
    def check_id(self) -> str:
        return f"readiness.{self.kind}:{self.parent + '/' if self.parent else ''}{self.name}"


def _layer(component: str | None) -> str:
    # stacks/program.py: the foundation's own resources in its group, the hub in connectivity,
    # every data service (core and optional) in the data group.
    return component if component in ("foundation", "connectivity") else "data"


def primary_targets(graph: Graph) -> list[Target]:
    """The resources of the primary's graph whose redundancy a restore depends on."""
    groups = graph.outputs.get("resourceGroups") or {}
    servers = {
        r["component"]: r["physical_name"] for r in graph.resources if r["type"] == "azure-native:sql:Server"
    }
    targets = []
    for resource in graph.resources:
        kind = KINDS.get(resource["type"])
        name = resource["physical_name"]
        group = groups.get(_layer(resource["component"]))
        if kind is None or not name or not group:
            continue
        parent = servers.get(resource["component"]) if kind == "sql" else None
        if kind == "sql" and not parent:
            continue
        targets.append(Target(kind, name, group, resource["component"], parent))
    return targets


def readiness_checks(session: AzureSession, targets: list[Target], config: StackConfig, now: datetime) -> list[Check]:
    readers: dict[str, Callable[..., Check]] = {
        "storage": check_storage,
        "postgres": check_postgres,
        "sql": check_sql,
        "cosmos": check_cosmos,
        "recovery-vault": check_recovery_vault,
    }
    checks = []
    for target in targets:
        try:
            checks.append(readers[target.kind](session, target, config, now))
        except Exception as exc:
            checks.append(read_failure(target, exc))
    return checks


def _title(target: Target) -> str:
    return f"Primary {target.kind} {target.name} is ready for a restore in the secondary"


def read_failure(target: Target, exc: BaseException) -> Check:
    evidence = {"resource_group": target.resource_group, **error_evidence(exc)}
    status = getattr(exc, "status_code", None)
    unreachable = isinstance(exc, (ServiceRequestError, ServiceResponseError, ConnectionError, TimeoutError)) or (
        isinstance(exc, HttpResponseError) and status is not None and status >= 500
    )
    if unreachable:
        return finding(target.check_id, _title(target), "warning", UNREACHABLE, retriable=True, evidence=evidence)
    if status == 404:
        if target.kind == "sql":
            return finding(
                target.check_id, _title(target), "blocker",
                f"no geo-replicated backup of {target.parent}/{target.name} to restore from",
                fix="backup storage redundancy Geo or GeoZone on the primary database (seed: geo-redundant backup storage)",
                rpo_consequence="no geo-restore: the database comes back empty or from an export kept elsewhere",
                evidence=evidence,
            )
        return finding(
            target.check_id, _title(target), "warning",
            f"{target.name} was not found in {target.resource_group}: readiness could not be checked",
            evidence=evidence,
        )
    return error_check(target.check_id, _title(target), exc, f"reading {target.name}")


def _rpo(config: StackConfig, watermark: datetime | None, now: datetime) -> dict[str, Any]:
    if watermark is None:
        return {}
    estimate = (now - watermark).total_seconds()
    target = config.recovery.rpo_minutes * 60
    return {"watermark": watermark.isoformat(), "rpo_estimate_s": estimate, "rpo_target_s": target,
            "within_target": estimate <= target}


def check_storage(session: AzureSession, target: Target, config: StackConfig, now: datetime) -> Check:
    account = session.storage().storage_accounts.get_properties(
        target.resource_group, target.name, expand="geoReplicationStats"
    )
    sku = text(account.sku.name) if account.sku else None
    stats = account.geo_replication_stats
    evidence: dict[str, Any] = {
        "resource_group": target.resource_group, "sku": sku,
        "primary_location": account.primary_location, "secondary_location": account.secondary_location,
    }
    lake = target.component == "lake"
    if sku not in GEO_SKUS:
        return finding(
            target.check_id, _title(target), "blocker" if lake else "warning",
            f"{target.name} is {sku}: there is no copy outside the primary region",
            fix=STORAGE_FIX, rpo_consequence=STORAGE_LOSS, evidence=evidence,
        )
    if stats is not None:
        evidence.update(
            status=text(stats.status), can_failover=stats.can_failover,
            can_planned_failover=stats.can_planned_failover,
            last_sync_time=stats.last_sync_time.isoformat() if stats.last_sync_time else None,
            **_rpo(config, stats.last_sync_time, now),
        )
    loss = "writes after the last sync time are missing from the geo copy"
    fails_over = lake and config.restore.lake is not None and config.restore.lake.source == "account-failover"
    if fails_over and stats is not None and not stats.can_failover:
        # The chosen lake source is this account, failed over: nothing else to read if it cannot be.
        return finding(
            target.check_id, _title(target), "blocker",
            f"{target.name} cannot fail over now (canFailover false), and restore.lake.source is account-failover",
            fix="wait for canFailover, or set dataplatform:restore.lake.source to geo-secondary (RA-GRS)",
            rpo_consequence=loss, evidence=evidence,
        )
    if sku not in READABLE_GEO_SKUS:
        # GRS/GZRS keep a copy but only an account failover makes it readable.
        reads_secondary = lake and config.restore.lake is not None and config.restore.lake.source == "geo-secondary"
        can_failover = bool(stats and stats.can_failover)
        severity: Severity = "warning" if can_failover or not reads_secondary else "blocker"
        how = "a customer-managed account failover is possible (canFailover true)" if can_failover else (
            "and the account cannot fail over now (canFailover false)")
        return finding(
            target.check_id, _title(target), severity,
            f"{target.name} is {sku}: its secondary endpoint is not readable, {how}",
            fix="uplift to RA-GRS/RA-GZRS so the secondary can be read, or fail the account over "
                "(storage_accounts.begin_failover with failover_type=None)",
            rpo_consequence=loss, evidence=evidence,
        )
    if evidence.get("within_target") is False:
        minutes = evidence["rpo_estimate_s"] / 60
        return finding(
            target.check_id, _title(target), "warning",
            f"{target.name}'s geo copy was last synced {minutes:.0f} min ago, beyond the RPO target of "
            f"{config.recovery.rpo_minutes} min",
            fix="replay ingestion from the source after rehydration (the plan's replay step)",
            rpo_consequence=loss, evidence=evidence,
        )
    return passed(target.check_id, _title(target), f"{target.name} is {sku}; the secondary can be read", evidence)


def check_postgres(session: AzureSession, target: Target, config: StackConfig, now: datetime) -> Check:
    server = session.postgres().servers.get(target.resource_group, target.name)
    properties = server.properties
    backup = properties.backup if properties else None
    geo = text(backup.geo_redundant_backup) if backup else None
    earliest = backup.earliest_restore_date if backup else None
    evidence = {
        "resource_group": target.resource_group, "location": server.location, "geo_redundant_backup": geo,
        "backup_retention_days": backup.backup_retention_days if backup else None,
        "earliest_restore_date": earliest.isoformat() if earliest else None,
        "replication_role": text(properties.replication_role) if properties else None,
    }
    if geo == "Enabled":
        return passed(target.check_id, _title(target), f"{target.name} has geo-redundant backup", evidence)
    return finding(
        target.check_id, _title(target), "blocker",
        f"{target.name} has no geo-redundant backup ({geo}): a geo-restore into the secondary is impossible",
        fix="geo-redundant backup is set when a server is created and cannot be turned on later, nor after the "
            "disaster: create the primary with dataplatform:postgres.geoRedundantBackup true (seed: geo-redundant "
            "backup storage) and migrate to it",
        rpo_consequence="the secondary starts from the last pg_dump/backup kept outside the primary region; "
                        "everything written since is lost",
        evidence=evidence,
    )


def check_sql(session: AzureSession, target: Target, config: StackConfig, now: datetime) -> Check:
    database = session.sql().recoverable_databases.get(target.resource_group, target.parent, target.name)
    last = database.last_available_backup_date
    evidence = {
        "resource_group": target.resource_group, "server": target.parent,
        "last_available_backup_date": last.isoformat() if last else None, **_rpo(config, last, now),
    }
    if last is None:
        return finding(target.check_id, _title(target), "warning", "no last available backup date was reported",
                       evidence=evidence)
    if evidence["within_target"]:
        return passed(target.check_id, _title(target), f"geo-restore point {last.isoformat()} (the RPO watermark)", evidence)
    return finding(
        target.check_id, _title(target), "warning",
        f"the last geo-replicated backup ({last.isoformat()}) is older than the RPO target of "
        f"{config.recovery.rpo_minutes} min",
        fix="replay from the watermark after the geo-restore, or consider a failover group (seed uplift)",
        rpo_consequence=f"data written after {last.isoformat()} is not in the geo-restore", evidence=evidence,
    )


def check_cosmos(session: AzureSession, target: Target, config: StackConfig, now: datetime) -> Check:
    account = session.cosmos().database_accounts.get(target.resource_group, target.name)
    regions = [location.location_name for location in account.locations or []]
    policy = account.backup_policy
    periodic = getattr(policy, "periodic_mode_properties", None)
    redundancy = text(periodic.backup_storage_redundancy) if periodic else None
    evidence = {
        "resource_group": target.resource_group, "regions": regions,
        "automatic_failover": account.enable_automatic_failover,
        "backup_type": text(getattr(policy, "type", None)), "backup_storage_redundancy": redundancy,
    }
    if len(regions) >= 2:
        if account.enable_automatic_failover:
            return passed(target.check_id, _title(target), f"{len(regions)} regions with automatic failover", evidence)
        return finding(
            target.check_id, _title(target), "warning",
            f"{len(regions)} regions but automatic failover is off: the failover is a manual priority change",
            fix="enable automatic failover (seed: automatic failover enabled)", evidence=evidence,
        )
    # Continuous backups live only in the account's own regions; periodic ones can be geo-redundant
    # but are restored through a support request.
    geo_backup = redundancy == "Geo"
    return finding(
        target.check_id, _title(target), "warning" if geo_backup else "blocker",
        f"{target.name} has a single region ({', '.join(regions) or 'none'})",
        fix="add a second region with service-managed failover (seed: a second read region)",
        rpo_consequence=(
            "only the geo-redundant periodic backup remains, restored through a support request: data since "
            "the last backup is lost" if geo_backup else "no copy outside the primary region: the data is lost"
        ),
        evidence=evidence,
    )


def check_recovery_vault(session: AzureSession, target: Target, config: StackConfig, now: datetime) -> Check:
    vault = session.recovery_services().vaults.get(target.resource_group, target.name)
    settings = vault.properties.redundancy_settings if vault.properties else None
    crr = text(settings.cross_region_restore) if settings else None
    storage = text(settings.standard_tier_storage_redundancy) if settings else None
    evidence = {"resource_group": target.resource_group, "cross_region_restore": crr, "storage_redundancy": storage}
    if crr == "Enabled":
        return passed(target.check_id, _title(target), "Cross Region Restore is Enabled", evidence)
    return finding(
        target.check_id, _title(target), "warning", f"Cross Region Restore is {crr or 'not set'} on {target.name}",
        fix="enable Cross Region Restore (seed uplift; needs GeoRedundant storage and cannot be turned off again)",
        rpo_consequence="the vault's recovery points cannot be restored into the secondary until Microsoft "
                        "fails the primary region over",
        evidence=evidence,
    )
