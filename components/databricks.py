"""Azure Databricks: a Premium workspace with secure cluster connectivity (no public IPs on nodes).

The workspace holds no platform data: tables live in the core lake (ADLS Gen2) and the DBFS root
is a Databricks-managed account. Jobs, notebooks, cluster policies and secret scopes are workspace
objects that a regional outage loses; they are re-applied from code (asset bundles, databricks-sdk)
after the redeploy. DR guidance: https://learn.microsoft.com/azure/databricks/admin/disaster-recovery
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

import pulumi
from pulumi_azure_native import databricks
from pydantic import Field, model_validator

from components import diagnostics, naming
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
from components.spec import Platform, Posture, ServiceSettings, ServiceSpec, StackFacts
from smoke_tests.databricks import CHECKS

TYPE_TOKEN = "dataplatform:analytics:Databricks"
WORKSPACE_TYPE = "azure-native:databricks:Workspace"

PROFILE = DRProfile(
    key="databricks",
    title="Azure Databricks workspace",
    # The seeds list Databricks with the stateful services: its workspace objects and metastore.
    stateful=True,
    recovery_action=RecoveryAction.REDEPLOY,
    checks=CHECKS,
    data_recovery=DataRecovery(
        source="the tables in the geo-redundant lake, and workspace objects re-applied from code",
        replay=(
            "workspace objects re-applied from code and the lake's tables re-registered in the region's "
            "metastore"
        ),
        source_uplifts=((0, 1),),
    ),
    depends_on=(
        Dependency("foundation", "the workspace lives in the data resource group"),
        Dependency("connectivity", "with VNet injection, clusters run in delegated subnets of the hub"),
        Dependency("lake", "notebooks and jobs read and write the tables kept in the lake"),
    ),
    priority=4,
    # A workspace deploys in about 5-10 minutes (the managed resource group and DBFS account
    # included); the smoke job starts a cluster, which takes another 5 minutes or so.
    estimates=Estimates(deploy=600, replay=300, smoke=420),
    seed=(
        SeedFacts(
            service="Azure Databricks",
            component_responsibility=Responsibility.MICROSOFT,
            workload_responsibility=Responsibility.CUSTOMER,
            sku_selected="Premium or Enterprise tier",
            uplift_options=(
                "Deploy a secondary workspace in the paired region and replicate configuration and data",
                "Geo-redundant Azure Storage options for the underlying data in ADLS Gen2",
            ),
        ),
    ),
    notes=(
        "In-region HA is built in (zone redundancy); cross-region DR is the customer's setup.",
        "Workspace objects (jobs, notebooks, cluster policies, secret scopes) are not replicated: "
        "they are re-applied from code after the redeploy, then counted against the source manifest.",
        "Unity Catalog metastores are regional: the secondary needs its own, with the lake's tables "
        "re-registered (or DEEP CLONEd) from the geo-redundant lake.",
        "VNet injection needs two subnets delegated to Microsoft.Databricks/workspaces in the hub; the "
        "hub does not carve them today, so injection is off unless the stack names existing subnets.",
    ),
)

# The DBFS root account's redundancy. Standard_GRS is Azure's own default and the seeds' uplift.
StorageSku = Literal["Standard_LRS", "Standard_ZRS", "Standard_GRS", "Standard_RAGRS", "Standard_GZRS", "Standard_RAGZRS"]
GEO_REDUNDANT = frozenset({"Standard_GRS", "Standard_RAGRS", "Standard_GZRS", "Standard_RAGZRS"})

# Workspace names: 3-64 letters, digits, '_' and '-'. They are not DNS labels (the URL is adb-<id>).
WORKSPACE_NAME = naming.NameRule(3, 64, r"[A-Za-z0-9][A-Za-z0-9_-]*", "letters, digits, '_' and '-'")
_SUBNET_NAME = r"^[A-Za-z0-9](?:[A-Za-z0-9_.-]*[A-Za-z0-9_])?$"


class VnetInjection(ServiceSettings):
    # Databricks' "public" (host) and "private" (container) subnets: both delegated to
    # Microsoft.Databricks/workspaces, with an NSG, in the hub VNet, and used by no other workspace.
    public_subnet_name: str = Field(alias="publicSubnetName", pattern=_SUBNET_NAME, max_length=80)
    private_subnet_name: str = Field(alias="privateSubnetName", pattern=_SUBNET_NAME, max_length=80)


class DatabricksSettings(ServiceSettings):
    # "trial" is excluded; Premium is what the seeds select (RBAC, private link, audit logs).
    sku: Literal["standard", "premium"] = "premium"
    dbfs_storage_sku: StorageSku = Field("Standard_GRS", alias="dbfsStorageSku")
    vnet_injection: VnetInjection | None = Field(None, alias="vnetInjection")
    # "Disabled" (the default: the security baseline wants no public access) means Private Link
    # only, front end and back end; Azure accepts it only for a VNet-injected Premium workspace
    # whose clusters reach the control plane over a private endpoint. "Enabled" must be asked for.
    public_network_access: Literal["Enabled", "Disabled"] = Field("Disabled", alias="publicNetworkAccess")

    @model_validator(mode="after")
    def _private_link_needs_injection(self) -> DatabricksSettings:
        if self.public_network_access == "Disabled" and self.vnet_injection is None:
            raise ValueError("publicNetworkAccess Disabled (the default) needs vnetInjection (Azure's back-end "
                             "Private Link rule); set publicNetworkAccess: Enabled to leave the workspace public")
        if self.public_network_access == "Disabled" and self.sku != "premium":
            raise ValueError("publicNetworkAccess Disabled (the default) needs sku premium; set "
                             "publicNetworkAccess: Enabled to leave the workspace public")
        return self


@dataclass(frozen=True)
class DatabricksArgs(Placement):
    subscription_id: pulumi.Input[str]
    vnet_id: pulumi.Input[str]
    settings: DatabricksSettings


def workspace_name(prefix: str, suffix: str) -> str:
    return naming.check_name("databricks workspace", f"dbw-{prefix}-{suffix}", WORKSPACE_NAME)


def managed_resource_group_name(prefix: str, suffix: str) -> str:
    # Databricks creates (and locks) this group itself; it must not exist beforehand.
    return naming.check_name("resource group", f"rg-{prefix}-databricks-managed-{suffix}")


class DatabricksWorkspace(pulumi.ComponentResource):
    def __init__(self, name: str, args: DatabricksArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__(TYPE_TOKEN, name, None, opts)
        settings = args.settings
        managed_group = managed_resource_group_name(args.prefix, args.name_suffix)
        injection = settings.vnet_injection
        parameters = databricks.WorkspaceCustomParametersArgs(
            # Secure cluster connectivity: nodes get no public IP, they dial out to the control plane.
            enable_no_public_ip=databricks.WorkspaceNoPublicIPBooleanParameterArgs(value=True),
            storage_account_sku_name=databricks.WorkspaceCustomStringParameterArgs(value=settings.dbfs_storage_sku),
            custom_virtual_network_id=(
                databricks.WorkspaceCustomStringParameterArgs(value=args.vnet_id) if injection else None
            ),
            custom_public_subnet_name=(
                databricks.WorkspaceCustomStringParameterArgs(value=injection.public_subnet_name) if injection else None
            ),
            custom_private_subnet_name=(
                databricks.WorkspaceCustomStringParameterArgs(value=injection.private_subnet_name) if injection else None
            ),
        )
        private_only = settings.public_network_access == "Disabled"
        self.workspace = databricks.Workspace(
            f"{name}-workspace",
            workspace_name=workspace_name(args.prefix, args.name_suffix),
            resource_group_name=args.resource_group_name,
            location=args.location,
            sku=databricks.SkuArgs(name=settings.sku),
            # Hybrid = classic compute in the managed group; the API requires the mode on create.
            compute_mode="Hybrid",
            managed_resource_group_id=pulumi.Output.concat(
                "/subscriptions/", args.subscription_id, "/resourceGroups/", managed_group
            ),
            parameters=parameters,
            public_network_access=settings.public_network_access,
            # Without public access the clusters must reach the control plane over Private Link.
            required_nsg_rules="NoAzureDatabricksRules" if private_only else "AllRules",
            opts=pulumi.ResourceOptions(parent=self),
        )
        self.workspace_name: pulumi.Output[str] = self.workspace.name
        self.workspace_id: pulumi.Output[str] = self.workspace.id
        self.workspace_url: pulumi.Output[str] = self.workspace.workspace_url
        self.register_outputs(
            {"workspace_name": self.workspace_name, "workspace_id": self.workspace_id, "workspace_url": self.workspace_url}
        )


def deploy(context: Platform, settings: DatabricksSettings) -> dict[str, Any]:
    injection = settings.vnet_injection
    if injection is not None:
        missing = [s for s in (injection.public_subnet_name, injection.private_subnet_name) if s not in context.subnet_ids]
        if missing:
            # The hub does not declare these subnets: they must exist, delegated, before the deploy.
            pulumi.log.warn(f"databricks: subnets {', '.join(missing)} are not declared by the hub; they must exist")
    name = "databricks"
    workspace = DatabricksWorkspace(
        name,
        DatabricksArgs.from_context(
            context,
            subscription_id=context.subscription_id,
            vnet_id=context.vnet_id,
            settings=settings,
        ),
    )
    if settings.sku == "premium" and context.log_analytics_workspace_id is not None:
        # Databricks writes diagnostic logs on the Premium tier only, so the setting is declared here
        # rather than for every workspace (components/diagnostics.py).
        diagnostics.send(f"{name}-workspace", workspace.workspace, WORKSPACE_TYPE, context.log_analytics_workspace_id)
    if settings.public_network_access == "Disabled":
        # Front-end Private Link (web app, REST API): the hub's endpoint, and the runner's twin. A
        # workspace left open is reached at its public URL instead (its front end needs injection).
        context.open_privately(workspace, "databricks", context.data_group, workspace.workspace_id,
                               ("databricks_ui_api", "databricks"))
    return {
        "databricksWorkspaceName": workspace.workspace_name,
        "databricksWorkspaceId": workspace.workspace_id,
        "databricksWorkspaceUrl": workspace.workspace_url,
    }


def posture(config: StackFacts, settings: DatabricksSettings | None) -> tuple[Posture, ...]:
    if settings is None:
        return (Posture(sku="none", uplift_enabled=(None, None)),)
    # A secondary workspace is the paired stack's business: one stack file cannot tell.
    lake_geo = not config.enabled("lake") or config.settings_of("lake").redundancy in GEO_REDUNDANT
    storage_geo = settings.dbfs_storage_sku in GEO_REDUNDANT and lake_geo
    return (Posture(sku=settings.sku, uplift_enabled=(None, storage_geo)),)


SERVICE = ServiceSpec(
    type_token=TYPE_TOKEN,
    key="databricks",
    settings=DatabricksSettings,
    profile=PROFILE,
    deploy=deploy,
    posture=posture,
    # No vnetInjection: the hub carves no delegated subnets for it (see the profile's notes), so the
    # workspace stays public, which the security baseline lists as a justified exception.
    example={"sku": "premium", "dbfsStorageSku": "Standard_GRS", "publicNetworkAccess": "Enabled"},
    physical_names={WORKSPACE_TYPE: "workspaceName"},
)
