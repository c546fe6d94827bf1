"""Azure Data Explorer: a Kusto cluster with one read-write database, private and Entra-only.

ADX has no regional failover. Follower databases share the leader's storage, so they are no DR
either. The recovery is a new cluster in the secondary, then a rehydration: the tables are re-ingested
from the (geo-redundant) lake, and checked by row counts and the latest ingestion time.
https://learn.microsoft.com/azure/data-explorer/business-continuity-overview
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import pulumi
from pulumi_azure_native import kusto
from pydantic import Field, field_validator, model_validator

from components import naming, roles
from components.placement import Placement
from components.profile import (
    DataRecovery,
    Dependency,
    DRProfile,
    Estimates,
    RecoveryAction,
    Responsibility,
    SeedFacts,
)
from components.runner_entries import kusto_viewer_and_ingestor
from components.spec import Platform, Posture, ServiceSettings, ServiceSpec, StackFacts
from smoke_tests.data_explorer import CHECKS

TYPE_TOKEN = "dataplatform:analytics:DataExplorer"

PROFILE = DRProfile(
    key="data_explorer",
    title="Azure Data Explorer cluster and database",
    stateful=True,
    recovery_action=RecoveryAction.REDEPLOY_REHYDRATE,
    checks=CHECKS,
    data_recovery=DataRecovery(
        source="the lake's copy of the ingested data, re-ingested into the new cluster",
        replay="event files that land in the lake after the re-ingestion, ingested by the replay step "
               "(their ingest-by tags skip what the cluster already holds)",
    ),
    depends_on=(
        Dependency("foundation", "the cluster lives in the data resource group"),
        Dependency("lake", "tables are re-ingested from the lake's copy of the data", needs_data=True),
    ),
    priority=3,
    # A cluster takes 10-20 minutes to create; re-ingesting a modest database from blobs about an
    # hour (it scales with the data and the cluster's ingestion capacity).
    estimates=Estimates(deploy=1200, rehydrate=3600, validate=300, replay=600, smoke=60),
    seed=(
        SeedFacts(
            service="Azure Data Explorer",
            component_responsibility=Responsibility.MICROSOFT,
            workload_responsibility=Responsibility.CUSTOMER,
            sku_selected="Pay As You Go (or cluster size based on workload)",
            uplift_options=(
                "No automatic regional failover: clusters in paired regions (active/active or "
                "active/passive) with replicated ingestion",
                "Zone-redundant storage and availability zones chosen at cluster creation",
            ),
        ),
    ),
    notes=(
        "Schema (tables, mappings, policies) is re-applied from code (KQL scripts) before re-ingestion.",
        "Zones are a create-time choice and only exist in regions with availability zones.",
        "Streaming data that reached the cluster after the lake's last copy is replayed from Event Hubs.",
    ),
)

# Cluster names are DNS labels: <name>.<region>.kusto.windows.net.
CLUSTER_NAME = naming.NameRule(4, 22, r"[a-z][a-z0-9]*", "lowercase letters and digits, a letter first")
# Verified against the installed provider's enum, so a typo fails validation, not the deploy.
KNOWN_SKUS = frozenset(sku.value for sku in kusto.AzureSkuName)


class DataExplorerSettings(ServiceSettings):
    sku: str = "Standard_E2ads_v5"
    capacity: int = Field(2, ge=1, le=1000)
    # The seeds' intra-region uplift; leave empty in regions without availability zones.
    zones: tuple[Literal["1", "2", "3"], ...] = ()
    database: str = Field("platform", pattern=r"^[A-Za-z0-9_.-]{1,260}$")
    soft_delete_days: int = Field(365, alias="softDeleteDays", ge=1, le=36500)
    hot_cache_days: int = Field(31, alias="hotCacheDays", ge=0, le=36500)

    @field_validator("sku")
    @classmethod
    def _known_sku(cls, sku: str) -> str:
        if sku not in KNOWN_SKUS:
            raise ValueError(f"unknown Data Explorer SKU {sku!r} (e.g. Standard_E2ads_v5)")
        return sku

    @model_validator(mode="after")
    def _consistent(self) -> DataExplorerSettings:
        if self.is_dev and (self.capacity != 1 or self.zones):
            raise ValueError(f"{self.sku} has no SLA: capacity 1, no zones")
        if not self.is_dev and self.capacity < 2:
            raise ValueError("production SKUs need capacity 2 or more")
        if self.hot_cache_days > self.soft_delete_days:
            raise ValueError("hotCacheDays cannot exceed softDeleteDays")
        return self

    @property
    def is_dev(self) -> bool:
        return self.sku.startswith("Dev(No SLA)")


@dataclass(frozen=True)
class DataExplorerArgs(Placement):
    subscription_id: pulumi.Input[str]
    settings: DataExplorerSettings
    lake_account_id: pulumi.Input[str] | None = None
    # The repository's KQL schema (kql/events.kql): applied before any re-ingestion.
    schema_kql: str | None = None


def cluster_name(prefix: str, suffix: str) -> str:
    return naming.check_name("data explorer cluster", f"{prefix}adx{suffix}", CLUSTER_NAME)


class DataExplorer(pulumi.ComponentResource):
    def __init__(self, name: str, args: DataExplorerArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__(TYPE_TOKEN, name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        settings = args.settings
        self.cluster = kusto.Cluster(
            f"{name}-cluster",
            cluster_name=cluster_name(args.prefix, args.name_suffix),
            resource_group_name=args.resource_group_name,
            location=args.location,
            sku=kusto.AzureSkuArgs(
                name=settings.sku, tier="Basic" if settings.is_dev else "Standard", capacity=settings.capacity
            ),
            zones=list(settings.zones) or None,
            engine_type="V3",
            identity=kusto.IdentityArgs(type="SystemAssigned"),
            public_network_access="Disabled",
            enable_disk_encryption=True,
            # Infrastructure (double) encryption of the data at rest: create-time only, so an existing
            # cluster keeps what it was created with rather than being replaced.
            # https://learn.microsoft.com/azure/data-explorer/cluster-encryption-double
            enable_double_encryption=True,
            # Purge is a GDPR tool that rewrites extents; off unless a data owner asks for it.
            enable_purge=False,
            opts=pulumi.ResourceOptions(parent=self, ignore_changes=["enableDoubleEncryption"]),
        )
        self.database = kusto.ReadWriteDatabase(
            f"{name}-db",
            database_name=settings.database,
            cluster_name=self.cluster.name,
            resource_group_name=args.resource_group_name,
            location=args.location,
            kind="ReadWrite",
            soft_delete_period=f"P{settings.soft_delete_days}D",
            hot_cache_period=f"P{settings.hot_cache_days}D",
            opts=child,
        )
        if args.lake_account_id is not None:
            roles.grant_lake_read(
                f"{name}-lake-read",
                seed=f"{args.prefix}/{args.name_suffix}/adx/lake",
                lake_account_id=args.lake_account_id,
                subscription_id=args.subscription_id,
                reader=self.cluster,
                opts=child,
            )
        if args.schema_kql is not None:
            self.schema = self._schema(name, args, args.schema_kql)
        self.cluster_name: pulumi.Output[str] = self.cluster.name
        self.cluster_uri: pulumi.Output[str] = pulumi.Output.concat(
            "https://", self.cluster.name, ".", args.location, ".kusto.windows.net"
        )
        self.database_name: str = settings.database
        self.register_outputs(
            {"cluster_name": self.cluster_name, "cluster_uri": self.cluster_uri, "database_name": self.database_name}
        )


    def _schema(self, name: str, args: DataExplorerArgs, schema_kql: str) -> kusto.Script:
        # Ingesting with ";managed_identity=system" needs the identity allowed for NativeIngestion:
        # https://learn.microsoft.com/azure/data-explorer/ingest-data-managed-identity
        policy = roles.principal_of(self.cluster).apply(
            lambda principal: f"\n.alter-merge database ['{args.settings.database}'] policy managed_identity "
            f"\"[{{'ObjectId':'{principal}','AllowedUsages':'NativeIngestion'}}]\"\n")
        return kusto.Script(
            f"{name}-schema",
            script_name="platform-schema",
            cluster_name=self.cluster.name,
            database_name=self.database.name.apply(lambda n: n.split("/")[-1]),
            resource_group_name=args.resource_group_name,
            script_content=pulumi.Output.concat(schema_kql, policy),
            continue_on_errors=False,
            opts=pulumi.ResourceOptions(parent=self, depends_on=[self.database]),
        )


def schema_path(project_dir: Path | None) -> Path:
    return (project_dir or Path(__file__).resolve().parents[1]) / "kql" / "events.kql"


def deploy(context: Platform, settings: DataExplorerSettings) -> dict[str, Any]:
    explorer = DataExplorer(
        "data-explorer",
        DataExplorerArgs.from_context(
            context,
            subscription_id=context.subscription_id,
            settings=settings,
            lake_account_id=context.lake_account_id,
            schema_kql=schema_path(context.project_dir).read_text(encoding="utf-8"),
        ),
    )
    context.open_privately(explorer, "data_explorer", context.data_group, explorer.cluster.id, ("cluster", "kusto"))
    kusto_viewer_and_ingestor("data-explorer-runner", context.config, cluster=explorer.cluster,
                              database=explorer.database, database_name=settings.database,
                              resource_group_name=context.data_group, tenant_id=context.tenant_id, parent=explorer)
    return {
        "dataExplorerClusterName": explorer.cluster_name,
        "dataExplorerClusterUri": explorer.cluster_uri,
        "dataExplorerDatabaseName": explorer.database_name,
    }


def posture(config: StackFacts, settings: DataExplorerSettings | None) -> tuple[Posture, ...]:
    if settings is None:
        return (Posture(sku="none", uplift_enabled=(None, None)),)
    # A cluster in the paired region is the paired stack's business: one stack file cannot tell.
    return (Posture(sku=f"{settings.sku} x{settings.capacity}", uplift_enabled=(None, bool(settings.zones))),)


SERVICE = ServiceSpec(
    type_token=TYPE_TOKEN,
    key="dataExplorer",
    settings=DataExplorerSettings,
    profile=PROFILE,
    deploy=deploy,
    posture=posture,
    example={
        "sku": "Standard_E2ads_v5",
        "capacity": 2,
        "zones": ["1", "2", "3"],
        "database": "platform",
        "softDeleteDays": 365,
        "hotCacheDays": 31,
    },
    physical_names={
        "azure-native:kusto:Cluster": "clusterName",
        "azure-native:kusto:ReadWriteDatabase": "databaseName",
        "azure-native:kusto:DatabasePrincipalAssignment": "principalAssignmentName",
    },
    globally_unique=frozenset({"azure-native:kusto:Cluster"}),
    # A database script has no location of its own: it runs inside the database.
    subresources=frozenset({"azure-native:kusto:Script", "azure-native:kusto:DatabasePrincipalAssignment"}),
)
