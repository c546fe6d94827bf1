"""PostgreSQL flexible server: created empty on the primary, geo-restored from it on the secondary."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Literal

import pulumi
from pulumi_azure_native import authorization, dbforpostgresql
from pydantic import Field, field_validator

from components import naming
from components.child_names import PostgresDatabaseName
from components.postgres_admins import entra_admin, prepare, server_arm_id
from components.profile import (
    DataRecovery,
    Dependency,
    DRProfile,
    Estimates,
    RecoveryAction,
    Responsibility,
    SeedFacts,
)
from components.roles import EntraAdmin
from components.settings import GUID
from components.spec import Platform, Posture, ServiceSettings, ServiceSpec, StackFacts
from smoke_tests.postgres import CHECKS

TYPE_TOKEN = "dataplatform:data:PostgresServer"

PROFILE = DRProfile(
    key="postgres",
    title="Azure Database for PostgreSQL flexible server",
    stateful=True,
    recovery_action=RecoveryAction.GEO_RESTORE,
    checks=CHECKS,
    data_recovery=DataRecovery(
        source="the primary server's geo-redundant backup (create_mode GeoRestore)",
        replay=(
            "ingestion re-run from the restored tables' max-timestamp watermark (on Azure no pipeline of "
            "the repository loads PostgreSQL yet: the step reports not exercised)"
        ),
        source_uplifts=((0, 0), (0, 1)),
    ),
    depends_on=(
        Dependency("foundation", "the server lives in the data resource group"),
        Dependency("connectivity", "clients reach it through the hub's privatelink.postgres zone"),
    ),
    priority=2,
    # The geo-restore *is* the deploy step (create_mode GeoRestore): typically 20-40 minutes.
    estimates=Estimates(deploy=1800, validate=300, replay=300, smoke=60),
    seed=(
        SeedFacts(
            service="Azure Database for PostgreSQL Flexible Server",
            component_responsibility=Responsibility.MICROSOFT,
            workload_responsibility=Responsibility.CUSTOMER,
            sku_selected="General Purpose or Memory Optimized tiers",
            uplift_options=(
                "Geo-redundant backup storage, for a geo-restore into the paired region",
                "Cross-region read replicas, for DR and read scale",
            ),
        ),
    ),
    notes=(
        "Geo-redundant backup is a create-time setting: a primary created without it cannot be "
        "geo-restored.",
        "Geo-restore brings the data to the last geo-replicated backup; the rest is replayed.",
    ),
)

# Stack outputs, read by drctl and the smoke tests.
SERVER_NAME_OUTPUT = "postgresServerName"
FQDN_OUTPUT = "postgresFqdn"
DATABASES_OUTPUT = "postgresDatabases"
CREATE_MODE_OUTPUT = "postgresCreateMode"  # "Default" on the primary, "GeoRestore" when restored


class PostgresSettings(ServiceSettings):
    sku_name: str = Field("Standard_D2ds_v5", alias="skuName", pattern=r"^Standard_[A-Za-z0-9_]+$")
    tier: Literal["Burstable", "GeneralPurpose", "MemoryOptimized"] = "GeneralPurpose"
    version: Literal["13", "14", "15", "16", "17"] = "16"
    storage_gb: int = Field(128, alias="storageGb", ge=32, le=32768)
    backup_retention_days: int = Field(7, alias="backupRetentionDays", ge=7, le=35)
    geo_redundant_backup: bool = Field(False, alias="geoRedundantBackup")
    databases: tuple[PostgresDatabaseName, ...] = ("platform",)
    entra_admin: EntraAdmin | None = Field(None, alias="entraAdmin")

    @field_validator("entra_admin")
    @classmethod
    def _object_id_is_a_guid(cls, admin: EntraAdmin | None) -> EntraAdmin | None:
        if admin is not None and not re.fullmatch(GUID, admin.object_id):
            raise ValueError(f"objectId {admin.object_id!r} is not an Entra object id (a GUID)")
        return admin

    @field_validator("databases")
    @classmethod
    def _database_names(cls, names: tuple[str, ...]) -> tuple[str, ...]:
        if not names:
            raise ValueError("at least one database is needed")
        return names


class PostgresRestore(ServiceSettings):
    """How the secondary's server is created from the primary's (`dataplatform:restore.postgres`)."""

    mode: Literal["GeoRestore"] = "GeoRestore"
    # Defaults to the paired stack's server, derived from its prefix and suffix.
    source_server_id: str | None = Field(None, alias="sourceServerId", pattern=r"^/subscriptions/.+/flexibleServers/[^/]+$")
    point_in_time_utc: str | None = Field(None, alias="pointInTimeUtc")


# Read by Azure only when the server is created. Ignoring them keeps a later `pulumi up` from
# trying to replace the restored server (and from diffing a source that may no longer exist).
CREATE_TIME_FIELDS = ("create_mode", "source_server_resource_id", "point_in_time_utc")


def _utc_now() -> datetime:
    return datetime.now(UTC)


@dataclass(frozen=True)
class PostgresArgs:
    location: str
    prefix: str
    name_suffix: str
    resource_group_name: pulumi.Input[str]
    settings: PostgresSettings = field(default_factory=PostgresSettings)
    # Set on the secondary: the server is created from the paired server's geo-redundant backup.
    restore: PostgresRestore | None = None
    paired_prefix: str | None = None
    paired_name_suffix: str | None = None
    # Object ids (lower case) of the Entra administrators the paired stack declares: a geo-restored
    # server already carries them (components/postgres_admins.py).
    paired_admins: frozenset[str] = frozenset()
    clock: Callable[[], datetime] = _utc_now


class PostgresServer(pulumi.ComponentResource):
    """Flexible server with Entra-only authentication and no public network access."""

    def __init__(self, name: str, args: PostgresArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__(TYPE_TOKEN, name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        settings = args.settings
        self._args = args
        self._arm_id: str | None = None
        client = authorization.get_client_config_output(opts=pulumi.InvokeOutputOptions(parent=self))
        self.tenant_id: pulumi.Output[str] = client.tenant_id
        self.resource_group_name = args.resource_group_name
        self.server = self._server(name, args, client)

        # A geo-restored server already holds its databases; declaring them again would ask Azure to
        # create what exists (azure-native refuses to create over an existing resource).
        self.databases: dict[str, dbforpostgresql.Database] = {}
        if args.restore is None:
            for database in settings.databases:
                self.databases[database] = dbforpostgresql.Database(
                    f"{name}-db-{database}",
                    database_name=database,
                    server_name=self.server.name,
                    resource_group_name=args.resource_group_name,
                    charset="UTF8",
                    collation="en_US.utf8",
                    opts=child,
                )

        self.entra_admin: dbforpostgresql.AdministratorsMicrosoftEntra | None = None
        if settings.entra_admin is not None:
            self.entra_admin = entra_admin(self, settings.entra_admin, name=f"{name}-entra-admin",
                                           restored=self.carries_paired_admin(settings.entra_admin.object_id))

        self.server_name: pulumi.Output[str] = self.server.name
        self.server_id: pulumi.Output[str] = self.server.id
        self.fqdn: pulumi.Output[str] = self.server.fully_qualified_domain_name
        self.database_names: list[str] = list(settings.databases)
        self.create_mode: str = args.restore.mode if args.restore else "Default"
        self.register_outputs(
            {
                "server_name": self.server_name,
                "server_id": self.server_id,
                "fqdn": self.fqdn,
                "database_names": self.database_names,
                "create_mode": self.create_mode,
            }
        )

    def _server(self, name: str, args: PostgresArgs, client: pulumi.Output) -> dbforpostgresql.Server:
        settings = args.settings
        restore_inputs: dict[str, object] = {}
        server_opts = pulumi.ResourceOptions(parent=self)
        if args.restore is not None:
            restore_inputs = {
                "create_mode": args.restore.mode,
                "source_server_resource_id": self._source_server_id(args, client),
            }
            # The API wants pointInTimeUTC for a GeoRestore; "now" selects the latest geo-replicated
            # backup, which is what a failover wants. Ignored after creation (see CREATE_TIME_FIELDS).
            restore_inputs["point_in_time_utc"] = (
                args.restore.point_in_time_utc or args.clock().isoformat(timespec="seconds")
            )
            server_opts = pulumi.ResourceOptions(parent=self, ignore_changes=list(CREATE_TIME_FIELDS))
        return dbforpostgresql.Server(
            f"{name}-server",
            server_name=naming.postgres_server_name(args.prefix, args.name_suffix),
            resource_group_name=args.resource_group_name,
            # Explicit: a geo-restore target must be named, and must be the stack's own region.
            location=args.location,
            sku=dbforpostgresql.SkuArgs(name=settings.sku_name, tier=settings.tier),
            version=settings.version,
            storage=dbforpostgresql.StorageArgs(storage_size_gb=settings.storage_gb),
            backup=dbforpostgresql.BackupArgs(
                backup_retention_days=settings.backup_retention_days,
                # Create-time only: without it the primary can never be geo-restored elsewhere.
                geo_redundant_backup="Enabled" if settings.geo_redundant_backup else "Disabled",
            ),
            # Microsoft Entra only: no administrator login, so no password exists to leak or rotate.
            auth_config=dbforpostgresql.AuthConfigArgs(
                active_directory_auth="Enabled",
                password_auth="Disabled",
                tenant_id=client.tenant_id,
            ),
            network=dbforpostgresql.NetworkArgs(public_network_access="Disabled"),
            **restore_inputs,
            opts=server_opts,
        )

    @staticmethod
    def _source_server_id(args: PostgresArgs, client: pulumi.Output) -> pulumi.Input[str]:
        assert args.restore is not None
        if args.restore.source_server_id:
            return args.restore.source_server_id
        if not args.paired_prefix or not args.paired_name_suffix:
            raise ValueError(
                "restore.postgres has no sourceServerId and the paired stack's prefix/nameSuffix are unknown"
            )
        paired_prefix, paired_suffix = args.paired_prefix, args.paired_name_suffix
        return client.subscription_id.apply(
            lambda subscription: naming.paired_postgres_server_id(subscription, paired_prefix, paired_suffix)
        )

    @property
    def restored(self) -> bool:
        """Whether the server is a geo-restore of the paired stack's (it then carries that one's admins)."""
        return self._args.restore is not None

    def carries_paired_admin(self, object_id: str) -> bool:
        """Whether the geo-restore brought administrator `object_id` along: the paired stack declares it."""
        return self.restored and object_id.lower() in self._args.paired_admins

    def arm_id(self) -> str:
        """The server's ARM id as a plain string (an import id cannot be an Output), asked once."""
        if self._arm_id is None:
            args = self._args
            # In the program the group is the foundation's data group (an Output); its name is naming's.
            group = args.resource_group_name if isinstance(args.resource_group_name, str) else (
                naming.resource_group_name(args.prefix, "data", args.name_suffix))
            self._arm_id = server_arm_id(self, group, naming.postgres_server_name(args.prefix, args.name_suffix))
        return self._arm_id


def deploy(platform: Platform, settings: PostgresSettings) -> dict[str, object]:
    """A new server on the primary; on a stack with `restore.postgres`, a geo-restore of the paired one."""
    config = platform.config
    postgres = PostgresServer(
        "postgres",
        PostgresArgs(
            location=platform.region,
            prefix=platform.prefix,
            name_suffix=platform.suffix,
            resource_group_name=platform.data_group,
            settings=settings,
            restore=config.restore.postgres,
            paired_prefix=config.paired_prefix,
            paired_name_suffix=config.paired_name_suffix,
            paired_admins=platform.prepared.get("postgres") or frozenset(),
        ),
    )
    outputs = {
        SERVER_NAME_OUTPUT: postgres.server_name,
        FQDN_OUTPUT: postgres.fqdn,
        DATABASES_OUTPUT: postgres.database_names,
        CREATE_MODE_OUTPUT: postgres.create_mode,
    }
    platform.open_privately(postgres, "postgres", platform.data_group, postgres.server.id,
                            ("postgresqlServer", "postgres"))
    if config.runner is not None:
        # drctl signs in as itself (components/runner.py); both stacks declare it, so a restored
        # server already carries it.
        entra_admin(postgres, config.runner.as_admin, restored=postgres.restored, name="postgres-runner-admin")
    return outputs


def posture(config: StackFacts, settings: PostgresSettings) -> tuple[Posture, ...]:
    sku = f"{settings.tier} {settings.sku_name}"
    return (Posture(sku=sku, uplift_enabled=(settings.geo_redundant_backup, False)),)


SERVICE = ServiceSpec(
    key="postgres",
    type_token=TYPE_TOKEN,
    profile=PROFILE,
    settings=PostgresSettings,
    deploy=deploy,
    prepare=prepare,
    posture=posture,
    switch="on",
    physical_names={
        "azure-native:dbforpostgresql:Server": "serverName",
        "azure-native:dbforpostgresql:Database": "databaseName",
        "azure-native:dbforpostgresql:AdministratorsMicrosoftEntra": "objectId",
    },
    globally_unique=frozenset({"azure-native:dbforpostgresql:Server"}),
    subresources=frozenset(
        {"azure-native:dbforpostgresql:Database", "azure-native:dbforpostgresql:AdministratorsMicrosoftEntra"}
    ),
)
