"""Azure Analysis Services: a server in the stack's region and the storage its model backups go to.

Analysis Services has no cross-region replication: Microsoft's HA/BCDR guidance is to back models up
to storage and restore them on a server in another region, or to process them again from their
sources (https://learn.microsoft.com/azure/analysis-services/analysis-services-bcdr). So the backups
go to a read-access geo-redundant account: the secondary's rehydrate step reads the primary's .abf
files from that account's secondary endpoint and restores them (TMSL `Restore`, a data-plane call),
then every model is refreshed from its sources.

Not modelled: the server's `backupBlobContainerUri`. The API takes a SAS URL, a credential, and no
stack key holds a secret; an administrator connects the container once (portal: Backups) per server.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated, Any, Literal

import pulumi
from pulumi_azure_native import analysisservices, storage
from pydantic import BaseModel, ConfigDict, Field, StringConstraints

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
from components.runner_entries import analysis_services_admin
from components.spec import Platform, Posture, ServiceSettings, ServiceSpec, StackFacts
from smoke_tests.analysis_services import CHECKS

TYPE_TOKEN = "dataplatform:analytics:AnalysisServices"

# Analysis Services server names: 3-63 lowercase letters and digits, a lowercase letter first.
SERVER_NAME = naming.NameRule(3, 63, r"[a-z][a-z0-9]*", "lowercase letters and digits, a letter first")
BACKUP_CONTAINER = "model-backups"
GEO_REDUNDANT = {"Standard_GRS", "Standard_RAGRS", "Standard_GZRS", "Standard_RAGZRS"}

AasSku = Literal["D1", "B1", "B2", "S0", "S1", "S2", "S4", "S8v2", "S9v2"]
# Each SKU family is its own pricing tier.
TIERS = {"D": "Development", "B": "Basic", "S": "Standard"}
# An administrator: a user's UPN, or app:<appId>@<tenantId> / obj:<objectId>@<tenantId> for principals.
Admin = Annotated[str, StringConstraints(pattern=r"^[^@\s]+@[^@\s]+$")]

PROFILE = DRProfile(
    key="analysis_services",
    title="Azure Analysis Services server",
    # The tabular models hold processed data; their definitions are in source control.
    stateful=True,
    recovery_action=RecoveryAction.REDEPLOY_REHYDRATE,
    checks=CHECKS,
    data_recovery=DataRecovery(
        source="the latest .abf model backups in the geo-redundant backup account",
        replay="the models refreshed from their sources (the lake)",
        source_uplifts=((0, 0),),
    ),
    depends_on=(
        Dependency("foundation", "the server and its backup account live in the data resource group"),
        Dependency("lake", "models are refreshed from the lake after the backups are restored", needs_data=True),
    ),
    priority=4,
    # Server creation: about five minutes; restoring .abf backups and a refresh scale with model size.
    estimates=Estimates(deploy=300, rehydrate=1800, validate=300, replay=1800, smoke=60),
    seed=(
        SeedFacts(
            service="Azure Analysis Services",
            component_responsibility=Responsibility.MICROSOFT,
            workload_responsibility=Responsibility.CUSTOMER,
            sku_selected="Standard S0",
            uplift_options=("Model backups to geo-redundant storage, restorable on a server in another region",),
        ),
    ),
    notes=(
        "Other key services (seeds): HA guidance is Analysis Services' BCDR documentation.",
        "Connect each server's backup storage once (portal: Backups): the API wants a SAS URL, a secret "
        "no stack key holds.",
        "Rehydrate restores the latest .abf per model from the geo-redundant account; replay refreshes "
        "the models from their sources; data check: every model refreshes successfully.",
    ),
)


class FirewallRange(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)

    name: str = Field(min_length=1)
    range_start: str = Field(alias="rangeStart", pattern=r"^\d{1,3}(\.\d{1,3}){3}$")
    range_end: str = Field(alias="rangeEnd", pattern=r"^\d{1,3}(\.\d{1,3}){3}$")


class AnalysisServicesSettings(ServiceSettings):
    sku: AasSku = "S0"
    # Required: server administrators (Entra ID identities).
    administrators: tuple[Admin, ...] = Field(min_length=1)
    backup_redundancy: Literal[
        "Standard_LRS", "Standard_ZRS", "Standard_GRS", "Standard_RAGRS", "Standard_GZRS", "Standard_RAGZRS"
    ] = Field("Standard_RAGRS", alias="backupRedundancy")
    # The firewall is always on: only the Power BI service (if allowed) and these ranges get in.
    allow_power_bi: bool = Field(True, alias="allowPowerBi")
    allowed_ranges: tuple[FirewallRange, ...] = Field((), alias="allowedRanges")


@dataclass(frozen=True)
class AnalysisServicesArgs(Placement):
    settings: AnalysisServicesSettings
    # drctl's runner (components/runner_entries.py): an administrator (the refresh API wants one), and
    # its public egress ranges in the firewall, since the server has no private link.
    runner_admin: pulumi.Input[str] | None = None
    runner_egress: tuple[tuple[str, str], ...] = ()


def server_name(prefix: str, suffix: str) -> str:
    return naming.check_name("analysis services server", f"{prefix}aas{suffix}", SERVER_NAME)


def backup_account_name(prefix: str, suffix: str) -> str:
    return naming.check_name("storage account", f"{prefix}aasbak{suffix}")


class AnalysisServices(pulumi.ComponentResource):
    def __init__(self, name: str, args: AnalysisServicesArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__(TYPE_TOKEN, name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        settings = args.settings

        self.backups = storage.StorageAccount(
            f"{name}-backups",
            account_name=backup_account_name(args.prefix, args.name_suffix),
            resource_group_name=args.resource_group_name,
            location=args.location,
            kind=storage.Kind.STORAGE_V2,
            # RA-GRS by default: the paired region can read the backups without a storage failover.
            sku=storage.SkuArgs(name=settings.backup_redundancy),
            enable_https_traffic_only=True,
            minimum_tls_version=storage.MinimumTlsVersion.TLS1_2,
            allow_blob_public_access=False,
            # Open to all networks, with shared keys, both listed as justified exceptions in the
            # security baseline: the server reaches its backup container through a SAS, which a key
            # signs, from addresses in its region that no storage firewall rule can admit (Analysis
            # Services joins no VNet, has no private link or service tag, and a same-region account's
            # IP rules do not apply to it; "If organization policies require a firewall, it must be
            # configured to allow access from All networks").
            # https://learn.microsoft.com/azure/analysis-services/analysis-services-network-faq
            opts=child,
        )
        self.container = storage.BlobContainer(
            f"{name}-backup-container",
            container_name=BACKUP_CONTAINER,
            account_name=self.backups.name,
            resource_group_name=args.resource_group_name,
            public_access=storage.PublicAccess.NONE,
            opts=child,
        )
        self.server = analysisservices.ServerDetails(
            f"{name}-server",
            server_name=server_name(args.prefix, args.name_suffix),
            resource_group_name=args.resource_group_name,
            location=args.location,
            sku=analysisservices.ResourceSkuArgs(name=settings.sku, tier=TIERS[settings.sku[0]]),
            as_administrators=analysisservices.ServerAdministratorsArgs(
                members=[*settings.administrators, *([args.runner_admin] if args.runner_admin is not None else [])]),
            # No firewall means any address may connect; with it, only what is listed below.
            ip_v4_firewall_settings=analysisservices.IPv4FirewallSettingsArgs(
                enable_power_bi_service=settings.allow_power_bi,
                firewall_rules=[
                    analysisservices.IPv4FirewallRuleArgs(
                        firewall_rule_name=r.name, range_start=r.range_start, range_end=r.range_end
                    )
                    for r in settings.allowed_ranges
                ] + [
                    analysisservices.IPv4FirewallRuleArgs(
                        firewall_rule_name=f"drctl-runner-{n}", range_start=first, range_end=last)
                    for n, (first, last) in enumerate(args.runner_egress, start=1)
                ],
            ),
            opts=child,
        )
        self.server_name: pulumi.Output[str] = self.server.name
        self.backup_container_url: pulumi.Output[str] = pulumi.Output.concat(
            "https://", self.backups.name, ".blob.core.windows.net/", BACKUP_CONTAINER
        )
        self.register_outputs({"server_name": self.server_name, "backup_container_url": self.backup_container_url})


def deploy(context: Platform, settings: AnalysisServicesSettings) -> dict[str, Any]:
    server = AnalysisServices(
        "analysis-services",
        AnalysisServicesArgs.from_context(
            context, settings=settings, runner_admin=analysis_services_admin(context.config, context.tenant_id),
            runner_egress=tuple(runner.network.egress_ranges()) if (runner := context.config.runner) else ()),
    )
    return {
        "analysisServicesServerName": server.server_name,
        "analysisServicesServerUri": pulumi.Output.concat(
            "asazure://", context.region, ".asazure.windows.net/", server.server_name
        ),
        "analysisServicesBackupContainerUrl": server.backup_container_url,
    }


def posture(config: StackFacts, settings: AnalysisServicesSettings | None) -> tuple[Posture, ...]:
    if settings is None:
        return (Posture(sku="none", uplift_enabled=(None,)),)
    return (Posture(sku=settings.sku, uplift_enabled=(settings.backup_redundancy in GEO_REDUNDANT,)),)


SERVICE = ServiceSpec(
    type_token=TYPE_TOKEN,
    key="analysisServices",
    settings=AnalysisServicesSettings,
    profile=PROFILE,
    deploy=deploy,
    posture=posture,
    example={"sku": "S0", "administrators": ["aas-admin@contoso.com"], "backupRedundancy": "Standard_RAGRS"},
    physical_names={"azure-native:analysisservices:ServerDetails": "serverName"},
)
