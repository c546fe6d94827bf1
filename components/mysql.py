"""Azure Database for MySQL flexible server: created on the primary, geo-restored on the secondary.

Mirrors PostgreSQL (components/postgres.py): geo-redundant backup is a create-time choice on
the primary, and the secondary's server is created from it with `create_mode="GeoRestore"`, which
restores into the paired region only
(https://learn.microsoft.com/azure/mysql/flexible-server/concepts-business-continuity).

Entra authentication on MySQL needs a user-assigned identity on the server that can read Microsoft
Graph (User.Read.All, GroupMember.Read.All, Application.Read.All, or Directory Readers): granting
that is a tenant-admin step outside this program. `aad_auth_only=ON` then switches passwords off.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from typing import Any, Literal

import pulumi
from pulumi_azure_native import dbformysql, managedidentity
from pydantic import Field, field_validator

from components import naming
from components.child_names import MySqlDatabaseName
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
from smoke_tests.mysql import CHECKS

TYPE_TOKEN = "dataplatform:data:MySqlServer"

SERVER_NAME = naming.NameRule(
    3, 63, r"[a-z0-9](?:[a-z0-9-]*[a-z0-9])?", "lowercase letters, digits and '-', not at either end"
)
IDENTITY_NAME = naming.NameRule(3, 128, r"[A-Za-z0-9][A-Za-z0-9_-]*", "letters, digits, '-' and '_'")
# Read by Azure only at creation. The password too: it is a throwaway the create call insists on
# (see `_bootstrap_login`), regenerated on every run, so a diff on it must never reach Azure.
CREATE_TIME_FIELDS = ("createMode", "sourceServerResourceId")
PASSWORD_FIELD = "administratorLoginPassword"
# Server parameters: Entra only, TLS 1.2 or newer, no plaintext connections.
SERVER_PARAMETERS = {
    "aad_auth_only": "ON",
    "tls_version": "TLSv1.2,TLSv1.3",
    "require_secure_transport": "ON",
}

PROFILE = DRProfile(
    key="mysql",
    title="Azure Database for MySQL flexible server",
    stateful=True,
    recovery_action=RecoveryAction.GEO_RESTORE,
    checks=CHECKS,
    data_recovery=DataRecovery(
        source="the primary server's geo-redundant backup (geo-restore), or a cross-region read replica",
        replay="ingestion re-run from the restored tables' max-timestamp watermark",
        source_uplifts=((0, 0), (0, 1)),
    ),
    depends_on=(
        Dependency("foundation", "the server lives in the data resource group"),
        Dependency("connectivity", "public access is off: clients come through the hub VNet"),
    ),
    priority=2,
    # The geo-restore is the deploy step; Microsoft's business-continuity page puts geo-restore
    # RTO at up to an hour for typical sizes, RPO under an hour.
    estimates=Estimates(deploy=3600, validate=300, replay=300, smoke=60),
    seed=(
        SeedFacts(
            # "Other key services" in the seeds: facts from the flexible-server BCDR documentation.
            service="Azure Database for MySQL Flexible Server",
            component_responsibility=Responsibility.MICROSOFT,
            workload_responsibility=Responsibility.CUSTOMER,
            sku_selected="General Purpose (no Contoso selection in the seeds)",
            uplift_options=(
                "Geo-redundant backup storage, for a geo-restore into the paired region",
                "Cross-region read replica, promoted on failover",
            ),
        ),
    ),
    notes=(
        "Geo-redundant backup is a create-time setting: a primary created without it cannot be geo-restored.",
        "Geo-restore targets the paired region only, from the last geo-replicated backup.",
        "The server's identity needs Graph read permissions (tenant admin) before Entra logins work.",
    ),
)


class MySqlRestore(ServiceSettings):
    mode: Literal["GeoRestore"] = "GeoRestore"
    # Defaults to the paired stack's server, derived from its names.
    source_server_id: str | None = Field(
        None, alias="sourceServerId", pattern=r"^/subscriptions/.+/flexibleServers/[^/]+$"
    )


class MySqlSettings(ServiceSettings):
    # The Entra administrator (a group, usually): required, since no password login is left.
    admin_login: str = Field(alias="adminLogin", min_length=1)
    admin_object_id: str = Field(alias="adminObjectId", pattern=r"^[0-9a-fA-F-]{36}$")
    sku_name: str = Field("Standard_D2ads_v5", alias="skuName", pattern=r"^Standard_[A-Za-z0-9_]+$")
    tier: Literal["Burstable", "GeneralPurpose", "MemoryOptimized"] = "GeneralPurpose"
    # 5.7 is past community end of life; 8.0 is also what supports TLS 1.3.
    version: Literal["8.0.21"] = "8.0.21"
    storage_gb: int = Field(64, alias="storageGb", ge=20, le=16384)
    backup_retention_days: int = Field(7, alias="backupRetentionDays", ge=1, le=35)
    geo_redundant_backup: bool = Field(False, alias="geoRedundantBackup")
    databases: tuple[MySqlDatabaseName, ...] = ("platform",)
    restore: MySqlRestore | None = None

    @field_validator("databases")
    @classmethod
    def _database_names(cls, names: tuple[str, ...]) -> tuple[str, ...]:
        if not names:
            raise ValueError("at least one database is needed")
        return names


def server_name(prefix: str, suffix: str) -> str:
    return naming.check_name("mysql server", f"{prefix}-mysql-{suffix}", SERVER_NAME)


def server_path(prefix: str, suffix: str) -> str:
    return f"Microsoft.DBforMySQL/flexibleServers/{server_name(prefix, suffix)}"


@dataclass(frozen=True)
class MySqlArgs(PairedPlacement):
    tenant_id: pulumi.Input[str]
    settings: MySqlSettings


class MySqlServer(pulumi.ComponentResource):
    def __init__(self, name: str, args: MySqlArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__(TYPE_TOKEN, name, None, opts)
        restore = args.settings.restore
        self.identity = managedidentity.UserAssignedIdentity(
            f"{name}-identity",
            resource_name_=naming.check_name("managed identity", f"id-{args.prefix}-mysql-{args.name_suffix}", IDENTITY_NAME),
            resource_group_name=args.resource_group_name,
            location=args.location,
            opts=pulumi.ResourceOptions(parent=self),
        )
        self.server = self._server(name, args)
        self._entra_only(name, args)
        # A geo-restored server already holds its databases.
        if restore is None:
            self._databases(name, args)

        self.server_name: pulumi.Output[str] = self.server.name
        self.fqdn: pulumi.Output[str] = self.server.name.apply(lambda n: f"{n}.mysql.database.azure.com")
        self.create_mode = restore.mode if restore is not None else "Default"
        self.register_outputs({"server_name": self.server_name, "fqdn": self.fqdn, "create_mode": self.create_mode})

    def _server(self, name: str, args: MySqlArgs) -> dbformysql.Server:
        settings, restore = args.settings, args.settings.restore
        ignored = [PASSWORD_FIELD]
        if restore is not None:
            mode_inputs = {"create_mode": restore.mode, "source_server_resource_id": self._source(args)}
            ignored += CREATE_TIME_FIELDS
        else:
            mode_inputs = self._bootstrap_login()
        return dbformysql.Server(
            f"{name}-server",
            server_name=server_name(args.prefix, args.name_suffix),
            resource_group_name=args.resource_group_name,
            # Explicit: a geo-restore target must be named, and it must be this stack's region.
            location=args.location,
            sku=dbformysql.MySQLServerSkuArgs(name=settings.sku_name, tier=settings.tier),
            version=settings.version,
            storage=dbformysql.StorageArgs(storage_size_gb=settings.storage_gb, auto_grow="Enabled"),
            backup=dbformysql.BackupArgs(
                backup_retention_days=settings.backup_retention_days,
                # Create-time only: without it the server can never be geo-restored elsewhere.
                geo_redundant_backup="Enabled" if settings.geo_redundant_backup else "Disabled",
            ),
            network=dbformysql.NetworkArgs(public_network_access="Disabled"),
            identity=dbformysql.MySQLServerIdentityArgs(type="UserAssigned", user_assigned_identities=[self.identity.id]),
            **mode_inputs,
            opts=pulumi.ResourceOptions(parent=self, ignore_changes=ignored),
        )

    def _entra_only(self, name: str, args: MySqlArgs) -> None:
        admin = dbformysql.AzureADAdministrator(
            f"{name}-entra-admin",
            administrator_name="ActiveDirectory",
            administrator_type="ActiveDirectory",
            identity_resource_id=self.identity.id,
            login=args.settings.admin_login,
            sid=args.settings.admin_object_id,
            tenant_id=args.tenant_id,
            server_name=self.server.name,
            resource_group_name=args.resource_group_name,
            opts=pulumi.ResourceOptions(parent=self),
        )
        # One at a time: the server takes one configuration change at a time, and Entra-only mode
        # is refused until an Entra administrator exists. tls_version is static: it applies at the
        # next restart.
        previous: pulumi.Resource = admin
        for parameter, value in SERVER_PARAMETERS.items():
            previous = dbformysql.Configuration(
                f"{name}-param-{parameter}",
                configuration_name=parameter,
                value=value,
                source="user-override",
                server_name=self.server.name,
                resource_group_name=args.resource_group_name,
                opts=pulumi.ResourceOptions(parent=self, depends_on=[previous]),
            )

    def _databases(self, name: str, args: MySqlArgs) -> None:
        for database in args.settings.databases:
            dbformysql.Database(
                f"{name}-db-{database}",
                database_name=database,
                server_name=self.server.name,
                resource_group_name=args.resource_group_name,
                charset="utf8mb4",
                collation="utf8mb4_0900_ai_ci",
                opts=pulumi.ResourceOptions(parent=self),
            )

    @staticmethod
    def _bootstrap_login() -> dict[str, Any]:
        # The create API requires an administrator login and password even when Entra is the only way
        # in. The password is random, kept only as a Pulumi secret, and dead once aad_auth_only is ON.
        password = secrets.token_urlsafe(24) + "Aa1-"
        return {"administrator_login": "bootstrapadmin", "administrator_login_password": pulumi.Output.secret(password)}

    @staticmethod
    def _source(args: MySqlArgs) -> pulumi.Input[str]:
        assert args.settings.restore is not None
        return args.settings.restore.source_server_id or args.paired_id(
            server_path, unknown="mysql.restore has no sourceServerId and the paired stack's prefix/nameSuffix are unknown"
        )


def deploy(context: Platform, settings: MySqlSettings) -> dict[str, Any]:
    server = MySqlServer("mysql", MySqlArgs.from_context(context, tenant_id=context.tenant_id, settings=settings))
    # Public access is off and the server is not VNet-integrated: Private Link is its way in.
    context.open_privately(server, "mysql", context.data_group, server.server.id, ("mysqlServer", "mysql"))
    return {
        "mysqlServerName": server.server_name,
        "mysqlFqdn": server.fqdn,
        "mysqlDatabases": list(settings.databases),
        "mysqlCreateMode": server.create_mode,
    }


def posture(config: StackFacts, settings: MySqlSettings | None) -> tuple[Posture, ...]:
    if settings is None:
        return (Posture(sku="none", uplift_enabled=(None, None)),)
    # No read replica is declared by this module.
    return (Posture(sku=f"{settings.tier} {settings.sku_name}", uplift_enabled=(settings.geo_redundant_backup, False)),)


SERVICE = ServiceSpec(
    type_token=TYPE_TOKEN,
    key="mysql",
    settings=MySqlSettings,
    profile=PROFILE,
    deploy=deploy,
    posture=posture,
    example={
        "adminLogin": "mysql-admins",
        "adminObjectId": "00000000-0000-0000-0000-0000000000bb",
        "skuName": "Standard_D2ads_v5",
        "tier": "GeneralPurpose",
        "storageGb": 64,
        "backupRetentionDays": 7,
        "geoRedundantBackup": True,
        "databases": ["platform"],
    },
    physical_names={
        "azure-native:dbformysql:Server": "serverName",
        "azure-native:dbformysql:Database": "databaseName",
        "azure-native:dbformysql:Configuration": "configurationName",
        "azure-native:dbformysql:AzureADAdministrator": "administratorName",
        "azure-native:managedidentity:UserAssignedIdentity": "resourceName",
    },
    globally_unique=frozenset({"azure-native:dbformysql:Server"}),
    subresources=frozenset(
        {
            "azure-native:dbformysql:Database",
            "azure-native:dbformysql:Configuration",
            "azure-native:dbformysql:AzureADAdministrator",
        }
    ),
)
