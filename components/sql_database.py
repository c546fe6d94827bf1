"""Azure SQL Database: a logical server (Entra-only) and one database, per stack.

Two recovery paths, both from Microsoft's guidance
(https://learn.microsoft.com/azure/azure-sql/database/disaster-recovery-guidance):
- geo-restore (the default): the database is created on the secondary's server from the primary's
  geo-replicated backups, `create_mode="Recovery"` (SQL has no "GeoRestore" mode) with the paired
  server's recoverable database as source. Needs Geo/GeoZone backup redundancy on the primary.
- failover group (`failoverGroup.enabled`): the primary's group replicates the database to the
  secondary server continuously; on the day drctl calls `failover_groups.begin_failover` (or
  `begin_force_failover_allow_data_loss`) against the SECONDARY server, unless the policy is
  Automatic and Azure has already done it. The group's listener keeps the clients' hostname.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

import pulumi
from pulumi_azure_native import sql
from pydantic import Field, ValidationInfo, field_validator

from components import naming
from components.child_names import SQL_RESERVED
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
from components.spec import Platform, Posture, ServiceSettings, ServiceSpec, StackFacts
from components.sql_auditing import audit_sql_server
from smoke_tests.sql_database import CHECKS

TYPE_TOKEN = "dataplatform:data:SqlDatabase"

# Server and failover group names are DNS labels under database.windows.net.
SERVER_NAME = naming.NameRule(
    1, 63, r"[a-z0-9](?:[a-z0-9-]*[a-z0-9])?", "lowercase letters, digits and '-', not at either end"
)
DATABASE_NAME = naming.NameRule(1, 128, r"[A-Za-z0-9_][A-Za-z0-9_-]*", "letters, digits, '_' and '-'")
# Read by Azure only when the database is created.
CREATE_TIME_FIELDS = ("createMode", "sourceDatabaseId")
GEO_BACKUP = ("Geo", "GeoZone")
PAIRED_SERVER_UNKNOWN = "sqlDatabase: the paired stack's prefix/nameSuffix are unknown, so its server cannot be named"

PROFILE = DRProfile(
    key="sql_database",
    title="Azure SQL Database (logical server and database)",
    stateful=True,
    recovery_action=RecoveryAction.GEO_RESTORE,
    checks=CHECKS,
    data_recovery=DataRecovery(
        source="the failover group's geo-secondary, or the geo-redundant backups (geo-restore)",
        replay="ingestion re-run from the max-updated-at watermark",
        source_uplifts=((0, 0), (0, 1), (0, 2)),
    ),
    depends_on=(
        Dependency("foundation", "the server lives in the data resource group"),
        Dependency("connectivity", "public access is off: clients come through the hub VNet"),
    ),
    priority=2,
    # Geo-restore is the deploy step. Microsoft quotes up to 12 h RTO / 1 h RPO for geo-restore at
    # any size; a database of this platform's size restores in under an hour.
    estimates=Estimates(deploy=3600, validate=300, replay=300, smoke=60),
    seed=(
        SeedFacts(
            service="Azure SQL Database",
            component_responsibility=Responsibility.MICROSOFT,
            workload_responsibility=Responsibility.CUSTOMER,
            sku_selected="Business Critical or Premium tier",
            uplift_options=(
                "Failover groups for cross-region failover",
                "Active geo-replication for readable secondary databases",
                "Geo-redundant backup storage, for a geo-restore",
            ),
        ),
    ),
    notes=(
        "Backup redundancy Geo/GeoZone must be set on the primary database before the disaster.",
        "With a failover group the secondary stack must be deployed first (the group's partner server), "
        "and it declares no database: the group seeds the geo-secondary.",
        "Geo-restore brings the data to the last geo-replicated backup (last_available_backup_date); the rest is replayed.",
    ),
)


class FailoverGroupSettings(ServiceSettings):
    enabled: bool = False
    # Automatic lets Azure fail over after the grace period; Manual leaves the call to drctl.
    policy: Literal["Automatic", "Manual"] = "Manual"
    grace_minutes: int = Field(60, alias="graceMinutes", ge=60)


class SqlRestore(ServiceSettings):
    mode: Literal["Recovery"] = "Recovery"
    # Defaults to the paired server's recoverable database, derived from its names.
    source_database_id: str | None = Field(
        None, alias="sourceDatabaseId", pattern=r"^/subscriptions/.+/servers/[^/]+/recoverable[Dd]atabases/[^/]+$"
    )


class SqlDatabaseSettings(ServiceSettings):
    # Entra-only server: the administrator is an Entra user or group, required (no SQL login exists).
    admin_login: str = Field(alias="adminLogin", min_length=1)
    admin_object_id: str = Field(alias="adminObjectId", pattern=r"^[0-9a-fA-F-]{36}$")
    admin_principal_type: Literal["User", "Group", "Application"] = Field("Group", alias="adminPrincipalType")
    database: str = "platform"
    sku_name: str = Field("BC_Gen5_2", alias="skuName", pattern=r"^[A-Za-z0-9_]+$")
    tier: Literal["Basic", "Standard", "Premium", "GeneralPurpose", "BusinessCritical", "Hyperscale"] = "BusinessCritical"
    backup_storage_redundancy: Literal["Geo", "GeoZone", "Zone", "Local"] = Field("Geo", alias="backupStorageRedundancy")
    zone_redundant: bool = Field(False, alias="zoneRedundant")
    failover_group: FailoverGroupSettings = Field(FailoverGroupSettings(), alias="failoverGroup")
    restore: SqlRestore | None = None

    @field_validator("database")
    @classmethod
    def _database_name(cls, value: str) -> str:
        naming.check_name("sql database", value, DATABASE_NAME)
        if value.lower() in SQL_RESERVED:
            raise ValueError(f"sql database name {value!r} is reserved (the server's own)")
        return value

    @field_validator("restore")
    @classmethod
    def _not_with_failover_group(cls, value: SqlRestore | None, info: ValidationInfo) -> SqlRestore | None:
        group = info.data.get("failover_group")
        if value is not None and group is not None and group.enabled:
            raise ValueError("not with failoverGroup.enabled: the group's geo-secondary already holds the database")
        return value


def server_name(prefix: str, suffix: str) -> str:
    return naming.check_name("sql server", f"{prefix}-sql-{suffix}", SERVER_NAME)


def server_path(prefix: str, suffix: str) -> str:
    return f"Microsoft.Sql/servers/{server_name(prefix, suffix)}"


@dataclass(frozen=True)
class SqlDatabaseArgs(PairedPlacement):
    tenant_id: pulumi.Input[str]
    is_secondary: bool
    settings: SqlDatabaseSettings


class SqlDatabase(pulumi.ComponentResource):
    def __init__(self, name: str, args: SqlDatabaseArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__(TYPE_TOKEN, name, None, opts)
        settings, child = args.settings, pulumi.ResourceOptions(parent=self)
        group = settings.failover_group.enabled
        self.server = sql.Server(
            f"{name}-server",
            server_name=server_name(args.prefix, args.name_suffix),
            resource_group_name=args.resource_group_name,
            location=args.location,
            version="12.0",
            # Entra only: no SQL administrator login or password exists to leak or rotate.
            administrators=sql.ServerExternalAdministratorArgs(
                administrator_type="ActiveDirectory",
                azure_ad_only_authentication=True,
                login=settings.admin_login,
                sid=settings.admin_object_id,
                principal_type=settings.admin_principal_type,
                tenant_id=args.tenant_id,
            ),
            minimal_tls_version="1.2",
            public_network_access="Disabled",
            identity=sql.ResourceIdentityArgs(type="SystemAssigned"),
            opts=child,
        )
        # Every database audited, the records to the stack's workspace (components/sql_auditing.py).
        audit_sql_server(name, server_name=self.server.name, resource_group_name=args.resource_group_name, opts=child)

        self.database: sql.Database | None = None
        self.create_mode = "Default"
        # With a failover group the secondary's database is the group's geo-secondary, not ours.
        if not (group and args.is_secondary):
            self.database = self._database(name, args)

        self.failover_group: sql.FailoverGroup | None = None
        if group and not args.is_secondary:
            self.failover_group = self._failover_group(name, args)

        self.server_name: pulumi.Output[str] = self.server.name
        self.fqdn: pulumi.Output[str] = self.server.name.apply(lambda n: f"{n}.database.windows.net")
        self.register_outputs({"server_name": self.server_name, "fqdn": self.fqdn, "create_mode": self.create_mode})

    def _database(self, name: str, args: SqlDatabaseArgs) -> sql.Database:
        settings, restore = args.settings, args.settings.restore
        restore_inputs: dict[str, Any] = {}
        opts = pulumi.ResourceOptions(parent=self)
        if restore is not None:
            # The paired server's geo-replicated backup of the database.
            source = restore.source_database_id or args.paired_id(
                lambda prefix, suffix: f"{server_path(prefix, suffix)}/recoverableDatabases/{settings.database}",
                unknown=PAIRED_SERVER_UNKNOWN,
            )
            restore_inputs = {"create_mode": restore.mode, "source_database_id": source}
            opts = pulumi.ResourceOptions(parent=self, ignore_changes=list(CREATE_TIME_FIELDS))
            self.create_mode = restore.mode
        return sql.Database(
            f"{name}-db-{settings.database}",
            database_name=settings.database,
            server_name=self.server.name,
            resource_group_name=args.resource_group_name,
            location=args.location,
            sku=sql.SkuArgs(name=settings.sku_name, tier=settings.tier),
            # Geo (or GeoZone) is what makes a geo-restore in the paired region possible at all.
            requested_backup_storage_redundancy=settings.backup_storage_redundancy,
            zone_redundant=settings.zone_redundant,
            **restore_inputs,
            opts=opts,
        )

    def _failover_group(self, name: str, args: SqlDatabaseArgs) -> sql.FailoverGroup:
        partner = args.paired_id(server_path, unknown=PAIRED_SERVER_UNKNOWN)
        policy = args.settings.failover_group
        assert self.database is not None
        return sql.FailoverGroup(
            f"{name}-fog",
            failover_group_name=naming.check_name("sql failover group", f"{args.prefix}-sqlfog-{args.name_suffix}", SERVER_NAME),
            server_name=self.server.name,
            resource_group_name=args.resource_group_name,
            partner_servers=[sql.PartnerInfoArgs(id=partner)],
            read_write_endpoint=sql.FailoverGroupReadWriteEndpointArgs(
                failover_policy=policy.policy,
                # Only meaningful (and then required) for Automatic.
                failover_with_data_loss_grace_period_minutes=policy.grace_minutes if policy.policy == "Automatic" else None,
            ),
            databases=[self.database.id],
            opts=pulumi.ResourceOptions(parent=self),
        )


def deploy(context: Platform, settings: SqlDatabaseSettings) -> dict[str, Any]:
    server = SqlDatabase(
        "sql_database",
        SqlDatabaseArgs.from_context(
            context, tenant_id=context.tenant_id, is_secondary=context.config.is_secondary, settings=settings
        ),
    )
    # Public access is off: the failover group's listener resolves to whichever server is primary,
    # each reached through its own endpoint.
    context.open_privately(server, "sql_database", context.data_group, server.server.id, ("sqlServer", "sql"))
    outputs: dict[str, Any] = {
        "sqlServerName": server.server_name,
        "sqlServerFqdn": server.fqdn,
        "sqlDatabase": settings.database,
        "sqlCreateMode": server.create_mode,
    }
    if server.failover_group is not None:
        outputs["sqlFailoverGroupListener"] = server.failover_group.name.apply(lambda n: f"{n}.database.windows.net")
    return outputs


def posture(config: StackFacts, settings: SqlDatabaseSettings | None) -> tuple[Posture, ...]:
    if settings is None:
        return (Posture(sku="none", uplift_enabled=(None, None, None)),)
    group = settings.failover_group.enabled
    # A failover group is built on active geo-replication: its secondary is a readable geo-replica.
    return (
        Posture(
            sku=f"{settings.tier} {settings.sku_name}",
            uplift_enabled=(group, group, settings.backup_storage_redundancy in GEO_BACKUP),
        ),
    )


SERVICE = ServiceSpec(
    type_token=TYPE_TOKEN,
    key="sqlDatabase",
    settings=SqlDatabaseSettings,
    profile=PROFILE,
    deploy=deploy,
    posture=posture,
    example={
        "adminLogin": "sql-admins",
        "adminObjectId": "00000000-0000-0000-0000-0000000000aa",
        "adminPrincipalType": "Group",
        "database": "platform",
        "skuName": "BC_Gen5_2",
        "tier": "BusinessCritical",
        "backupStorageRedundancy": "Geo",
        "failoverGroup": {"enabled": True, "policy": "Manual"},
    },
    physical_names={
        "azure-native:sql:Server": "serverName",
        "azure-native:sql:Database": "databaseName",
        "azure-native:sql:FailoverGroup": "failoverGroupName",
    },
    globally_unique=frozenset({"azure-native:sql:Server", "azure-native:sql:FailoverGroup"}),
    subresources=frozenset({"azure-native:sql:FailoverGroup", "azure-native:sql:ServerBlobAuditingPolicy"}),
)
