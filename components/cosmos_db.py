"""Azure Cosmos DB (NoSQL API): one account with a SQL database and container.

The seeds' uplift is a single write region plus the paired region as a read region with
service-managed (automatic) failover: Cosmos then moves the write region itself when the primary
region fails, and the account keeps its name and endpoint
(https://learn.microsoft.com/azure/cosmos-db/high-availability). That is the recovery path.

The fallback for a single-region account, or for corruption, is a point-in-time restore into a new
account on the secondary (`restore:`): only Continuous backup allows a self-service restore, from
the source account's restorable instance in the paired region. Periodic backups restore only
through a support request.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

import pulumi
from pulumi_azure_native import cosmosdb
from pydantic import Field, ValidationInfo, field_validator

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
from components.runner_entries import cosmos_data_contributor
from components.spec import Platform, Posture, ServiceSettings, ServiceSpec, StackFacts
from smoke_tests.cosmos_db import CHECKS

TYPE_TOKEN = "dataplatform:data:CosmosDb"

# The account name is the DNS label of <name>.documents.azure.com.
ACCOUNT_NAME = naming.NameRule(
    3, 44, r"[a-z0-9](?:[a-z0-9-]*[a-z0-9])?", "lowercase letters, digits and '-', not at either end"
)
# Read by Azure only when the account is created; ignoring them stops a later `pulumi up` from
# replacing the restored account (or diffing a restore source that no longer exists).
CREATE_TIME_FIELDS = ("createMode", "restoreParameters")
_UTC = r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?Z$"
_NAME = r"^[A-Za-z0-9][A-Za-z0-9_-]{0,254}$"

PROFILE = DRProfile(
    key="cosmos_db",
    title="Azure Cosmos DB account",
    stateful=True,
    recovery_action=RecoveryAction.SERVICE_FAILOVER,
    checks=CHECKS,
    data_recovery=DataRecovery(
        source="the account's second (read) region, promoted by service-managed failover",
        replay="writes the asynchronous replication had not carried, re-sent from the max _ts watermark",
        source_uplifts=((0, 0),),
    ),
    depends_on=(
        Dependency("foundation", "the account lives in the data resource group"),
        Dependency("connectivity", "public access is off: clients come through the hub VNet"),
    ),
    priority=2,
    # Service-managed failover of the write region: Cosmos's availability guidance plans for
    # about 15 minutes. A point-in-time restore instead takes roughly an hour for small accounts.
    estimates=Estimates(deploy=900, validate=300, replay=300, smoke=60),
    seed=(
        SeedFacts(
            service="Azure Cosmos DB",
            component_responsibility=Responsibility.MICROSOFT,
            workload_responsibility=Responsibility.MICROSOFT,
            sku_selected="Single Region Write with Periodic backup",
            uplift_options=(
                "Single write region plus a second (read) region with service-managed failover",
                "Automatic failover enabled (recommended for production accounts)",
            ),
        ),
    ),
    notes=(
        "Without automatic failover a single write region loses write availability for the whole "
        "outage: a manual failover needs the failed region to answer.",
        "Clients fail over by themselves (the SDK follows the account's region list).",
        "Periodic to Continuous backup is a one-way migration; only Continuous allows self-service restore.",
    ),
)


class CosmosBackup(ServiceSettings):
    mode: Literal["Periodic", "Continuous"] = "Periodic"
    # Periodic only (the service's ranges).
    interval_minutes: int = Field(240, alias="intervalMinutes", ge=60, le=1440)
    retention_hours: int = Field(8, alias="retentionHours", ge=8, le=720)
    storage_redundancy: Literal["Geo", "Zone", "Local"] = Field("Geo", alias="storageRedundancy")
    # Continuous only.
    continuous_tier: Literal["Continuous7Days", "Continuous30Days"] = Field("Continuous7Days", alias="continuousTier")


class CosmosRestore(ServiceSettings):
    # The source account's instance id (`restorable_database_accounts.list_by_location`): it cannot
    # be derived from names, so it is required.
    source_instance_id: str = Field(alias="sourceInstanceId", pattern=r"^[0-9a-fA-F-]{36}$")
    # Must lie inside the source's restorable window; drctl sets the latest restorable time.
    restore_timestamp_utc: str = Field(alias="restoreTimestampUtc", pattern=_UTC)


class CosmosDbSettings(ServiceSettings):
    # BoundedStaleness is left out: it needs staleness bounds this module does not model.
    consistency: Literal["Eventual", "ConsistentPrefix", "Session", "Strong"] = "Session"
    # The seeds' Contoso selection is one region; the paired read region is the uplift.
    secondary_read_region: bool = Field(False, alias="secondaryReadRegion")
    automatic_failover: bool = Field(False, alias="automaticFailover")
    zone_redundant: bool = Field(False, alias="zoneRedundant")
    backup: CosmosBackup = CosmosBackup()
    database: str = Field("platform", pattern=_NAME)
    container: str = Field("events", pattern=_NAME)
    partition_key_path: str = Field("/id", alias="partitionKeyPath", pattern=r"^/[A-Za-z0-9_]+(/[A-Za-z0-9_]+)*$")
    autoscale_max_throughput: int = Field(1000, alias="autoscaleMaxThroughput", ge=1000, le=1_000_000, multiple_of=1000)
    restore: CosmosRestore | None = None

    @field_validator("restore")
    @classmethod
    def _restore_needs_continuous(cls, value: CosmosRestore | None, info: ValidationInfo) -> CosmosRestore | None:
        backup = info.data.get("backup")
        if value is not None and backup is not None and backup.mode != "Continuous":
            raise ValueError("a point-in-time restore needs backup.mode Continuous (Periodic restores need a support case)")
        return value


@dataclass(frozen=True)
class CosmosDbArgs(PairedPlacement):
    settings: CosmosDbSettings


def _backup_policy(backup: CosmosBackup) -> Any:
    if backup.mode == "Continuous":
        return cosmosdb.ContinuousModeBackupPolicyArgs(
            type="Continuous", continuous_mode_properties=cosmosdb.ContinuousModePropertiesArgs(tier=backup.continuous_tier)
        )
    return cosmosdb.PeriodicModeBackupPolicyArgs(
        type="Periodic",
        periodic_mode_properties=cosmosdb.PeriodicModePropertiesArgs(
            backup_interval_in_minutes=backup.interval_minutes,
            backup_retention_interval_in_hours=backup.retention_hours,
            # Geo: the backup copies survive the loss of the region (restored by Microsoft on request).
            backup_storage_redundancy=backup.storage_redundancy,
        ),
    )


def has_read_region(settings: CosmosDbSettings) -> bool:
    # A restore lands while the paired region is down: adding it as a read region would fail.
    return settings.secondary_read_region and settings.restore is None


def _restore_inputs(args: CosmosDbArgs) -> dict[str, Any]:
    """A point-in-time restore from the source account's restorable instance in the paired region."""
    restore = args.settings.restore
    if restore is None:
        return {}
    region, instance = args.paired_region, restore.source_instance_id
    source = pulumi.Output.from_input(args.subscription_id).apply(
        lambda subscription: f"/subscriptions/{subscription}/providers/Microsoft.DocumentDB/locations/{region}"
        f"/restorableDatabaseAccounts/{instance}"
    )
    return {
        "create_mode": "Restore",
        "restore_parameters": cosmosdb.RestoreParametersArgs(
            restore_mode="PointInTime",
            restore_source=source,
            restore_timestamp_in_utc=restore.restore_timestamp_utc,
            source_backup_location=region,
        ),
    }


class CosmosDb(pulumi.ComponentResource):
    def __init__(self, name: str, args: CosmosDbArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__(TYPE_TOKEN, name, None, opts)
        restore = args.settings.restore
        self.read_region = has_read_region(args.settings)
        self.account = self._account(name, args)
        # A restored account already holds its databases and containers; declaring them would ask
        # Azure to create what exists.
        if restore is None:
            self._database_and_container(name, args)

        self.account_name: pulumi.Output[str] = self.account.name
        self.endpoint: pulumi.Output[str] = self.account.name.apply(lambda n: f"https://{n}.documents.azure.com:443/")
        self.create_mode = "Restore" if restore is not None else "Default"
        self.register_outputs(
            {"account_name": self.account_name, "endpoint": self.endpoint, "create_mode": self.create_mode}
        )

    def _account(self, name: str, args: CosmosDbArgs) -> cosmosdb.DatabaseAccount:
        settings = args.settings
        locations = [
            cosmosdb.LocationArgs(location_name=args.location, failover_priority=0, is_zone_redundant=settings.zone_redundant)
        ]
        if self.read_region:
            locations.append(cosmosdb.LocationArgs(location_name=args.paired_region, failover_priority=1))
        return cosmosdb.DatabaseAccount(
            f"{name}-account",
            account_name=naming.check_name("cosmos db account", f"{args.prefix}-cosmos-{args.name_suffix}", ACCOUNT_NAME),
            resource_group_name=args.resource_group_name,
            location=args.location,
            database_account_offer_type="Standard",
            kind="GlobalDocumentDB",
            locations=locations,
            enable_automatic_failover=settings.automatic_failover,
            consistency_policy=cosmosdb.ConsistencyPolicyArgs(default_consistency_level=settings.consistency),
            backup_policy=_backup_policy(settings.backup),
            # Entra ID only: account keys cannot read data or change metadata.
            disable_local_auth=True,
            disable_key_based_metadata_write_access=True,
            public_network_access="Disabled",
            minimal_tls_version="Tls12",
            identity=cosmosdb.ManagedServiceIdentityArgs(type="SystemAssigned"),
            **_restore_inputs(args),
            opts=pulumi.ResourceOptions(
                parent=self, ignore_changes=list(CREATE_TIME_FIELDS) if settings.restore is not None else None
            ),
        )

    def _database_and_container(self, name: str, args: CosmosDbArgs) -> None:
        settings = args.settings
        database = cosmosdb.SqlResourceSqlDatabase(
            f"{name}-db-{settings.database}",
            database_name=settings.database,
            account_name=self.account.name,
            resource_group_name=args.resource_group_name,
            resource=cosmosdb.SqlDatabaseResourceArgs(id=settings.database),
            options=cosmosdb.CreateUpdateOptionsArgs(
                autoscale_settings=cosmosdb.AutoscaleSettingsArgs(max_throughput=settings.autoscale_max_throughput)
            ),
            opts=pulumi.ResourceOptions(parent=self),
        )
        cosmosdb.SqlResourceSqlContainer(
            f"{name}-container-{settings.container}",
            container_name=settings.container,
            database_name=database.name,
            account_name=self.account.name,
            resource_group_name=args.resource_group_name,
            resource=cosmosdb.SqlContainerResourceArgs(
                id=settings.container,
                partition_key=cosmosdb.ContainerPartitionKeyArgs(paths=[settings.partition_key_path], kind="Hash", version=2),
            ),
            opts=pulumi.ResourceOptions(parent=self),
        )


def deploy(context: Platform, settings: CosmosDbSettings) -> dict[str, Any]:
    cosmos = CosmosDb("cosmos_db", CosmosDbArgs.from_context(context, settings=settings))
    context.open_privately(cosmos, "cosmos_db", context.data_group, cosmos.account.id, ("Sql", "documents"))
    # Local auth is off: the runner's checks read and upsert as a Cosmos SQL role assignment.
    cosmos_data_contributor("cosmos_db-runner-data", context.config, account=cosmos.account,
                            resource_group_name=context.data_group, parent=cosmos)
    return {
        "cosmosAccountName": cosmos.account_name,
        "cosmosEndpoint": cosmos.endpoint,
        "cosmosDatabase": settings.database,
        "cosmosContainer": settings.container,
        "cosmosCreateMode": cosmos.create_mode,
    }


def posture(config: StackFacts, settings: CosmosDbSettings | None) -> tuple[Posture, ...]:
    if settings is None:
        return (Posture(sku="none", uplift_enabled=(None, None)),)
    sku = f"Single Region Write with {settings.backup.mode} backup"
    return (Posture(sku=sku, uplift_enabled=(has_read_region(settings), settings.automatic_failover)),)


SERVICE = ServiceSpec(
    type_token=TYPE_TOKEN,
    key="cosmosDb",
    settings=CosmosDbSettings,
    profile=PROFILE,
    deploy=deploy,
    posture=posture,
    example={
        "consistency": "Session",
        "secondaryReadRegion": True,
        "automaticFailover": True,
        "backup": {"mode": "Continuous", "continuousTier": "Continuous7Days"},
        "database": "platform",
        "container": "events",
        "partitionKeyPath": "/deviceId",
        "autoscaleMaxThroughput": 1000,
    },
    physical_names={
        "azure-native:cosmosdb:DatabaseAccount": "accountName",
        "azure-native:cosmosdb:SqlResourceSqlDatabase": "databaseName",
        "azure-native:cosmosdb:SqlResourceSqlContainer": "containerName",
        "azure-native:cosmosdb:SqlResourceSqlRoleAssignment": "roleAssignmentId",
    },
    globally_unique=frozenset({"azure-native:cosmosdb:DatabaseAccount"}),
    subresources=frozenset({"azure-native:cosmosdb:SqlResourceSqlDatabase", "azure-native:cosmosdb:SqlResourceSqlContainer",
                            "azure-native:cosmosdb:SqlResourceSqlRoleAssignment"}),
)
