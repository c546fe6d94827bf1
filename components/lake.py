"""The data lake: one ADLS Gen2 account with the raw, enriched, curated and presentation zones."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import pulumi
from pulumi_azure_native import storage
from pydantic import Field, field_validator

from components import naming
from components.profile import (
    DataRecovery,
    Dependency,
    DRProfile,
    Estimates,
    RecoveryAction,
    Responsibility,
    SeedFacts,
)
from components.spec import Platform, Posture, ServiceSettings, ServiceSpec, StackFacts
from smoke_tests.lake import CHECKS

TYPE_TOKEN = "dataplatform:data:Lake"

# The zones data moves through, in order; one container (ADLS file system) each.
ZONES = ("raw", "enriched", "curated", "presentation")

PROFILE = DRProfile(
    key="lake",
    title="Data lake (ADLS Gen2): raw, enriched, curated, presentation",
    stateful=True,
    recovery_action=RecoveryAction.REDEPLOY_REHYDRATE,
    checks=CHECKS,
    data_recovery=DataRecovery(
        source=("the primary account's geo-redundant copy (its RA-GRS secondary endpoint), relayed through drctl "
                "(restore.lake.copy: relay, the default) or copied server-side"),
        replay="the repository's ingest_events pipeline re-run from the lake's recovered watermark",
        source_uplifts=((0, 0),),
    ),
    depends_on=(
        Dependency("foundation", "the account lives in the data resource group"),
        Dependency("connectivity", "its blob/dfs endpoints resolve through the hub's private DNS zones"),
    ),
    priority=2,
    # Account and containers: about a minute. Rehydration reads the primary's geo-secondary (RA-GRS)
    # endpoint; half an hour covers a modest lake, large ones scale with size and blob count
    # (docs/performance-notes.md sizes the relay at about 2.4 ms of drctl's CPU a small blob).
    estimates=Estimates(deploy=60, rehydrate=1800, validate=300, replay=600, smoke=60),
    seed=(
        SeedFacts(
            service="Storage Account: Azure Data Lake Gen2",
            component_responsibility=Responsibility.MICROSOFT,
            workload_responsibility=Responsibility.CUSTOMER,
            sku_selected="LRS",
            uplift_options=(
                "Geo-redundant storage (GRS / RA-GRS / GZRS / RA-GZRS): a copy in the paired region",
            ),
        ),
    ),
    notes=(
        "Rehydration needs the primary to have been geo-redundant before the disaster: LRS cannot be "
        "uplifted after the fact.",
        "The account name differs per region: storage names are global DNS labels.",
    ),
)


# Stack outputs, read by drctl and the smoke tests.
ACCOUNT_NAME_OUTPUT = "lakeAccountName"
BLOB_ENDPOINT_OUTPUT = "lakeBlobEndpoint"
DFS_ENDPOINT_OUTPUT = "lakeDfsEndpoint"
CONTAINERS_OUTPUT = "lakeContainers"

Redundancy = Literal[
    "Standard_LRS", "Standard_ZRS", "Standard_GRS", "Standard_RAGRS", "Standard_GZRS", "Standard_RAGZRS"
]
GEO_REDUNDANT = frozenset({"Standard_GRS", "Standard_RAGRS", "Standard_GZRS", "Standard_RAGZRS"})
ZoneName = Literal["raw", "enriched", "curated", "presentation"]


class ZonePolicy(ServiceSettings):
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


class ModelPolicy(ServiceSettings):
    """The model layer: a daily full load needs no backup of its own (the lake's per-load folder is
    one) and is reloaded in a disaster; a partitioned incremental load needs backups of the
    increments and, to shorten reloads, a replicated copy of the model itself."""

    load: Literal["full-daily", "partitioned-incremental"] = "full-daily"
    backup: bool = False
    replicated: bool = False


class LakeSettings(ServiceSettings):
    # LRS is what the seeds' Contoso selected; the geo options are the DR uplift.
    redundancy: Redundancy = "Standard_LRS"
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


class LakeRestore(ServiceSettings):
    """Where the secondary's lake is rehydrated from, and how (`dataplatform:restore.lake`).

    source: geo-secondary reads the primary account's RA-GRS secondary endpoint; backup-account
    reads `sourceAccount`; account-failover first fails the primary account over (unplanned: it
    becomes LRS in the paired region, and writes after its lastSyncTime are lost), then reads it.
    copy: relay moves the bytes through the machine that runs drctl, which works with a source
    whose public network access is Disabled; server-side (Copy Blob) needs the new account's
    storage service to reach the source, which a private-only source refuses."""

    source: Literal["geo-secondary", "backup-account", "account-failover"] = "geo-secondary"
    source_account: str | None = Field(None, alias="sourceAccount", pattern=r"^[a-z0-9]{3,24}$")
    copy_method: Literal["relay", "server-side"] = Field("relay", alias="copy")
    # Payload held in memory per blob in flight; a blob larger than 50,000 chunks gets larger ones.
    relay_chunk_mib: int = Field(8, alias="relayChunkMiB", ge=1, le=4000)
    # An unplanned account failover usually completes within an hour (Azure's guidance).
    failover_timeout_minutes: int = Field(60, alias="failoverTimeoutMinutes", ge=1, le=24 * 60)
    # Azure RBAC role assignments can take up to about 10 minutes to take effect.
    role_propagation_minutes: int = Field(10, alias="rolePropagationMinutes", ge=0, le=60)


@dataclass(frozen=True)
class LakeArgs:
    location: str
    prefix: str
    name_suffix: str
    resource_group_name: pulumi.Input[str]
    # LRS is the seeds' selection; a geo option is what makes rehydration from the pair possible.
    redundancy: str = "Standard_LRS"


class Lake(pulumi.ComponentResource):
    """ADLS Gen2 account with one private container per zone."""

    def __init__(self, name: str, args: LakeArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__(TYPE_TOKEN, name, None, opts)
        child = pulumi.ResourceOptions(parent=self)

        self.account = storage.StorageAccount(
            f"{name}-account",
            account_name=naming.storage_account_name(args.prefix, args.name_suffix),
            resource_group_name=args.resource_group_name,
            location=args.location,
            kind="StorageV2",
            sku=storage.SkuArgs(name=args.redundancy),
            # Hierarchical namespace is what makes the account ADLS Gen2 (directories, POSIX ACLs);
            # it can only be chosen at creation.
            is_hns_enabled=True,
            access_tier="Hot",
            enable_https_traffic_only=True,
            minimum_tls_version="TLS1_2",
            # No anonymous reads, whatever a container's setting says.
            allow_blob_public_access=False,
            # Entra ID (RBAC) only: account keys and SAS signed with them stop working.
            allow_shared_key_access=False,
            default_to_o_auth_authentication=True,
            # Clients come through the hub's private endpoints (blob, dfs), never the internet.
            public_network_access="Disabled",
            opts=child,
        )

        self.containers: dict[str, storage.BlobContainer] = {
            zone: storage.BlobContainer(
                f"{name}-{zone}",
                container_name=zone,
                account_name=self.account.name,
                resource_group_name=args.resource_group_name,
                public_access="None",
                opts=child,
            )
            for zone in ZONES
        }

        self.account_name: pulumi.Output[str] = self.account.name
        self.account_id: pulumi.Output[str] = self.account.id
        # Public-cloud endpoint suffixes. Built from the name so the values are known at preview time
        # (the ADF linked service needs the dfs URL); they equal the account's primary_endpoints.
        self.blob_endpoint: pulumi.Output[str] = pulumi.Output.concat(
            "https://", self.account.name, ".blob.core.windows.net/"
        )
        self.dfs_endpoint: pulumi.Output[str] = pulumi.Output.concat(
            "https://", self.account.name, ".dfs.core.windows.net/"
        )
        self.container_names: list[str] = list(ZONES)
        self.register_outputs(
            {
                "account_name": self.account_name,
                "account_id": self.account_id,
                "blob_endpoint": self.blob_endpoint,
                "dfs_endpoint": self.dfs_endpoint,
                "container_names": self.container_names,
            }
        )


def deploy(platform: Platform, settings: LakeSettings) -> dict[str, object]:
    """The ADLS Gen2 account and its zone containers, reached through the hub's private endpoints."""
    lake = Lake(
        "lake",
        LakeArgs(
            location=platform.region,
            prefix=platform.prefix,
            name_suffix=platform.suffix,
            resource_group_name=platform.data_group,
            redundancy=settings.redundancy,
        ),
    )
    platform.lake_account_id = lake.account_id
    platform.lake_account_name = lake.account_name
    platform.lake_dfs_endpoint = lake.dfs_endpoint
    outputs = {
        ACCOUNT_NAME_OUTPUT: lake.account_name,
        BLOB_ENDPOINT_OUTPUT: lake.blob_endpoint,
        DFS_ENDPOINT_OUTPUT: lake.dfs_endpoint,
        CONTAINERS_OUTPUT: lake.container_names,
    }
    # One endpoint per sub-resource: Blob API clients and ADLS (dfs) clients use different hosts.
    platform.open_privately(lake, "lake", platform.data_group, lake.account_id, ("blob", "blob"), ("dfs", "dfs"))
    return outputs


def posture(config: StackFacts, settings: LakeSettings) -> tuple[Posture, ...]:
    return (Posture(sku=settings.redundancy, uplift_enabled=(settings.redundancy in GEO_REDUNDANT,)),)


SERVICE = ServiceSpec(
    key="lake",
    type_token=TYPE_TOKEN,
    profile=PROFILE,
    settings=LakeSettings,
    deploy=deploy,
    posture=posture,
    switch="on",
    physical_names={
        "azure-native:storage:StorageAccount": "accountName",
        "azure-native:storage:BlobContainer": "containerName",
    },
    globally_unique=frozenset({"azure-native:storage:StorageAccount"}),
    subresources=frozenset({"azure-native:storage:BlobContainer"}),
)
