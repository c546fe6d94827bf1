"""Azure Synapse Analytics: a workspace on the core lake, a dedicated SQL pool and a Spark pool.

Pipelines and Spark pools hold no data and are redeployed; the dedicated SQL pool is the stateful
part. Azure takes a geo-backup of it once a day into the paired region (RPO 24 h), so the secondary
stack creates its pool from that backup (create_mode Recovery) instead of empty.
Geo-backups: https://learn.microsoft.com/azure/synapse-analytics/sql-data-warehouse/backup-and-restore
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

import pulumi
from pulumi_azure_native import storage, synapse
from pydantic import Field, field_validator, model_validator

from components import naming, roles
from components.lake import ZONES as LAKE_ZONES
from components.placement import Placement
from components.profile import (
    DataRecovery,
    Dependency,
    DRProfile,
    Estimates,
    RecoveryAction,
    Responsibility,
    SeedFacts,
    register,
)
from components.spec import PlatformContext, Posture, ServiceSettings, ServiceSpec
from stacks.schema import EntraAdmin

TYPE_TOKEN = "dataplatform:analytics:Synapse"

PROFILE = register(
    TYPE_TOKEN,
    DRProfile(
        key="synapse",
        title="Azure Synapse workspace, dedicated SQL pool and Spark pool",
        # The seeds file Synapse under the stateless services, but the dedicated SQL pool holds data
        # and is geo-restored; the workspace and Spark pool alone would be stateless.
        stateful=True,
        recovery_action=RecoveryAction.GEO_RESTORE,
        smoke_checks=("workspace-provisioned", "sql-pool-online", "sql-select-1", "spark-pool-provisioned"),
        data_checks=("row-counts", "max-load-timestamp"),
        data_recovery=DataRecovery(
            source="the dedicated SQL pool's daily geo-backup (geo-restore); Spark and pipelines hold no data",
            replay="loads re-run from the lake from the max-load-timestamp (the geo-backup can be 24 hours old)",
            source_uplifts=((2, 0),),
        ),
        depends_on=(
            Dependency("foundation", "the workspace lives in the data resource group"),
            Dependency("connectivity", "public network access is off: clients come through the hub"),
            Dependency("lake", "the workspace's default storage is a filesystem of the lake"),
        ),
        priority=3,
        # Workspace 5-10 min; a geo-restore of a DW100c pool typically 20-30 min (it is the deploy step
        # on the secondary); the Spark pool deploys meanwhile in a few minutes.
        estimates=Estimates(deploy=2400, validate=600, replay=900, smoke=300),
        # All three seed rows: Microsoft recovers the component, Contoso the workload.
        seed=tuple(
            SeedFacts(
                service=f"Azure Synapse: {service}",
                component_responsibility=Responsibility.MICROSOFT,
                workload_responsibility=Responsibility.CUSTOMER,
                sku_selected=sku,
                uplift_options=(uplift,),
            )
            for service, sku, uplift in (
                ("Pipelines", "Compute Optimized Gen2",
                 "N/A, resiliency is part of the service (automatic failover of pipelines)"),
                ("Spark Pools", "Compute Optimized, Small (4 cores)", "N/A, resiliency is part of the service"),
                ("Serverless and Dedicated SQL Pools", "Compute Optimized Gen2",
                 "N/A, resiliency is part of the service; the daily geo-backup to the paired region "
                 "(RPO 24 h) allows a geo-restore"),
            )
        ),
        notes=(
            "Restore points are kept seven days; the geo-backup runs once a day, so a geo-restore can lose up "
            "to 24 hours (RPO 24 h): the rest is replayed from the lake.",
            "Spark pools have no DR of their own: redeployed, their data lives in the lake. Self-hosted "
            "integration runtimes, if any, stay the customer's to recover.",
            "The seeds' 'Azure Synapse: Data Explorer Pools' row is not modelled separately: the platform runs "
            "Azure Data Explorer clusters instead (service dataExplorer).",
        ),
    ),
)

# https://learn.microsoft.com/azure/azure-resource-manager/management/resource-name-rules#microsoftsynapse
WORKSPACE_NAME = naming.NameRule(
    1, 50, r"(?!.*-ondemand)[a-z0-9](?:[a-z0-9-]*[a-z0-9])?", "lowercase letters, digits and '-', not '-ondemand'"
)
SQL_POOL_NAME = "dwh"
SPARK_POOL_NAME = "spark"
# Read by Azure only when the pool is created; ignoring them keeps a later `pulumi up` from
# replacing the restored pool (or diffing a source that may no longer exist).
CREATE_TIME_FIELDS = ("create_mode", "recoverable_database_id")
DwSku = Literal["DW100c", "DW200c", "DW300c", "DW400c", "DW500c", "DW1000c", "DW1500c", "DW2000c", "DW2500c", "DW3000c"]


class SqlPoolSettings(ServiceSettings):
    sku: DwSku = "DW100c"
    # GRS keeps the daily geo-backups in the paired region: without it there is nothing to restore.
    storage_account_type: Literal["GRS", "LRS"] = Field("GRS", alias="storageAccountType")


class SparkPoolSettings(ServiceSettings):
    node_size: Literal["Small", "Medium", "Large", "XLarge", "XXLarge"] = Field("Small", alias="nodeSize")
    min_nodes: int = Field(3, alias="minNodes", ge=3, le=200)
    max_nodes: int = Field(6, alias="maxNodes", ge=3, le=200)
    auto_pause_minutes: int = Field(15, alias="autoPauseMinutes", ge=5, le=10080)
    spark_version: str = Field("3.4", alias="sparkVersion", pattern=r"^3\.[0-9]$")

    @model_validator(mode="after")
    def _range(self) -> "SparkPoolSettings":
        if self.max_nodes < self.min_nodes:
            raise ValueError(f"maxNodes ({self.max_nodes}) is below minNodes ({self.min_nodes})")
        return self


class SynapseRestore(ServiceSettings):
    mode: Literal["Recovery"] = "Recovery"
    # Defaults to the paired stack's pool, derived from its prefix and suffix.
    recoverable_database_id: str | None = Field(None, alias="recoverableDatabaseId", pattern=r"^/subscriptions/.+/[^/]+$")


class SynapseSettings(ServiceSettings):
    # The workspace's default filesystem (container) in the core lake: required, no guess.
    # Container rules: 3-63 lowercase letters, digits and single '-' between them.
    filesystem: str = Field(min_length=3, max_length=63, pattern=r"^[a-z0-9](?:-?[a-z0-9])+$")
    sql_pool: SqlPoolSettings = Field(SqlPoolSettings(), alias="sqlPool")
    spark_pool: SparkPoolSettings = Field(SparkPoolSettings(), alias="sparkPool")
    # Microsoft Entra only: the SQL endpoints get no SQL login, so no password exists in config; the
    # Entra administrator is then the only way to administer the pools, hence required.
    entra_admin: EntraAdmin = Field(alias="entraAdmin")
    # Secondary stacks only: create the dedicated pool from the paired pool's geo-backup.
    restore: SynapseRestore | None = None

    @field_validator("filesystem")
    @classmethod
    def _not_a_lake_zone(cls, name: str) -> str:
        # The lake component declares its zone containers; declaring one again would fight over it.
        if name in LAKE_ZONES:
            raise ValueError(f"{name!r} is a lake zone container; name a filesystem of Synapse's own")
        return name


@dataclass(frozen=True)
class SynapseArgs(Placement):
    subscription_id: pulumi.Input[str]
    tenant_id: pulumi.Input[str]
    lake_account_id: pulumi.Input[str]
    lake_account_name: pulumi.Input[str]
    lake_dfs_endpoint: pulumi.Input[str]
    settings: SynapseSettings
    paired_prefix: str | None = None
    paired_name_suffix: str | None = None


def workspace_name(prefix: str, suffix: str) -> str:
    return naming.check_name("synapse workspace", f"syn-{prefix}-{suffix}", WORKSPACE_NAME)


def paired_recoverable_pool_id(subscription_id: str, paired_prefix: str, paired_suffix: str) -> str:
    """The geo-backup source: the paired stack's pool, in the SQL database form the backup service
    takes (a Synapse pool is served by a logical SQL server named after its workspace)."""
    group = naming.resource_group_name(paired_prefix, "data", paired_suffix)
    server = workspace_name(paired_prefix, paired_suffix)
    return (
        f"/subscriptions/{subscription_id}/resourceGroups/{group}"
        f"/providers/Microsoft.Sql/servers/{server}/databases/{SQL_POOL_NAME}"
    )


class SynapseWorkspace(pulumi.ComponentResource):
    def __init__(self, name: str, args: SynapseArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__(TYPE_TOKEN, name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        settings = args.settings

        # Synapse does not create its default filesystem: it must exist in the lake beforehand.
        self.filesystem = storage.BlobContainer(
            f"{name}-filesystem",
            container_name=settings.filesystem,
            account_name=args.lake_account_name,
            resource_group_name=args.resource_group_name,
            public_access="None",
            opts=child,
        )
        self.workspace = synapse.Workspace(
            f"{name}-workspace",
            workspace_name=workspace_name(args.prefix, args.name_suffix),
            resource_group_name=args.resource_group_name,
            location=args.location,
            identity=synapse.ManagedIdentityArgs(type="SystemAssigned"),
            default_data_lake_storage=synapse.DataLakeStorageAccountDetailsArgs(
                account_url=args.lake_dfs_endpoint,
                filesystem=settings.filesystem,
                resource_id=args.lake_account_id,
                # Spark in the managed VNet reaches the lake through a managed private endpoint.
                create_managed_private_endpoint=True,
            ),
            # Compute runs in a VNet Azure manages for the workspace (create-time only).
            managed_virtual_network="default",
            # No sql_administrator_login/password: Entra ID is the only way in.
            azure_ad_only_authentication=True,
            public_network_access="Disabled",
            opts=pulumi.ResourceOptions(parent=self, depends_on=[self.filesystem]),
        )
        self._lake_access(name, args)
        synapse.WorkspaceAadAdmin(
            f"{name}-entra-admin",
            workspace_name=self.workspace.name,
            resource_group_name=args.resource_group_name,
            administrator_type="ActiveDirectory",
            login=settings.entra_admin.principal_name,
            sid=settings.entra_admin.object_id,
            tenant_id=args.tenant_id,
            opts=child,
        )
        self.sql_pool = self._sql_pool(name, args)
        spark = settings.spark_pool
        self.spark_pool = synapse.BigDataPool(
            f"{name}-spark",
            big_data_pool_name=SPARK_POOL_NAME,
            workspace_name=self.workspace.name,
            resource_group_name=args.resource_group_name,
            location=args.location,
            node_size=spark.node_size,
            node_size_family="MemoryOptimized",
            spark_version=spark.spark_version,
            auto_scale=synapse.AutoScalePropertiesArgs(enabled=True, min_node_count=spark.min_nodes, max_node_count=spark.max_nodes),
            # Idle pools cost nothing once paused; a cold start takes a few minutes.
            auto_pause=synapse.AutoPausePropertiesArgs(enabled=True, delay_in_minutes=spark.auto_pause_minutes),
            opts=child,
        )
        self.workspace_name: pulumi.Output[str] = self.workspace.name
        self.sql_endpoint: pulumi.Output[str] = pulumi.Output.concat(self.workspace.name, ".sql.azuresynapse.net")
        self.create_mode: str = "Recovery" if settings.restore else "Default"
        self.register_outputs(
            {"workspace_name": self.workspace_name, "sql_endpoint": self.sql_endpoint, "sql_pool_name": SQL_POOL_NAME,
             "spark_pool_name": SPARK_POOL_NAME, "create_mode": self.create_mode}
        )

    def _lake_access(self, name: str, args: SynapseArgs) -> None:
        # Spark and serverless SQL read and write the lake as the workspace's identity.
        roles.grant(
            f"{name}-lake-access",
            seed=f"{args.prefix}/{args.name_suffix}/synapse/lake",
            scope=args.lake_account_id,
            subscription_id=args.subscription_id,
            role=roles.STORAGE_BLOB_DATA_CONTRIBUTOR,
            principal_id=roles.principal_of(self.workspace),
            opts=pulumi.ResourceOptions(parent=self),
        )

    def _sql_pool(self, name: str, args: SynapseArgs) -> synapse.SqlPool:
        pool = args.settings.sql_pool
        restore = args.settings.restore
        extra: dict[str, Any] = {"create_mode": "Default", "collation": "SQL_Latin1_General_CP1_CI_AS"}
        opts = pulumi.ResourceOptions(parent=self)
        if restore is not None:
            extra = {"create_mode": restore.mode, "recoverable_database_id": self._source_pool_id(args, restore)}
            opts = pulumi.ResourceOptions(parent=self, ignore_changes=list(CREATE_TIME_FIELDS))
        return synapse.SqlPool(
            f"{name}-sql",
            sql_pool_name=SQL_POOL_NAME,
            workspace_name=self.workspace.name,
            resource_group_name=args.resource_group_name,
            location=args.location,
            sku=synapse.SkuArgs(name=pool.sku),
            storage_account_type=pool.storage_account_type,
            **extra,
            opts=opts,
        )

    @staticmethod
    def _source_pool_id(args: SynapseArgs, restore: SynapseRestore) -> pulumi.Input[str]:
        if restore.recoverable_database_id:
            return restore.recoverable_database_id
        if not args.paired_prefix or not args.paired_name_suffix:
            raise ValueError("synapse.restore has no recoverableDatabaseId and the paired stack's names are unknown")
        prefix, suffix = args.paired_prefix, args.paired_name_suffix
        return pulumi.Output.from_input(args.subscription_id).apply(
            lambda subscription: paired_recoverable_pool_id(subscription, prefix, suffix)
        )


def deploy(context: PlatformContext, settings: SynapseSettings) -> dict[str, Any]:
    if context.lake_account_id is None or context.lake_account_name is None or context.lake_dfs_endpoint is None:
        raise ValueError("dataplatform:services.synapse needs the core lake (dataplatform:services.lake): "
                         "a workspace's default storage is an ADLS Gen2 filesystem")
    if settings.restore is not None and not context.config.is_secondary:
        raise ValueError("dataplatform:synapse.restore applies to a secondary stack only")
    workspace = SynapseWorkspace(
        "synapse",
        SynapseArgs.from_context(
            context,
            subscription_id=context.subscription_id,
            tenant_id=context.tenant_id,
            lake_account_id=context.lake_account_id,
            lake_account_name=context.lake_account_name,
            lake_dfs_endpoint=context.lake_dfs_endpoint,
            settings=settings,
            paired_prefix=context.config.paired_prefix,
            paired_name_suffix=context.config.paired_name_suffix,
        ),
    )
    return {
        "synapseWorkspaceName": workspace.workspace_name,
        "synapseSqlEndpoint": workspace.sql_endpoint,
        "synapseSqlPoolName": SQL_POOL_NAME,
        "synapseSparkPoolName": SPARK_POOL_NAME,
        "synapseSqlPoolCreateMode": workspace.create_mode,
    }


def posture(config: Any, settings: SynapseSettings | None) -> tuple[Posture, ...]:
    if settings is None:
        return tuple(Posture(sku="none", uplift_enabled=(None,)) for _ in PROFILE.seed)
    spark = settings.spark_pool
    pool = settings.sql_pool
    return (
        Posture(sku="Synapse pipelines (Azure integration runtime)", uplift_enabled=(None,)),
        Posture(sku=f"{spark.node_size} MemoryOptimized, {spark.min_nodes}-{spark.max_nodes} nodes", uplift_enabled=(None,)),
        Posture(sku=f"{pool.sku}, {pool.storage_account_type} backups", uplift_enabled=(pool.storage_account_type == "GRS",)),
    )


SERVICE = ServiceSpec(
    key="synapse",
    settings=SynapseSettings,
    profile=PROFILE,
    deploy=deploy,
    posture=posture,
    example={
        "filesystem": "synapse",
        # Placeholder: a real stack names its administrators' group (Azure refuses a non-GUID sid).
        "entraAdmin": {"objectId": "<object id of the synapse-admins group>", "principalName": "synapse-admins"},
        "sqlPool": {"sku": "DW100c", "storageAccountType": "GRS"},
        "sparkPool": {"nodeSize": "Small", "minNodes": 3, "maxNodes": 6, "autoPauseMinutes": 15},
    },
    physical_names={
        "azure-native:synapse:Workspace": "workspaceName",
        "azure-native:synapse:SqlPool": "sqlPoolName",
        "azure-native:synapse:BigDataPool": "bigDataPoolName",
    },
    globally_unique=frozenset({"azure-native:synapse:Workspace"}),
    # The Entra administrator is a singleton setting of the workspace, with no location.
    subresources=frozenset({"azure-native:synapse:WorkspaceAadAdmin"}),
)
