"""Synapse's compute pools, each with its own recovery: the dedicated SQL pool is the stateful part,
created on the secondary from the paired pool's daily geo-backup; the Spark pool holds no data and
is redeployed (its tables live in the lake).
Geo-backups: https://learn.microsoft.com/azure/synapse-analytics/sql-data-warehouse/backup-and-restore
"""

from __future__ import annotations

from typing import Any, Literal

import pulumi
from pulumi_azure_native import synapse
from pydantic import Field, model_validator

from components.placement import Placement
from components.spec import ServiceSettings

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
    def _range(self) -> SparkPoolSettings:
        if self.max_nodes < self.min_nodes:
            raise ValueError(f"maxNodes ({self.max_nodes}) is below minNodes ({self.min_nodes})")
        return self


class SynapseRestore(ServiceSettings):
    mode: Literal["Recovery"] = "Recovery"
    # Defaults to the paired stack's pool, derived from its prefix and suffix.
    recoverable_database_id: str | None = Field(None, alias="recoverableDatabaseId", pattern=r"^/subscriptions/.+/[^/]+$")


def sql_pool(
    resource_name: str,
    *,
    placement: Placement,
    workspace_name: pulumi.Input[str],
    settings: SqlPoolSettings,
    restore: SynapseRestore | None,
    source_pool_id: pulumi.Input[str] | None,
    parent: pulumi.Resource,
) -> synapse.SqlPool:
    """The dedicated SQL pool, placed like its workspace: new, or with `restore` created from the
    geo-backup of `source_pool_id`."""
    extra: dict[str, Any] = {"create_mode": "Default", "collation": "SQL_Latin1_General_CP1_CI_AS"}
    opts = pulumi.ResourceOptions(parent=parent)
    if restore is not None:
        extra = {"create_mode": restore.mode, "recoverable_database_id": source_pool_id}
        opts = pulumi.ResourceOptions(parent=parent, ignore_changes=list(CREATE_TIME_FIELDS))
    return synapse.SqlPool(
        resource_name,
        sql_pool_name=SQL_POOL_NAME,
        workspace_name=workspace_name,
        resource_group_name=placement.resource_group_name,
        location=placement.location,
        sku=synapse.SkuArgs(name=settings.sku),
        storage_account_type=settings.storage_account_type,
        **extra,
        opts=opts,
    )


def spark_pool(
    resource_name: str,
    *,
    placement: Placement,
    workspace_name: pulumi.Input[str],
    settings: SparkPoolSettings,
    parent: pulumi.Resource,
) -> synapse.BigDataPool:
    return synapse.BigDataPool(
        resource_name,
        big_data_pool_name=SPARK_POOL_NAME,
        workspace_name=workspace_name,
        resource_group_name=placement.resource_group_name,
        location=placement.location,
        node_size=settings.node_size,
        node_size_family="MemoryOptimized",
        spark_version=settings.spark_version,
        auto_scale=synapse.AutoScalePropertiesArgs(
            enabled=True, min_node_count=settings.min_nodes, max_node_count=settings.max_nodes
        ),
        # Idle pools cost nothing once paused; a cold start takes a few minutes.
        auto_pause=synapse.AutoPausePropertiesArgs(enabled=True, delay_in_minutes=settings.auto_pause_minutes),
        opts=pulumi.ResourceOptions(parent=parent),
    )
