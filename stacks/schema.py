"""The shape of a stack file's `dataplatform:` keys, as pydantic models (aliases are the YAML keys)."""

from __future__ import annotations

import ipaddress
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from stacks.regions import AZURE_REGIONS

# The seeds' stateful and stateless foundational services that every data platform relies on.
DEFAULT_SAAS = (
    "entra_id", "subscriptions", "management_groups", "azure_devops",
    "azure_monitor", "cost_management", "defender_for_cloud",
)

# The smallest hub that still fits the subnets carved in components/connectivity.py.
MAX_PREFIX_LENGTH = 22


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)


class Services(_Model):
    # Core services are fields; optional services (components/services/) are extra keys, checked
    # against the registered services by stacks.config.
    model_config = ConfigDict(extra="allow", frozen=True, populate_by_name=True)

    firewall: bool = True
    lake: bool = True
    postgres: bool = True
    event_hubs: bool = Field(True, alias="eventHubs")
    data_factory: bool = Field(True, alias="dataFactory")


class FoundationConfig(_Model):
    log_retention_days: int = Field(30, alias="logRetentionDays", ge=30, le=730)
    key_vault_sku: Literal["standard", "premium"] = Field("standard", alias="keyVaultSku")
    recovery_vault_cross_region_restore: bool = Field(True, alias="recoveryVaultCrossRegionRestore")
    # Azure tags on every resource group: deleting a group deletes what is in it, so the groups are
    # what `drctl cleanup` finds a rehearsal's leftovers by (drctl-rehearsal, drctl-expires).
    tags: dict[str, str] = Field(default_factory=dict, max_length=50)

    @field_validator("tags")
    @classmethod
    def _azure_tags(cls, tags: dict[str, str]) -> dict[str, str]:
        # Azure's limits (https://learn.microsoft.com/azure/azure-resource-manager/management/tag-resources).
        for name, value in tags.items():
            if not name or len(name) > 512 or any(c in name for c in "<>%&\\?/"):
                raise ValueError(f"tag name {name!r}: 1-512 characters, none of <>%&\\?/")
            if len(value) > 256:
                raise ValueError(f"tag {name!r}: the value is over 256 characters")
        return tags


LakeRedundancy = Literal[
    "Standard_LRS", "Standard_ZRS", "Standard_GRS", "Standard_RAGRS", "Standard_GZRS", "Standard_RAGZRS"
]


ZoneName = Literal["raw", "enriched", "curated", "presentation"]


class ZonePolicy(_Model):
    """How one lake zone is protected and recovered (the seeds' "Backup and DR for data platforms")."""

    backup: bool
    replicated: bool = True
    # copy: rehydrated from the replicated copy or the backup; recreate: re-processed from source.
    recovery: Literal["copy", "recreate"] = "copy"
    load: Literal["incremental", "full-daily"] = "incremental"
    partitioning: Literal["none", "daily", "weekly", "monthly"] = "none"
    reprocess_minutes: int = Field(60, alias="reprocessMinutes", ge=1, le=10080)


# The seed's defaults per zone: raw is the platform's copy of the source, so backed up and
# replicated; enriched is fully automated, so a backup achieves little but a replicated copy
# saves expensive compute; curated may need rollback (backup) and partitioning bounds a reprocess;
# presentation is commonly reloaded in full daily, and backed up and replicated.
DEFAULT_ZONES: dict[str, dict] = {
    "raw": {"backup": True, "replicated": True},
    "enriched": {"backup": False, "replicated": True},
    "curated": {"backup": True, "replicated": True, "partitioning": "weekly"},
    "presentation": {"backup": True, "replicated": True, "load": "full-daily"},
}


class ModelPolicy(_Model):
    """The model layer: a daily full load needs no backup of its own (the lake's per-load folder is
    one) and is reloaded in a disaster; a partitioned incremental load needs backups of the
    increments and, to shorten reloads, a replicated copy of the model itself."""

    load: Literal["full-daily", "partitioned-incremental"] = "full-daily"
    backup: bool = False
    replicated: bool = False


class LakeConfig(_Model):
    # LRS is what the seeds' Contoso selected; the geo options are the DR uplift.
    redundancy: LakeRedundancy = "Standard_LRS"
    zones: dict[ZoneName, ZonePolicy] = Field(default_factory=lambda: _zones({}), validate_default=True)
    model: ModelPolicy = ModelPolicy()
    # Whether the system of record keeps its history, so raw could be recreated from it.
    source_retains_data: bool = Field(False, alias="sourceRetainsData")

    @field_validator("zones", mode="before")
    @classmethod
    def _merge_defaults(cls, value: object) -> object:
        return _zones(value) if isinstance(value, dict) else value


def _zones(overrides: dict) -> dict:
    """Each zone's settings over the seed's defaults: a stack file names only what it changes."""
    merged = {zone: dict(policy) for zone, policy in DEFAULT_ZONES.items()}
    for zone, policy in overrides.items():
        merged[zone] = {**merged.get(zone, {}), **policy} if isinstance(policy, dict) else policy
    return merged


class EntraAdmin(_Model):
    object_id: str = Field(alias="objectId", min_length=1)
    principal_name: str = Field(alias="principalName", min_length=1)
    principal_type: Literal["User", "Group", "ServicePrincipal"] = Field("Group", alias="principalType")


class PostgresConfig(_Model):
    sku_name: str = Field("Standard_D2ds_v5", alias="skuName", pattern=r"^Standard_[A-Za-z0-9_]+$")
    tier: Literal["Burstable", "GeneralPurpose", "MemoryOptimized"] = "GeneralPurpose"
    version: Literal["13", "14", "15", "16", "17"] = "16"
    storage_gb: int = Field(128, alias="storageGb", ge=32, le=32768)
    backup_retention_days: int = Field(7, alias="backupRetentionDays", ge=7, le=35)
    geo_redundant_backup: bool = Field(False, alias="geoRedundantBackup")
    databases: tuple[str, ...] = ("platform",)
    entra_admin: EntraAdmin | None = Field(None, alias="entraAdmin")

    @field_validator("databases")
    @classmethod
    def _database_names(cls, names: tuple[str, ...]) -> tuple[str, ...]:
        for name in names:
            if not name.isidentifier() or name.lower() != name:
                raise ValueError(f"database name {name!r} must be a lowercase identifier")
        if not names:
            raise ValueError("at least one database is needed")
        return names


class EventHub(_Model):
    name: str = Field(pattern=r"^[a-z0-9][a-z0-9._-]{0,49}$")
    partitions: int = Field(4, ge=1, le=32)
    retention_days: int = Field(1, alias="retentionDays", ge=1, le=7)


class EventHubsConfig(_Model):
    sku: Literal["Basic", "Standard", "Premium"] = "Standard"
    capacity: int = Field(1, ge=1, le=40)
    hubs: tuple[EventHub, ...] = (EventHub(name="telemetry"),)


class DataFactoryConfig(_Model):
    pipelines_dir: str = Field("pipelines", alias="pipelinesDir")


class RecoveryTargets(_Model):
    rto_minutes: int = Field(240, alias="rtoMinutes", gt=0)
    rpo_minutes: int = Field(60, alias="rpoMinutes", gt=0)


class PostgresRestore(_Model):
    mode: Literal["GeoRestore"] = "GeoRestore"
    # Defaults to the paired stack's server, derived from its prefix and suffix.
    source_server_id: str | None = Field(None, alias="sourceServerId", pattern=r"^/subscriptions/.+/flexibleServers/[^/]+$")
    point_in_time_utc: str | None = Field(None, alias="pointInTimeUtc")


class LakeRestore(_Model):
    source: Literal["geo-secondary", "backup-account"] = "geo-secondary"
    source_account: str | None = Field(None, alias="sourceAccount", pattern=r"^[a-z0-9]{3,24}$")


class RestoreSources(_Model):
    postgres: PostgresRestore | None = None
    lake: LakeRestore | None = None


class FallbackConfig(_Model):
    """How `drctl fallback` returns to this (primary) stack once its region is healthy again."""

    # The seed's parallel run: both regions ingest and are compared before the secondary goes.
    parallel_run_minutes: int = Field(60, alias="parallelRunMinutes", ge=0, le=7 * 24 * 60)
    # decommission: the secondary's resources are removed; strip-back: its data services are
    # stopped and emptied, the foundation and network stay for the next failover.
    secondary_strategy: Literal["decommission", "strip-back"] = Field("strip-back", alias="secondaryStrategy")
    # How users reach the platform: Traffic Manager endpoint priorities, a DNS record, or a person.
    traffic_switch: Literal["traffic-manager", "dns", "manual"] = Field("manual", alias="trafficSwitch")


class StackValues(_Model):
    """The stack's keys without their namespace, as a single validated object."""

    location: str
    role: Literal["primary", "secondary"]
    paired_stack: str = Field(alias="pairedStack", pattern=r"^[A-Za-z0-9_.-]+$")
    paired_region: str = Field(alias="pairedRegion")
    prefix: str = Field(pattern=r"^[a-z][a-z0-9]{1,9}$")
    name_suffix: str = Field(alias="nameSuffix", pattern=r"^[a-z0-9]{2,6}$")
    address_space: str = Field(alias="addressSpace")
    services: Services = Services()
    foundation: FoundationConfig = FoundationConfig()
    lake: LakeConfig = LakeConfig()
    postgres: PostgresConfig = PostgresConfig()
    event_hubs: EventHubsConfig = Field(EventHubsConfig(), alias="eventHubs")
    data_factory: DataFactoryConfig = Field(DataFactoryConfig(), alias="dataFactory")
    recovery: RecoveryTargets = RecoveryTargets()
    restore: RestoreSources = RestoreSources()
    fallback: FallbackConfig = FallbackConfig()
    # The Microsoft-recovered and SaaS services (components/catalog.py) the platform relies on:
    # each gets a readiness check or a manual confirmation step in the plan.
    saas: tuple[str, ...] = DEFAULT_SAAS

    @field_validator("location", "paired_region")
    @classmethod
    def _known_region(cls, region: str) -> str:
        if region not in AZURE_REGIONS:
            raise ValueError(f"unknown Azure region {region!r} (use the programmatic name, e.g. australiaeast)")
        return region

    @field_validator("address_space")
    @classmethod
    def _private_cidr(cls, value: str) -> str:
        try:
            network = ipaddress.ip_network(value, strict=True)
        except ValueError as exc:
            raise ValueError(f"{value!r} is not a CIDR block ({exc})") from None
        if network.version != 4 or not network.is_private:
            raise ValueError(f"{value} must be a private IPv4 range")
        if network.prefixlen > MAX_PREFIX_LENGTH:
            raise ValueError(f"{value} is too small: the hub needs at least a /{MAX_PREFIX_LENGTH}")
        return value
