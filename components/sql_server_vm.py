"""SQL Server on Azure VMs: the Site Recovery side only, a vault and an A2A replication policy.

SQL Server on VMs is IaaS: its regional recovery is Azure Site Recovery's job
(https://learn.microsoft.com/azure/azure-sql/virtual-machines/windows/business-continuity-high-availability-disaster-recovery-hadr-overview).
Site Recovery's vault must be in the TARGET region of the replication
(https://learn.microsoft.com/azure/site-recovery/azure-to-azure-tutorial-enable-replication), so this
service is enabled on the SECONDARY stack: its vault, in the secondary's region, protects the
primary region's VMs. Enabled on the primary stack, the vault protects the secondary region's VMs
(the failback direction). Every resource stays in its own stack's region.

Declared: the vault and a replication policy (a vault-level object that needs no fabric).
Not declared, because Site Recovery creates them when replication is enabled per VM (portal, CLI or
`az site-recovery`): the fabrics (one per region), protection containers, container mappings
(policy to container pairs), network mappings, the replicated items and recovery plans. The VMs
themselves and their SQL Server configuration are the workload's, not this program's.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

import pulumi
from pulumi_azure_native import recoveryservices
from pydantic import Field, model_validator

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
from smoke_tests.sql_server_vm import CHECKS

TYPE_TOKEN = "dataplatform:iaas:SqlServerVmRecovery"

# Site Recovery takes crash-consistent points every five minutes; the API accepts no other value.
CRASH_CONSISTENT_MINUTES = 5

PROFILE = DRProfile(
    key="sql_server_vm",
    title="SQL Server on Azure VMs (Site Recovery vault and replication policy)",
    # Replicated disks carry the databases: a recovery point is the state recovered.
    stateful=True,
    recovery_action=RecoveryAction.SERVICE_FAILOVER,
    checks=CHECKS,
    data_recovery=DataRecovery(
        source=(
            "Site Recovery's replicated disks (recovery points) in the paired region, or an Always On "
            "replica"
        ),
        replay="ingestion re-run from the databases' max-timestamp after the recovery point",
        source_uplifts=((0, 0), (0, 1)),
    ),
    depends_on=(Dependency("foundation", "the vault lives in the data resource group"),),
    priority=2,
    # A recovery plan failover of a few VMs typically completes in 15-30 minutes (Site Recovery's
    # SLA is a two-hour RTO per protected instance); SQL Server recovery follows on boot.
    estimates=Estimates(deploy=1800, validate=600, replay=600, smoke=300),
    seed=(
        SeedFacts(
            service="SQL Server on Azure VMs",
            component_responsibility=Responsibility.CUSTOMER,
            workload_responsibility=Responsibility.CUSTOMER,
            sku_selected="N/A (IaaS)",
            uplift_options=(
                "Azure Site Recovery replication to the paired region (vault and A2A policy in the target region)",
                "Always On availability group with a replica in the paired region",
            ),
        ),
    ),
    notes=(
        "Enable sqlServerVm on the SECONDARY stack: Site Recovery's vault must be in the target region.",
        "Replication is enabled per VM, which creates the fabrics, containers, mappings and protected "
        "items; recovery plans group the VMs and are what drctl fails over.",
        "App-consistent points (VSS) give SQL Server a transactionally consistent restart; "
        "crash-consistent points rely on SQL Server's crash recovery.",
    ),
)


class SqlServerVmSettings(ServiceSettings):
    # How far back recovery points go: Site Recovery keeps up to 15 days.
    recovery_point_retention_hours: int = Field(24, alias="recoveryPointRetentionHours", ge=1, le=360)
    # 0 turns app-consistent snapshots off; otherwise every 1-12 hours.
    app_consistent_snapshot_hours: int = Field(4, alias="appConsistentSnapshotHours", ge=0, le=12)
    # Multi-VM consistency: all VMs of a replication group share recovery points (for clustered SQL).
    multi_vm_sync: bool = Field(False, alias="multiVmSync")
    # Disabled needs a Site Recovery private endpoint in the SOURCE region's VNet (the paired stack's),
    # which this stack does not own: enabled until that endpoint exists.
    public_network_access: Literal["Enabled", "Disabled"] = Field("Enabled", alias="publicNetworkAccess")

    @model_validator(mode="after")
    def _snapshots_within_retention(self) -> SqlServerVmSettings:
        if self.app_consistent_snapshot_hours > self.recovery_point_retention_hours:
            raise ValueError("appConsistentSnapshotHours must not exceed recoveryPointRetentionHours")
        return self


@dataclass(frozen=True)
class SqlServerVmRecoveryArgs(Placement):
    settings: SqlServerVmSettings


def vault_name(prefix: str, suffix: str) -> str:
    # Distinct from the foundation's backup vault (rsv-<prefix>-<suffix>): Site Recovery gets its own.
    return naming.check_name("recovery services vault", f"rsv-{prefix}-asr-{suffix}")


def policy_name(prefix: str, suffix: str) -> str:
    return naming.check_name("replication policy", f"a2a-{prefix}-sqlvm-{suffix}", naming.GENERAL_NAME)


class SqlServerVmRecovery(pulumi.ComponentResource):
    def __init__(self, name: str, args: SqlServerVmRecoveryArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__(TYPE_TOKEN, name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        settings = args.settings
        self.vault = recoveryservices.Vault(
            f"{name}-vault",
            vault_name=vault_name(args.prefix, args.name_suffix),
            resource_group_name=args.resource_group_name,
            # The stack's own region, which is the replication TARGET when enabled on the secondary.
            location=args.location,
            sku=recoveryservices.SkuArgs(name="RS0", tier="Standard"),
            # Used by Site Recovery's private endpoints and the Mobility agent auto-update account.
            identity=recoveryservices.IdentityDataArgs(type=recoveryservices.ResourceIdentityType.SYSTEM_ASSIGNED),
            properties=recoveryservices.VaultPropertiesArgs(public_network_access=settings.public_network_access),
            opts=child,
        )
        self.policy = recoveryservices.ReplicationPolicy(
            f"{name}-policy",
            policy_name=policy_name(args.prefix, args.name_suffix),
            resource_group_name=args.resource_group_name,
            resource_name_=self.vault.name,
            properties=recoveryservices.CreatePolicyInputPropertiesArgs(
                provider_specific_input=recoveryservices.A2APolicyCreationInputArgs(
                    instance_type="A2A",
                    recovery_point_history=settings.recovery_point_retention_hours * 60,
                    app_consistent_frequency_in_minutes=settings.app_consistent_snapshot_hours * 60,
                    crash_consistent_frequency_in_minutes=CRASH_CONSISTENT_MINUTES,
                    multi_vm_sync_status=(
                        recoveryservices.SetMultiVmSyncStatus.ENABLE
                        if settings.multi_vm_sync
                        else recoveryservices.SetMultiVmSyncStatus.DISABLE
                    ),
                ),
            ),
            opts=child,
        )
        self.vault_name: pulumi.Output[str] = self.vault.name
        self.vault_id: pulumi.Output[str] = self.vault.id
        self.policy_name: pulumi.Output[str] = self.policy.name
        self.register_outputs(
            {"vault_name": self.vault_name, "vault_id": self.vault_id, "policy_name": self.policy_name}
        )


def deploy(context: Platform, settings: SqlServerVmSettings) -> dict[str, Any]:
    recovery = SqlServerVmRecovery(
        "sql-server-vm",
        SqlServerVmRecoveryArgs.from_context(context, settings=settings),
    )
    return {
        "sqlServerVmRecoveryVaultName": recovery.vault_name,
        "sqlServerVmRecoveryVaultId": recovery.vault_id,
        "sqlServerVmReplicationPolicyName": recovery.policy_name,
        # The region whose VMs this vault protects: the other stack's.
        "sqlServerVmProtectedRegion": context.config.paired_region,
    }


def posture(config: StackFacts, settings: SqlServerVmSettings | None) -> tuple[Posture, ...]:
    if settings is None:
        return (Posture(sku="none", uplift_enabled=(None, None)),)
    # On the secondary the vault is the target for the primary region's VMs: the uplift is in place.
    # On the primary it serves the other direction, and whether the secondary has one is not in this
    # stack's config. Availability groups are configured inside SQL Server, which this program does not see.
    return (Posture(sku="N/A (IaaS)", uplift_enabled=(True if config.is_secondary else None, None)),)


SERVICE = ServiceSpec(
    type_token=TYPE_TOKEN,
    key="sqlServerVm",
    settings=SqlServerVmSettings,
    profile=PROFILE,
    deploy=deploy,
    posture=posture,
    example={"recoveryPointRetentionHours": 24, "appConsistentSnapshotHours": 4, "multiVmSync": False},
    physical_names={"azure-native:recoveryservices:ReplicationPolicy": "policyName"},
    # The policy is a child of the vault with no location of its own.
    subresources=frozenset({"azure-native:recoveryservices:ReplicationPolicy"}),
)
