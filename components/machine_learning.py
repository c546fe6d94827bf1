"""Azure Machine Learning: a private workspace with its own storage, Application Insights and,
optionally, a container registry; the platform's Key Vault holds its secrets.

AML has no failover of its own: run history and registered assets live in the region. The DR
answer is a workspace per region, declared alike, with datastores, environments and models
re-registered from code (or shared through a multi-region AML registry).
https://learn.microsoft.com/azure/machine-learning/how-to-high-availability-machine-learning
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

import pulumi
from pulumi_azure_native import applicationinsights, containerregistry, machinelearningservices, storage
from pydantic import Field

from components import naming
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
from smoke_tests.machine_learning import CHECKS

TYPE_TOKEN = "dataplatform:ai:MachineLearning"

PROFILE = DRProfile(
    key="machine_learning",
    title="Azure Machine Learning workspace",
    # The seeds list AML with the stateful services: run history and registered assets.
    stateful=True,
    recovery_action=RecoveryAction.REDEPLOY,
    checks=CHECKS,
    data_recovery=DataRecovery(
        source=(
            "models, environments and datastores kept as code (or in an AML registry replicated to both "
            "regions)"
        ),
        replay="assets re-registered from code and compared with the manifest (run history is not recovered)",
    ),
    depends_on=(
        Dependency("foundation", "the workspace keeps its secrets in the platform Key Vault and logs to its workspace"),
    ),
    priority=5,
    # Workspace, storage and Application Insights deploy in parallel: 3-5 minutes; assets are
    # re-registered from code in the replay step.
    estimates=Estimates(deploy=300, replay=600, smoke=120),
    seed=(
        SeedFacts(
            service="Azure Machine Learning",
            component_responsibility=Responsibility.SHARED,
            workload_responsibility=Responsibility.CUSTOMER,
            sku_selected="General Purpose, D series instances",
            uplift_options=(
                "High availability of the dependent services provisioned in the customer's subscription "
                "(storage, Key Vault, container registry, Application Insights)",
                "Multi-regional deployment",
            ),
        ),
    ),
    notes=(
        "Azure Machine Learning itself provides no automatic failover or disaster recovery.",
        "Run history is lost with the region; models, environments and datastores are re-registered "
        "from code (or an AML registry replicated to both regions) and compared with the manifest.",
        "Compute (General Purpose D series) is created by jobs and endpoints from code, not here.",
        "Public network access is off: users and compute need private endpoints to the workspace, its "
        "storage and registry (not modelled by the hub yet).",
    ),
)

StorageSku = Literal["Standard_LRS", "Standard_ZRS", "Standard_GRS", "Standard_RAGRS", "Standard_GZRS", "Standard_RAGZRS"]
GEO_REDUNDANT = frozenset({"Standard_GRS", "Standard_RAGRS", "Standard_GZRS", "Standard_RAGZRS"})

# https://learn.microsoft.com/azure/azure-resource-manager/management/resource-name-rules
WORKSPACE_NAME = naming.NameRule(3, 33, r"[A-Za-z0-9][A-Za-z0-9_-]*", "letters, digits, '_' and '-', alphanumeric first")
INSIGHTS_NAME = naming.NameRule(1, 260, r"[^%&\\?/]*[^%&\\?/. ]", "no '%&\\?/', not ending with '.' or space")
REGISTRY_NAME = naming.NameRule(5, 50, r"[A-Za-z0-9]+", "letters and digits only")


class MachineLearningSettings(ServiceSettings):
    sku: Literal["Basic"] = "Basic"
    # The workspace's own account (AML needs blob and file shares without hierarchical namespace, so
    # it cannot be the lake). A geo option is the seeds' "HA of the dependent services".
    storage_redundancy: StorageSku = Field("Standard_LRS", alias="storageRedundancy")
    # Premium: the only registry SKU with private link, no public access and geo-replication.
    container_registry: bool = Field(False, alias="containerRegistry")
    # Outbound rules of the managed network that AML computes run in.
    isolation_mode: Literal["AllowInternetOutbound", "AllowOnlyApprovedOutbound"] = Field(
        "AllowOnlyApprovedOutbound", alias="isolationMode"
    )


@dataclass(frozen=True)
class MachineLearningArgs(Placement):
    key_vault_id: pulumi.Input[str]
    log_analytics_workspace_id: pulumi.Input[str]
    settings: MachineLearningSettings


class MachineLearningWorkspace(pulumi.ComponentResource):
    def __init__(self, name: str, args: MachineLearningArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__(TYPE_TOKEN, name, None, opts)
        self.storage = self._storage(name, args)
        self.insights = self._insights(name, args)
        self.registry: containerregistry.Registry | None = None
        if args.settings.container_registry:
            self.registry = self._registry(name, args)
        self.workspace = self._workspace(name, args)

        self.workspace_name: pulumi.Output[str] = self.workspace.name
        self.workspace_id: pulumi.Output[str] = self.workspace.id
        self.storage_account_name: pulumi.Output[str] = self.storage.name
        self.register_outputs(
            {
                "workspace_name": self.workspace_name,
                "workspace_id": self.workspace_id,
                "storage_account_name": self.storage_account_name,
            }
        )

    def _storage(self, name: str, args: MachineLearningArgs) -> storage.StorageAccount:
        return storage.StorageAccount(
            f"{name}-storage",
            account_name=naming.check_name("storage account", f"{args.prefix}mlst{args.name_suffix}"),
            resource_group_name=args.resource_group_name,
            location=args.location,
            kind="StorageV2",
            sku=storage.SkuArgs(name=args.settings.storage_redundancy),
            # AML's datastores and compute file shares do not support a hierarchical namespace.
            is_hns_enabled=False,
            enable_https_traffic_only=True,
            minimum_tls_version="TLS1_2",
            allow_blob_public_access=False,
            # Private, like the workspace: its managed network reaches the account through the private
            # endpoints AML creates for the workspace's default storage; the Deny rule stays should
            # public access be re-enabled. https://learn.microsoft.com/azure/machine-learning/how-to-managed-network
            public_network_access="Disabled",
            network_rule_set=storage.NetworkRuleSetArgs(default_action="Deny", bypass="AzureServices"),
            # Shared keys stay on: AML's default (credential-based) datastores and compute file shares
            # use them. A workspace on a storage account without shared keys is a preview, not for
            # production (https://learn.microsoft.com/azure/machine-learning/how-to-disable-local-auth-storage);
            # the security baseline lists the account as a justified exception.
            opts=pulumi.ResourceOptions(parent=self),
        )

    def _insights(self, name: str, args: MachineLearningArgs) -> applicationinsights.Component:
        # Workspace-based: telemetry lands in the platform's Log Analytics workspace.
        return applicationinsights.Component(
            f"{name}-insights",
            resource_name_=naming.check_name(
                "application insights", f"appi-{args.prefix}-ml-{args.name_suffix}", INSIGHTS_NAME
            ),
            resource_group_name=args.resource_group_name,
            location=args.location,
            kind="web",
            application_type="web",
            workspace_resource_id=args.log_analytics_workspace_id,
            ingestion_mode="LogAnalytics",
            opts=pulumi.ResourceOptions(parent=self),
        )

    def _registry(self, name: str, args: MachineLearningArgs) -> containerregistry.Registry:
        return containerregistry.Registry(
            f"{name}-registry",
            registry_name=naming.check_name("container registry", f"{args.prefix}mlcr{args.name_suffix}", REGISTRY_NAME),
            resource_group_name=args.resource_group_name,
            location=args.location,
            sku=containerregistry.SkuArgs(name="Premium"),
            admin_user_enabled=False,
            public_network_access="Disabled",
            opts=pulumi.ResourceOptions(parent=self),
        )

    def _workspace(self, name: str, args: MachineLearningArgs) -> machinelearningservices.Workspace:
        settings = args.settings
        return machinelearningservices.Workspace(
            f"{name}-workspace",
            workspace_name=naming.check_name(
                "machine learning workspace", f"mlw-{args.prefix}-{args.name_suffix}", WORKSPACE_NAME
            ),
            resource_group_name=args.resource_group_name,
            location=args.location,
            kind="Default",
            sku=machinelearningservices.SkuArgs(name=settings.sku),
            identity=machinelearningservices.ManagedServiceIdentityArgs(type="SystemAssigned"),
            storage_account=self.storage.id,
            key_vault=args.key_vault_id,
            application_insights=self.insights.id,
            container_registry=self.registry.id if self.registry else None,
            public_network_access="Disabled",
            managed_network=machinelearningservices.ManagedNetworkSettingsArgs(isolation_mode=settings.isolation_mode),
            opts=pulumi.ResourceOptions(parent=self),
        )


def deploy(context: Platform, settings: MachineLearningSettings) -> dict[str, Any]:
    workspace = MachineLearningWorkspace(
        "machine-learning",
        MachineLearningArgs.from_context(
            context,
            key_vault_id=context.key_vault_id,
            log_analytics_workspace_id=context.log_analytics_workspace_id,
            settings=settings,
        ),
    )
    outputs: dict[str, Any] = {
        "machineLearningWorkspaceName": workspace.workspace_name,
        "machineLearningWorkspaceId": workspace.workspace_id,
        "machineLearningStorageAccountName": workspace.storage_account_name,
    }
    if workspace.registry is not None:
        outputs["machineLearningRegistryName"] = workspace.registry.name
    return outputs


def posture(config: StackFacts, settings: MachineLearningSettings | None) -> tuple[Posture, ...]:
    if settings is None:
        return (Posture(sku="none", uplift_enabled=(None, None)),)
    # The dependent services this stack controls: the storage account's redundancy. A second region
    # is the paired stack's business, which one stack file cannot tell.
    dependents_ha = settings.storage_redundancy in GEO_REDUNDANT
    return (Posture(sku=f"{settings.sku} workspace, {settings.storage_redundancy} storage", uplift_enabled=(dependents_ha, None)),)


SERVICE = ServiceSpec(
    type_token=TYPE_TOKEN,
    key="machineLearning",
    settings=MachineLearningSettings,
    profile=PROFILE,
    deploy=deploy,
    posture=posture,
    example={
        "sku": "Basic",
        "storageRedundancy": "Standard_GRS",
        "containerRegistry": True,
        "isolationMode": "AllowOnlyApprovedOutbound",
    },
    physical_names={
        "azure-native:machinelearningservices:Workspace": "workspaceName",
        "azure-native:storage:StorageAccount": "accountName",
        "azure-native:applicationinsights:Component": "resourceName",
        "azure-native:containerregistry:Registry": "registryName",
    },
    globally_unique=frozenset({"azure-native:storage:StorageAccount", "azure-native:containerregistry:Registry"}),
)
