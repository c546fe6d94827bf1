"""Azure Synapse Analytics: a workspace on the core lake, a dedicated SQL pool and a Spark pool.

Pipelines and Spark pools hold no data and are redeployed; the dedicated SQL pool is the stateful
part. Azure takes a geo-backup of it once a day into the paired region (RPO 24 h), so the secondary
stack creates its pool from that backup (create_mode Recovery) instead of empty.
Geo-backups: https://learn.microsoft.com/azure/synapse-analytics/sql-data-warehouse/backup-and-restore
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pulumi
from pulumi_azure_native import storage, synapse
from pydantic import Field, field_validator

from components import naming, roles
from components.lake import ZONES as LAKE_ZONES
from components.paired import PairedPlacement
from components.profile import (
    DataRecovery,
    Dependency,
    DRProfile,
    Estimates,
    RecoveryAction,
    Responsibility,
    SeedFacts,
)
from components.roles import EntraAdmin
from components.spec import Platform, Posture, ServiceSettings, ServiceSpec, StackFacts
from components.sql_auditing import audit_synapse_workspace
from components.synapse_pools import (
    SPARK_POOL_NAME,
    SQL_POOL_NAME,
    SparkPoolSettings,
    SqlPoolSettings,
    SynapseRestore,
    spark_pool,
    sql_pool,
)
from smoke_tests.synapse import CHECKS

TYPE_TOKEN = "dataplatform:analytics:Synapse"

PROFILE = DRProfile(
    key="synapse",
    title="Azure Synapse workspace, dedicated SQL pool and Spark pool",
    # The seeds file Synapse under the stateless services, but the dedicated SQL pool holds data
    # and is geo-restored; the workspace and Spark pool alone would be stateless.
    stateful=True,
    recovery_action=RecoveryAction.GEO_RESTORE,
    checks=CHECKS,
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
            stateful=False,  # the seed's heading; the profile is stateful for the dedicated pool's data
        )
        for service, sku, uplift in (
            ("Pipelines", "Compute Optimized Gen2",
             "N/A, resiliency is part of the service (automatic failover of pipelines)"),
            ("Spark Pools", "Compute Optimized, Small (4 cores)", "N/A, resiliency is part of the service"),
            ("Serverless and Dedicated SQL Pools", "Compute Optimized Gen2",
             "N/A, resiliency is part of the service; the daily geo-backup to the paired region "
             "(RPO 24 h) allows a geo-restore"),
            # A seed service of its own, though the platform runs Azure Data Explorer clusters instead.
            ("Data Explorer Pools", "Computed Optimized, Small (4 cores)",
             "N/A, Synapse resiliency is part of its SaaS offering"),
        )
    ),
    notes=(
        "Restore points are kept seven days; the geo-backup runs once a day, so a geo-restore can lose up "
        "to 24 hours (RPO 24 h): the rest is replayed from the lake.",
        "Spark pools have no DR of their own: redeployed, their data lives in the lake. Self-hosted "
        "integration runtimes, if any, stay the customer's to recover.",
        "The seeds' 'Azure Synapse: Data Explorer Pools' row is listed, but the workspace declares no such "
        "pool: the platform runs Azure Data Explorer clusters instead (service dataExplorer).",
    ),
)

# Data exfiltration protection, a create-time input.
EXFILTRATION = "managedVirtualNetworkSettings.preventDataExfiltration"
# https://learn.microsoft.com/azure/azure-resource-manager/management/resource-name-rules#microsoftsynapse
WORKSPACE_NAME = naming.NameRule(
    1, 50, r"(?!.*-ondemand)[a-z0-9](?:[a-z0-9-]*[a-z0-9])?", "lowercase letters, digits and '-', not '-ondemand'"
)


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
class SynapseArgs(PairedPlacement):
    tenant_id: pulumi.Input[str]
    lake_account_id: pulumi.Input[str]
    lake_account_name: pulumi.Input[str]
    lake_dfs_endpoint: pulumi.Input[str]
    settings: SynapseSettings


def workspace_name(prefix: str, suffix: str) -> str:
    return naming.check_name("synapse workspace", f"syn-{prefix}-{suffix}", WORKSPACE_NAME)


def recoverable_pool_path(prefix: str, suffix: str) -> str:
    """The geo-backup source, in the SQL database form the backup service takes: a Synapse pool is
    served by a logical SQL server named after its workspace."""
    return f"Microsoft.Sql/servers/{workspace_name(prefix, suffix)}/databases/{SQL_POOL_NAME}"


def _source_pool_id(args: SynapseArgs) -> pulumi.Input[str] | None:
    restore = args.settings.restore
    if restore is None:
        return None
    return restore.recoverable_database_id or args.paired_id(
        recoverable_pool_path, unknown="synapse.restore has no recoverableDatabaseId and the paired stack's names are unknown"
    )


class SynapseWorkspace(pulumi.ComponentResource):
    def __init__(self, name: str, args: SynapseArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__(TYPE_TOKEN, name, None, opts)
        settings = args.settings
        # Synapse does not create its default filesystem: it must exist in the lake beforehand.
        self.filesystem = storage.BlobContainer(
            f"{name}-filesystem",
            container_name=settings.filesystem,
            account_name=args.lake_account_name,
            resource_group_name=args.resource_group_name,
            public_access="None",
            opts=pulumi.ResourceOptions(parent=self),
        )
        self.workspace = self._workspace(name, args)
        self._lake_access(name, args)
        audit_synapse_workspace(name, workspace_name=self.workspace.name, resource_group_name=args.resource_group_name,
                                opts=pulumi.ResourceOptions(parent=self))
        synapse.WorkspaceAadAdmin(
            f"{name}-entra-admin",
            workspace_name=self.workspace.name,
            resource_group_name=args.resource_group_name,
            administrator_type="ActiveDirectory",
            login=settings.entra_admin.principal_name,
            sid=settings.entra_admin.object_id,
            tenant_id=args.tenant_id,
            opts=pulumi.ResourceOptions(parent=self),
        )
        self.sql_pool = sql_pool(
            f"{name}-sql",
            placement=args,
            workspace_name=self.workspace.name,
            settings=settings.sql_pool,
            restore=settings.restore,
            source_pool_id=_source_pool_id(args),
            parent=self,
        )
        self.spark_pool = spark_pool(
            f"{name}-spark",
            placement=args,
            workspace_name=self.workspace.name,
            settings=settings.spark_pool,
            parent=self,
        )

        self.workspace_name: pulumi.Output[str] = self.workspace.name
        self.sql_endpoint: pulumi.Output[str] = pulumi.Output.concat(self.workspace.name, ".sql.azuresynapse.net")
        self.create_mode: str = "Recovery" if settings.restore else "Default"
        self.register_outputs(
            {"workspace_name": self.workspace_name, "sql_endpoint": self.sql_endpoint, "sql_pool_name": SQL_POOL_NAME,
             "spark_pool_name": SPARK_POOL_NAME, "create_mode": self.create_mode}
        )

    def _workspace(self, name: str, args: SynapseArgs) -> synapse.Workspace:
        return synapse.Workspace(
            f"{name}-workspace",
            workspace_name=workspace_name(args.prefix, args.name_suffix),
            resource_group_name=args.resource_group_name,
            location=args.location,
            identity=synapse.ManagedIdentityArgs(type="SystemAssigned"),
            default_data_lake_storage=synapse.DataLakeStorageAccountDetailsArgs(
                account_url=args.lake_dfs_endpoint,
                filesystem=args.settings.filesystem,
                resource_id=args.lake_account_id,
                # Spark in the managed VNet reaches the lake through a managed private endpoint.
                create_managed_private_endpoint=True,
            ),
            # Compute runs in a VNet Azure manages for the workspace, and with data exfiltration
            # protection reaches only resources of the workspace's own tenant, through managed private
            # endpoints (create-time only, both). Recovery is untouched: the pool's geo-restore is the
            # service's, and Spark reaches the lake through its managed private endpoint.
            # https://learn.microsoft.com/azure/synapse-analytics/security/workspace-data-exfiltration-protection
            managed_virtual_network="default",
            managed_virtual_network_settings=synapse.ManagedVirtualNetworkSettingsArgs(prevent_data_exfiltration=True),
            # No sql_administrator_login/password: Entra ID is the only way in.
            azure_ad_only_authentication=True,
            public_network_access="Disabled",
            # An existing workspace keeps what it was created with rather than being replaced.
            opts=pulumi.ResourceOptions(parent=self, depends_on=[self.filesystem], ignore_changes=[EXFILTRATION]),
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


def deploy(context: Platform, settings: SynapseSettings) -> dict[str, Any]:
    if context.lake_account_id is None or context.lake_account_name is None or context.lake_dfs_endpoint is None:
        raise ValueError("dataplatform:services.synapse needs the core lake (dataplatform:services.lake): "
                         "a workspace's default storage is an ADLS Gen2 filesystem")
    if settings.restore is not None and not context.config.is_secondary:
        raise ValueError("dataplatform:synapse.restore applies to a secondary stack only")
    workspace = SynapseWorkspace(
        "synapse",
        SynapseArgs.from_context(
            context, tenant_id=context.tenant_id, lake_account_id=context.lake_account_id,
            lake_account_name=context.lake_account_name, lake_dfs_endpoint=context.lake_dfs_endpoint, settings=settings,
        ),
    )
    # Public access is off: the dedicated and serverless SQL endpoints, and the development endpoint
    # (Studio, pipelines, Spark) each take their own sub-resource.
    context.open_privately(workspace, "synapse", context.data_group, workspace.workspace.id, ("Sql", "synapse-sql"),
                           ("SqlOnDemand", "synapse-sql"), ("Dev", "synapse-dev"))
    return {
        "synapseWorkspaceName": workspace.workspace_name,
        "synapseSqlEndpoint": workspace.sql_endpoint,
        "synapseSqlPoolName": SQL_POOL_NAME,
        "synapseSparkPoolName": SPARK_POOL_NAME,
        "synapseSqlPoolCreateMode": workspace.create_mode,
    }


def posture(config: StackFacts, settings: SynapseSettings | None) -> tuple[Posture, ...]:
    if settings is None:
        return tuple(Posture(sku="none", uplift_enabled=(None,)) for _ in PROFILE.seed)
    spark = settings.spark_pool
    pool = settings.sql_pool
    return (
        Posture(sku="Synapse pipelines (Azure integration runtime)", uplift_enabled=(None,)),
        Posture(sku=f"{spark.node_size} MemoryOptimized, {spark.min_nodes}-{spark.max_nodes} nodes", uplift_enabled=(None,)),
        Posture(sku=f"{pool.sku}, {pool.storage_account_type} backups", uplift_enabled=(pool.storage_account_type == "GRS",)),
        Posture(sku="none (no Data Explorer pool: see dataExplorer)", uplift_enabled=(None,)),
    )


SERVICE = ServiceSpec(
    type_token=TYPE_TOKEN,
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
    # The workspace's auditing settings are a generic resource (components/sql_auditing.py).
    subresources=frozenset({"azure-native:synapse:WorkspaceAadAdmin", "azure-native:resources:Resource"}),
)
