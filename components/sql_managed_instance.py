"""Azure SQL Managed Instance in a delegated subnet, with an instance failover group to the paired stack.

A managed instance needs a subnet delegated to Microsoft.Sql/managedInstances, which the hub's
subnets are not, so the stack names one (`subnetId`). Creating the first instance in a subnet builds
a virtual cluster and takes hours, so the DR path is not a redeploy but a failover group
(https://learn.microsoft.com/azure/azure-sql/managed-instance/failover-group-sql-mi): the secondary
stack's instance is created as the DNS-zone partner of the primary's, and the primary stack then
declares the group. Order: primary up, secondary up, then primary up again with the group enabled.
Geo-redundant backup storage is the fallback: databases geo-restored into the secondary's instance.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

import pulumi
from pulumi_azure_native import sql
from pydantic import BaseModel, ConfigDict, Field, model_validator

from components import naming
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
from components.settings import GUID
from components.spec import Platform, Posture, ServiceSettings, ServiceSpec, StackFacts
from smoke_tests.sql_managed_instance import CHECKS

TYPE_TOKEN = "dataplatform:data:SqlManagedInstance"

# Instance and failover-group names are DNS labels: lowercase letters, digits and '-', not at either end.
SQL_DNS_NAME = naming.NameRule(
    1, 63, r"[a-z0-9](?:[a-z0-9-]*[a-z0-9])?", "lowercase letters, digits and '-', not at either end"
)
SUBNET_ID = (
    r"^/subscriptions/[^/]+/resourceGroups/[^/]+/providers/Microsoft\.Network/virtualNetworks/[^/]+/subnets/[^/]+$"
)
# Read by Azure only when the instance is created: the DNS zone is shared from then on.
CREATE_TIME_FIELDS = ("dns_zone_partner",)

PROFILE = DRProfile(
    key="sql_managed_instance",
    title="Azure SQL Managed Instance",
    stateful=True,
    recovery_action=RecoveryAction.SERVICE_FAILOVER,
    checks=CHECKS,
    data_recovery=DataRecovery(
        source="the instance failover group's geo-secondary, or the geo-redundant backups (geo-restore)",
        replay="ingestion re-run from the max-timestamp watermark",
        source_uplifts=((0, 0), (0, 1)),
    ),
    depends_on=(Dependency("foundation", "the instance lives in the data resource group"),),
    priority=2,
    # The secondary instance already exists (the group's partner): the deploy step is a no-change
    # update and the group failover, minutes. Building an instance from nothing takes hours.
    estimates=Estimates(deploy=600, validate=300, replay=600, smoke=60),
    seed=(
        SeedFacts(
            service="Azure SQL Managed Instance",
            component_responsibility=Responsibility.MICROSOFT,
            workload_responsibility=Responsibility.CUSTOMER,
            # Other key services (seeds): no Contoso row; the lowest production tier, as elsewhere.
            sku_selected="General Purpose (Gen5)",
            uplift_options=(
                "Instance failover group with a geo-secondary in the paired region",
                "Geo-redundant backup storage for geo-restore",
                "Zone redundancy",
            ),
        ),
    ),
    notes=(
        "Deploy order for the failover group: primary instance, then the secondary (created as the "
        "primary's DNS-zone partner), then the group on the primary.",
        "Without a failover group: geo-restore each database into the secondary's instance from the "
        "geo-redundant backups (not declared here: the databases are the workload's).",
        "After a failover the group's roles are swapped in Azure; the primary stack's declaration is "
        "reconciled when failing back.",
    ),
)


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)


class EntraAdmin(_Model):
    login: str = Field(min_length=1)
    sid: str = Field(pattern=GUID)  # object id of the user, group or application
    principal_type: Literal["User", "Group", "Application"] = Field("Group", alias="principalType")


class FailoverGroupSettings(_Model):
    enabled: bool = False
    failover_policy: Literal["Manual", "Automatic"] = Field("Manual", alias="failoverPolicy")
    grace_period_minutes: int | None = Field(None, alias="gracePeriodMinutes", ge=60)
    # Standby: the secondary only serves DR, so its vCores are licence-free (failover rights).
    secondary_type: Literal["Geo", "Standby"] = Field("Standby", alias="secondaryType")
    # Defaults to the paired stack's instance, derived from its prefix and suffix.
    partner_instance_id: str | None = Field(None, alias="partnerInstanceId")

    @model_validator(mode="after")
    def _grace_period_with_automatic(self) -> FailoverGroupSettings:
        if self.failover_policy == "Automatic" and self.grace_period_minutes is None:
            raise ValueError("gracePeriodMinutes is required when failoverPolicy is Automatic")
        return self


class SqlManagedInstanceSettings(ServiceSettings):
    # Required: a subnet delegated to Microsoft.Sql/managedInstances (the hub's subnets are not).
    subnet_id: str = Field(alias="subnetId", pattern=SUBNET_ID)
    # Required: Microsoft Entra-only authentication, so an administrator group must be named.
    entra_admin: EntraAdmin = Field(alias="entraAdmin")
    v_cores: Literal[4, 8, 16, 24, 32, 40, 64, 80] = Field(4, alias="vCores")
    storage_gb: int = Field(256, alias="storageGb", ge=32, le=16384, multiple_of=32)
    backup_storage_redundancy: Literal["Geo", "GeoZone", "Zone", "Local"] = Field(
        "Geo", alias="backupStorageRedundancy"
    )
    zone_redundant: bool = Field(False, alias="zoneRedundant")
    license_type: Literal["LicenseIncluded", "BasePrice"] = Field("LicenseIncluded", alias="licenseType")
    failover_group: FailoverGroupSettings = Field(FailoverGroupSettings(), alias="failoverGroup")


@dataclass(frozen=True)
class SqlManagedInstanceArgs(PairedPlacement):
    tenant_id: pulumi.Input[str]
    settings: SqlManagedInstanceSettings
    role: Literal["primary", "secondary"] = "primary"


def instance_name(prefix: str, suffix: str) -> str:
    return naming.check_name("sql managed instance", f"{prefix}-sqlmi-{suffix}", SQL_DNS_NAME)


def instance_path(prefix: str, suffix: str) -> str:
    return f"Microsoft.Sql/managedInstances/{instance_name(prefix, suffix)}"


class SqlManagedInstance(pulumi.ComponentResource):
    def __init__(self, name: str, args: SqlManagedInstanceArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__(TYPE_TOKEN, name, None, opts)
        partner = self._partner_id(args) if args.settings.failover_group.enabled else None
        self.instance = self._instance(name, args, partner)
        self.failover_group: sql.InstanceFailoverGroup | None = None
        if partner is not None and args.role == "primary":
            self.failover_group = self._failover_group(name, args, partner)

        self.instance_name: pulumi.Output[str] = self.instance.name
        self.instance_id: pulumi.Output[str] = self.instance.id
        self.register_outputs({"instance_name": self.instance_name, "instance_id": self.instance_id})

    def _instance(
        self, name: str, args: SqlManagedInstanceArgs, partner: pulumi.Input[str] | None
    ) -> sql.ManagedInstance:
        settings = args.settings
        partner_inputs: dict[str, Any] = {}
        instance_opts = pulumi.ResourceOptions(parent=self)
        if partner is not None and args.role == "secondary":
            # A failover group needs both instances in one DNS zone, fixed when the secondary is created.
            partner_inputs["dns_zone_partner"] = partner
            instance_opts = pulumi.ResourceOptions(parent=self, ignore_changes=list(CREATE_TIME_FIELDS))
        return sql.ManagedInstance(
            f"{name}-instance",
            managed_instance_name=instance_name(args.prefix, args.name_suffix),
            resource_group_name=args.resource_group_name,
            location=args.location,
            sku=sql.SkuArgs(name="GP_Gen5", tier="GeneralPurpose", family="Gen5"),
            v_cores=settings.v_cores,
            storage_size_in_gb=settings.storage_gb,
            license_type=settings.license_type,
            subnet_id=settings.subnet_id,
            zone_redundant=settings.zone_redundant,
            # Geo (or GeoZone) backups are what a geo-restore into the paired region reads.
            requested_backup_storage_redundancy=settings.backup_storage_redundancy,
            minimal_tls_version="1.2",
            # Reached only inside the VNet: the public data endpoint (port 3342) stays closed.
            public_data_endpoint_enabled=False,
            identity=sql.ResourceIdentityArgs(type=sql.IdentityType.SYSTEM_ASSIGNED),
            # Microsoft Entra only: no SQL login exists, so no password to leak or rotate.
            administrators=sql.ManagedInstanceExternalAdministratorArgs(
                administrator_type=sql.AdministratorType.ACTIVE_DIRECTORY,
                azure_ad_only_authentication=True,
                login=settings.entra_admin.login,
                sid=settings.entra_admin.sid,
                principal_type=settings.entra_admin.principal_type,
                tenant_id=args.tenant_id,
            ),
            **partner_inputs,
            opts=instance_opts,
        )

    def _failover_group(
        self, name: str, args: SqlManagedInstanceArgs, partner: pulumi.Input[str]
    ) -> sql.InstanceFailoverGroup:
        group_settings = args.settings.failover_group
        return sql.InstanceFailoverGroup(
            f"{name}-failover-group",
            failover_group_name=naming.check_name(
                "instance failover group", f"{args.prefix}-sqlmi-fog-{args.name_suffix}", SQL_DNS_NAME
            ),
            resource_group_name=args.resource_group_name,
            # The group is addressed under the primary instance's region.
            location_name=args.location,
            managed_instance_pairs=[
                sql.ManagedInstancePairInfoArgs(
                    primary_managed_instance_id=self.instance.id, partner_managed_instance_id=partner
                )
            ],
            partner_regions=[sql.PartnerRegionInfoArgs(location=args.paired_region)],
            read_write_endpoint=sql.InstanceFailoverGroupReadWriteEndpointArgs(
                failover_policy=group_settings.failover_policy,
                failover_with_data_loss_grace_period_minutes=group_settings.grace_period_minutes,
            ),
            secondary_type=group_settings.secondary_type,
            opts=pulumi.ResourceOptions(parent=self),
        )

    @staticmethod
    def _partner_id(args: SqlManagedInstanceArgs) -> pulumi.Input[str]:
        return args.settings.failover_group.partner_instance_id or args.paired_id(
            instance_path,
            unknown="sqlManagedInstance.failoverGroup has no partnerInstanceId and the paired stack's prefix/nameSuffix "
            "are unknown",
        )


def deploy(context: Platform, settings: SqlManagedInstanceSettings) -> dict[str, Any]:
    instance = SqlManagedInstance(
        "sql-managed-instance",
        SqlManagedInstanceArgs.from_context(context, tenant_id=context.tenant_id, settings=settings, role=context.config.role),
    )
    outputs: dict[str, Any] = {
        "sqlManagedInstanceName": instance.instance_name,
        "sqlManagedInstanceId": instance.instance_id,
    }
    if instance.failover_group is not None:
        outputs["sqlManagedInstanceFailoverGroupName"] = instance.failover_group.name
    return outputs


def posture(config: StackFacts, settings: SqlManagedInstanceSettings | None) -> tuple[Posture, ...]:
    if settings is None:
        return (Posture(sku="none", uplift_enabled=(None, None, None)),)
    return (
        Posture(
            sku=f"General Purpose GP_Gen5, {settings.v_cores} vCores",
            uplift_enabled=(
                settings.failover_group.enabled,
                settings.backup_storage_redundancy in ("Geo", "GeoZone"),
                settings.zone_redundant,
            ),
        ),
    )


SERVICE = ServiceSpec(
    type_token=TYPE_TOKEN,
    key="sqlManagedInstance",
    settings=SqlManagedInstanceSettings,
    profile=PROFILE,
    deploy=deploy,
    posture=posture,
    example={
        "subnetId": "/subscriptions/00000000-0000-0000-0000-000000000000/resourceGroups/rg-contoso-sqlmi-network"
        "/providers/Microsoft.Network/virtualNetworks/vnet-contoso-sqlmi/subnets/snet-sqlmi",
        "entraAdmin": {
            "login": "sqlmi-admins",
            "sid": "00000000-0000-0000-0000-00000000a11c",
            "principalType": "Group",
        },
        "vCores": 4,
        "storageGb": 256,
        "backupStorageRedundancy": "Geo",
        "failoverGroup": {"enabled": True, "failoverPolicy": "Manual", "secondaryType": "Standby"},
    },
    physical_names={
        "azure-native:sql:ManagedInstance": "managedInstanceName",
        "azure-native:sql:InstanceFailoverGroup": "failoverGroupName",
    },
    globally_unique=frozenset({"azure-native:sql:ManagedInstance", "azure-native:sql:InstanceFailoverGroup"}),
    # The group is addressed by region (locationName) under the resource group: no location input.
    subresources=frozenset({"azure-native:sql:InstanceFailoverGroup"}),
)
