"""Foundation: one resource group per layer, Log Analytics, Key Vault and a Recovery Services vault.

Every resource group is created in the stack's own region: a resource group's metadata lives in its
region, and while that region is down nothing in the group can be changed, so the secondary never
reuses a primary group (https://learn.microsoft.com/azure/azure-resource-manager/management/overview).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import pulumi
from pulumi_azure_native import authorization, keyvault, operationalinsights, recoveryservices, resources
from pydantic import Field, field_validator

from components import naming
from components.profile import Dependency, DRProfile, Estimates, RecoveryAction, Responsibility, SeedFacts
from components.spec import Platform, Posture, ServiceSettings, ServiceSpec, StackFacts
from smoke_tests.foundation import CHECKS

TYPE_TOKEN = "dataplatform:foundation:Foundation"

PROFILE = DRProfile(
    key="foundation",
    title="Foundation: resource groups, Log Analytics, Key Vault, Recovery Services vault",
    # The vaults hold state, but the seeds make Microsoft responsible for recovering it; what this
    # stack owns is their (empty) configuration, which is redeployed under the region's names.
    stateful=False,
    recovery_action=RecoveryAction.REDEPLOY,
    checks=CHECKS,
    # The seeds' first steps: identity and subscriptions (Microsoft-recovered) must be available
    # before anything is deployed; these are catalog services (components/catalog.py).
    depends_on=(
        Dependency("entra_id", "deploying needs Microsoft Entra ID to authenticate and authorise"),
        Dependency("subscriptions", "the resource groups are created in the subscription"),
    ),
    priority=0,
    # Resource groups take seconds; workspace, Key Vault and vault deploy in parallel in 1-3 minutes.
    estimates=Estimates(deploy=180, smoke=60),
    seed=(
        SeedFacts(
            service="Azure Key Vault",
            component_responsibility=Responsibility.MICROSOFT,
            workload_responsibility=Responsibility.MICROSOFT,
            sku_selected="N/A",
            uplift_options=("None needed: replication to the paired region is part of the service",),
            stateful=True,  # the seed's stateful foundational components: secrets, backups
        ),
        SeedFacts(
            service="Recovery Services Vault",
            component_responsibility=Responsibility.MICROSOFT,
            workload_responsibility=Responsibility.MICROSOFT,
            sku_selected="Default (GRS)",
            uplift_options=("Enable Cross Region Restore to restore into the paired region",),
            stateful=True,  # the seed's stateful foundational components: secrets, backups
        ),
    ),
    notes=(
        "Key Vault and Recovery Services vault contents are recovered by Microsoft (seed tables); "
        "the secondary gets its own, differently named vaults.",
        "Secrets are re-seeded by their owners; backups come back through Cross Region Restore.",
        "Log history stays in the primary's workspace; the secondary starts a new one.",
    ),
)


# Stack outputs, read by drctl and the smoke tests.
RESOURCE_GROUPS_OUTPUT = "resourceGroups"  # {"foundation": ..., "connectivity": ..., "data": ...}
LOG_ANALYTICS_WORKSPACE_ID_OUTPUT = "logAnalyticsWorkspaceId"
KEY_VAULT_NAME_OUTPUT = "keyVaultName"
KEY_VAULT_URI_OUTPUT = "keyVaultUri"
RECOVERY_VAULT_NAME_OUTPUT = "recoveryVaultName"
KEY_VAULT_CREATE_MODE = "properties.createMode"


class FoundationSettings(ServiceSettings):
    log_retention_days: int = Field(30, alias="logRetentionDays", ge=30, le=730)
    key_vault_sku: Literal["standard", "premium"] = Field("standard", alias="keyVaultSku")
    # `recover`: the vault is created by recovering the soft-deleted vault of the same name, which
    # purge protection keeps reserved for its retention period after a destroy (a new vault of that
    # name is refused until then). https://learn.microsoft.com/azure/key-vault/general/key-vault-recovery
    key_vault_create_mode: Literal["default", "recover"] = Field("default", alias="keyVaultCreateMode")
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


@dataclass(frozen=True)
class FoundationArgs:
    location: str
    prefix: str
    name_suffix: str
    log_retention_days: int = 30
    key_vault_sku: str = "standard"
    key_vault_create_mode: str = "default"
    # Cross Region Restore needs geo-redundant vault storage and cannot be turned off once on.
    cross_region_restore: bool = True
    # On the resource groups only: what `drctl cleanup` lists and deletes is the group (and with it
    # everything inside), and not every resource type takes tags.
    tags: tuple[tuple[str, str], ...] = ()


class Foundation(pulumi.ComponentResource):
    """Resource groups for every layer plus the shared operational services of one region."""

    def __init__(self, name: str, args: FoundationArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__(TYPE_TOKEN, name, None, opts)
        self.resource_groups = self._resource_groups(name, args)
        self.resource_group_names: dict[str, pulumi.Output[str]] = {
            layer: group.name for layer, group in self.resource_groups.items()
        }
        group = self.resource_group_names["foundation"]
        self.workspace = self._workspace(name, args, group)
        client = authorization.get_client_config_output(opts=pulumi.InvokeOutputOptions(parent=self))
        self.tenant_id: pulumi.Output[str] = client.tenant_id
        self.key_vault = self._key_vault(name, args, group)
        self.recovery_vault = self._recovery_vault(name, args, group)
        self.workspace_id: pulumi.Output[str] = self.workspace.id
        self.key_vault_name: pulumi.Output[str] = self.key_vault.name
        self.key_vault_uri: pulumi.Output[str] = pulumi.Output.concat(
            "https://", self.key_vault.name, ".vault.azure.net/"
        )
        self.recovery_vault_name: pulumi.Output[str] = self.recovery_vault.name
        self.register_outputs(
            {
                "resource_group_names": self.resource_group_names,
                "workspace_id": self.workspace_id,
                "key_vault_name": self.key_vault_name,
                "key_vault_uri": self.key_vault_uri,
                "recovery_vault_name": self.recovery_vault_name,
            }
        )

    def _resource_groups(self, name: str, args: FoundationArgs) -> dict[str, resources.ResourceGroup]:
        return {
            layer: resources.ResourceGroup(
                f"{name}-rg-{layer}",
                resource_group_name=naming.resource_group_name(args.prefix, layer, args.name_suffix),
                location=args.location,
                tags=dict(args.tags) or None,
                opts=pulumi.ResourceOptions(parent=self),
            )
            for layer in naming.LAYERS
        }

    def _workspace(self, name: str, args: FoundationArgs, group: pulumi.Input[str]) -> operationalinsights.Workspace:
        return operationalinsights.Workspace(
            f"{name}-log",
            workspace_name=naming.log_analytics_name(args.prefix, args.name_suffix),
            resource_group_name=group,
            location=args.location,
            sku=operationalinsights.WorkspaceSkuArgs(name="PerGB2018"),
            retention_in_days=args.log_retention_days,
            opts=pulumi.ResourceOptions(parent=self),
        )

    def _key_vault(self, name: str, args: FoundationArgs, group: pulumi.Input[str]) -> keyvault.Vault:
        return keyvault.Vault(
            f"{name}-kv",
            vault_name=naming.key_vault_name(args.prefix, args.name_suffix),
            resource_group_name=group,
            location=args.location,
            properties=keyvault.VaultPropertiesArgs(
                tenant_id=self.tenant_id,
                sku=keyvault.SkuArgs(family="A", name=args.key_vault_sku),
                # Only when recovering (an unchanged vault for every stack that does not).
                create_mode="recover" if args.key_vault_create_mode == "recover" else None,
                # Azure RBAC instead of access policies: access is granted by role assignment, audited
                # in one place, and survives a redeploy of the vault.
                enable_rbac_authorization=True,
                # Soft delete can no longer be turned off; purge protection keeps a deleted vault
                # recoverable for the whole retention period, even from an administrator.
                enable_soft_delete=True,
                soft_delete_retention_in_days=90,
                enable_purge_protection=True,
                # Data plane closed to the internet: reached through its private endpoints (the hub's
                # and the runner's twin, components/connectivity.py). Disabled overrides the network
                # rules, but trusted Azure services (e.g. Backup) still pass; the Deny rule stays so
                # that re-enabling public access alone opens nothing.
                # https://learn.microsoft.com/azure/key-vault/general/network-security
                public_network_access="Disabled",
                network_acls=keyvault.NetworkRuleSetArgs(default_action="Deny", bypass="AzureServices"),
            ),
            # A create-time choice: switching it later must not send `recover` to a live vault.
            opts=pulumi.ResourceOptions(parent=self, ignore_changes=[KEY_VAULT_CREATE_MODE]),
        )

    def _recovery_vault(self, name: str, args: FoundationArgs, group: pulumi.Input[str]) -> recoveryservices.Vault:
        return recoveryservices.Vault(
            f"{name}-rsv",
            vault_name=naming.recovery_vault_name(args.prefix, args.name_suffix),
            resource_group_name=group,
            location=args.location,
            sku=recoveryservices.SkuArgs(name="RS0", tier="Standard"),
            properties=recoveryservices.VaultPropertiesArgs(
                redundancy_settings=recoveryservices.VaultPropertiesRedundancySettingsArgs(
                    # GRS is the seeds' default selection and a precondition of Cross Region Restore.
                    standard_tier_storage_redundancy="GeoRedundant",
                    cross_region_restore="Enabled" if args.cross_region_restore else "Disabled",
                ),
            ),
            opts=pulumi.ResourceOptions(parent=self),
        )



def deploy(platform: Platform, settings: FoundationSettings) -> dict[str, object]:
    """Resource groups (in this region), Log Analytics, Key Vault, Recovery Services vault."""
    foundation = Foundation(
        "foundation",
        FoundationArgs(
            location=platform.region,
            prefix=platform.prefix,
            name_suffix=platform.suffix,
            log_retention_days=settings.log_retention_days,
            key_vault_sku=settings.key_vault_sku,
            key_vault_create_mode=settings.key_vault_create_mode,
            cross_region_restore=settings.recovery_vault_cross_region_restore,
            tags=tuple(sorted(settings.tags.items())),
        ),
    )
    platform.resource_groups = foundation.resource_group_names
    platform.log_analytics_workspace_id = foundation.workspace_id
    platform.key_vault_id = foundation.key_vault.id
    return {
        RESOURCE_GROUPS_OUTPUT: foundation.resource_group_names,
        LOG_ANALYTICS_WORKSPACE_ID_OUTPUT: foundation.workspace_id,
        KEY_VAULT_NAME_OUTPUT: foundation.key_vault_name,
        KEY_VAULT_URI_OUTPUT: foundation.key_vault_uri,
        RECOVERY_VAULT_NAME_OUTPUT: foundation.recovery_vault_name,
    }


def posture(config: StackFacts, settings: FoundationSettings) -> tuple[Posture, ...]:
    return (
        Posture(sku=settings.key_vault_sku, uplift_enabled=(None,)),
        Posture(sku="RS0 (GeoRedundant)", uplift_enabled=(settings.recovery_vault_cross_region_restore,)),
    )


SERVICE = ServiceSpec(
    key="foundation",
    type_token=TYPE_TOKEN,
    profile=PROFILE,
    settings=FoundationSettings,
    deploy=deploy,
    posture=posture,
    switch="always",
    physical_names={
        "azure-native:resources:ResourceGroup": "resourceGroupName",
        "azure-native:operationalinsights:Workspace": "workspaceName",
        "azure-native:keyvault:Vault": "vaultName",
        "azure-native:recoveryservices:Vault": "vaultName",
    },
    # Key Vault names also stay reserved while soft-deleted.
    globally_unique=frozenset({"azure-native:keyvault:Vault"}),
)
