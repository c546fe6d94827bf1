"""Foundation: one resource group per layer, Log Analytics, Key Vault and a Recovery Services vault.

Every resource group is created in the stack's own region: a resource group's metadata lives in its
region, and while that region is down nothing in the group can be changed, so the secondary never
reuses a primary group (https://learn.microsoft.com/azure/azure-resource-manager/management/overview).
"""

from __future__ import annotations

from dataclasses import dataclass

import pulumi
from pulumi_azure_native import authorization, keyvault, operationalinsights, recoveryservices, resources

from components import naming
from components.profile import (
    Dependency,
    DRProfile,
    Estimates,
    RecoveryAction,
    Responsibility,
    SeedFacts,
    register,
)

TYPE_TOKEN = "dataplatform:foundation:Foundation"

PROFILE = register(
    TYPE_TOKEN,
    DRProfile(
        key="foundation",
        title="Foundation: resource groups, Log Analytics, Key Vault, Recovery Services vault",
        # The vaults hold state, but the seeds make Microsoft responsible for recovering it; what this
        # stack owns is their (empty) configuration, which is redeployed under the region's names.
        stateful=False,
        recovery_action=RecoveryAction.REDEPLOY,
        smoke_checks=(
            "resource-groups-present",
            "log-analytics-ready",
            "key-vault-reachable",
            "recovery-vault-ready",
        ),
        data_checks=(),
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
            ),
            SeedFacts(
                service="Recovery Services Vault",
                component_responsibility=Responsibility.MICROSOFT,
                workload_responsibility=Responsibility.MICROSOFT,
                sku_selected="Default (GRS)",
                uplift_options=("Enable Cross Region Restore to restore into the paired region",),
            ),
        ),
        notes=(
            "Key Vault and Recovery Services vault contents are recovered by Microsoft (seed tables); "
            "the secondary gets its own, differently named vaults.",
            "Secrets are re-seeded by their owners; backups come back through Cross Region Restore.",
            "Log history stays in the primary's workspace; the secondary starts a new one.",
        ),
    ),
)


@dataclass(frozen=True)
class FoundationArgs:
    location: str
    prefix: str
    name_suffix: str
    log_retention_days: int = 30
    key_vault_sku: str = "standard"
    # Cross Region Restore needs geo-redundant vault storage and cannot be turned off once on.
    cross_region_restore: bool = True
    # On the resource groups only: what `drctl cleanup` lists and deletes is the group (and with it
    # everything inside), and not every resource type takes tags.
    tags: tuple[tuple[str, str], ...] = ()


class Foundation(pulumi.ComponentResource):
    """Resource groups for every layer plus the shared operational services of one region."""

    def __init__(self, name: str, args: FoundationArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__(TYPE_TOKEN, name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        prefix, suffix, location = args.prefix, args.name_suffix, args.location

        self.resource_groups: dict[str, resources.ResourceGroup] = {
            layer: resources.ResourceGroup(
                f"{name}-rg-{layer}",
                resource_group_name=naming.resource_group_name(prefix, layer, suffix),
                location=location,
                tags=dict(args.tags) or None,
                opts=child,
            )
            for layer in naming.LAYERS
        }
        self.resource_group_names: dict[str, pulumi.Output[str]] = {
            layer: group.name for layer, group in self.resource_groups.items()
        }
        group = self.resource_group_names["foundation"]

        self.workspace = operationalinsights.Workspace(
            f"{name}-log",
            workspace_name=naming.log_analytics_name(prefix, suffix),
            resource_group_name=group,
            location=location,
            sku=operationalinsights.WorkspaceSkuArgs(name="PerGB2018"),
            retention_in_days=args.log_retention_days,
            opts=child,
        )

        client = authorization.get_client_config_output(opts=pulumi.InvokeOutputOptions(parent=self))
        self.tenant_id: pulumi.Output[str] = client.tenant_id
        self.key_vault = keyvault.Vault(
            f"{name}-kv",
            vault_name=naming.key_vault_name(prefix, suffix),
            resource_group_name=group,
            location=location,
            properties=keyvault.VaultPropertiesArgs(
                tenant_id=self.tenant_id,
                sku=keyvault.SkuArgs(family="A", name=args.key_vault_sku),
                # Azure RBAC instead of access policies: access is granted by role assignment, audited
                # in one place, and survives a redeploy of the vault.
                enable_rbac_authorization=True,
                # Soft delete can no longer be turned off; purge protection keeps a deleted vault
                # recoverable for the whole retention period, even from an administrator.
                enable_soft_delete=True,
                soft_delete_retention_in_days=90,
                enable_purge_protection=True,
                # Data plane closed to the internet; trusted Azure services (e.g. Backup) still pass.
                network_acls=keyvault.NetworkRuleSetArgs(default_action="Deny", bypass="AzureServices"),
            ),
            opts=child,
        )

        self.recovery_vault = recoveryservices.Vault(
            f"{name}-rsv",
            vault_name=naming.recovery_vault_name(prefix, suffix),
            resource_group_name=group,
            location=location,
            sku=recoveryservices.SkuArgs(name="RS0", tier="Standard"),
            properties=recoveryservices.VaultPropertiesArgs(
                redundancy_settings=recoveryservices.VaultPropertiesRedundancySettingsArgs(
                    # GRS is the seeds' default selection and a precondition of Cross Region Restore.
                    standard_tier_storage_redundancy="GeoRedundant",
                    cross_region_restore="Enabled" if args.cross_region_restore else "Disabled",
                ),
            ),
            opts=child,
        )

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
