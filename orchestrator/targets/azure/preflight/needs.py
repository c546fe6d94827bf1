"""What a stack asks of its target region, read offline from its config and its program's graph.

The graph (orchestrator.preview.capture_graph) gives every resource's type and location; the
config gives the sizes and SKUs. Preflight then asks Azure whether the region has all of it:
providers registered, types offered, SKUs unrestricted, quota left.
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from components.registry import globally_unique_types
from stacks.config import StackConfig

if TYPE_CHECKING:
    from orchestrator.program.graph import Graph

# Pulumi azure-native type token -> ARM resource type (namespace/type[/child]), as the provider's
# `resourceTypes[].resourceType` names it under `providers.get(namespace)`.
ARM_TYPES: dict[str, str] = {
    "azure-native:analysisservices:ServerDetails": "Microsoft.AnalysisServices/servers",
    "azure-native:applicationinsights:Component": "Microsoft.Insights/components",
    "azure-native:authorization:RoleAssignment": "Microsoft.Authorization/roleAssignments",
    "azure-native:cognitiveservices:Account": "Microsoft.CognitiveServices/accounts",
    "azure-native:cognitiveservices:Deployment": "Microsoft.CognitiveServices/accounts/deployments",
    "azure-native:containerregistry:Registry": "Microsoft.ContainerRegistry/registries",
    "azure-native:cosmosdb:DatabaseAccount": "Microsoft.DocumentDB/databaseAccounts",
    "azure-native:cosmosdb:SqlResourceSqlDatabase": "Microsoft.DocumentDB/databaseAccounts/sqlDatabases",
    "azure-native:cosmosdb:SqlResourceSqlContainer": "Microsoft.DocumentDB/databaseAccounts/sqlDatabases/containers",
    "azure-native:databricks:Workspace": "Microsoft.Databricks/workspaces",
    "azure-native:datafactory:Factory": "Microsoft.DataFactory/factories",
    "azure-native:datafactory:Dataset": "Microsoft.DataFactory/factories/datasets",
    "azure-native:datafactory:LinkedService": "Microsoft.DataFactory/factories/linkedservices",
    "azure-native:datafactory:Pipeline": "Microsoft.DataFactory/factories/pipelines",
    "azure-native:datashare:Account": "Microsoft.DataShare/accounts",
    "azure-native:dbformysql:Server": "Microsoft.DBforMySQL/flexibleServers",
    "azure-native:dbformysql:Database": "Microsoft.DBforMySQL/flexibleServers/databases",
    "azure-native:dbformysql:Configuration": "Microsoft.DBforMySQL/flexibleServers/configurations",
    "azure-native:dbformysql:AzureADAdministrator": "Microsoft.DBforMySQL/flexibleServers/administrators",
    "azure-native:dbforpostgresql:Server": "Microsoft.DBforPostgreSQL/flexibleServers",
    "azure-native:dbforpostgresql:Database": "Microsoft.DBforPostgreSQL/flexibleServers/databases",
    "azure-native:dbforpostgresql:AdministratorsMicrosoftEntra": "Microsoft.DBforPostgreSQL/flexibleServers/administrators",
    "azure-native:dns:Zone": "Microsoft.Network/dnszones",
    "azure-native:dns:RecordSet": "Microsoft.Network/dnszones/all",
    "azure-native:eventhub:Namespace": "Microsoft.EventHub/namespaces",
    "azure-native:eventhub:EventHub": "Microsoft.EventHub/namespaces/eventhubs",
    "azure-native:eventhub:DisasterRecoveryConfig": "Microsoft.EventHub/namespaces/disasterRecoveryConfigs",
    "azure-native:fabric:FabricCapacity": "Microsoft.Fabric/capacities",
    "azure-native:iothub:IotHubResource": "Microsoft.Devices/IotHubs",
    "azure-native:keyvault:Vault": "Microsoft.KeyVault/vaults",
    "azure-native:kusto:Cluster": "Microsoft.Kusto/clusters",
    "azure-native:kusto:ReadWriteDatabase": "Microsoft.Kusto/clusters/databases",
    "azure-native:machinelearningservices:Workspace": "Microsoft.MachineLearningServices/workspaces",
    "azure-native:managedidentity:UserAssignedIdentity": "Microsoft.ManagedIdentity/userAssignedIdentities",
    # An extension resource of its target (components/diagnostics.py): Microsoft.Insights must be registered.
    "azure-native:monitor:DiagnosticSetting": "Microsoft.Insights/diagnosticSettings",
    "azure-native:network:AzureFirewall": "Microsoft.Network/azureFirewalls",
    "azure-native:network:DdosProtectionPlan": "Microsoft.Network/ddosProtectionPlans",
    "azure-native:network:ExpressRouteCircuit": "Microsoft.Network/expressRouteCircuits",
    "azure-native:network:FirewallPolicy": "Microsoft.Network/firewallPolicies",
    "azure-native:network:LoadBalancer": "Microsoft.Network/loadBalancers",
    "azure-native:network:LocalNetworkGateway": "Microsoft.Network/localNetworkGateways",
    "azure-native:network:NetworkSecurityGroup": "Microsoft.Network/networkSecurityGroups",
    "azure-native:network:NetworkWatcher": "Microsoft.Network/networkWatchers",
    "azure-native:network:PublicIPAddress": "Microsoft.Network/publicIPAddresses",
    "azure-native:network:RouteTable": "Microsoft.Network/routeTables",
    "azure-native:network:VirtualNetwork": "Microsoft.Network/virtualNetworks",
    "azure-native:network:VirtualNetworkGateway": "Microsoft.Network/virtualNetworkGateways",
    "azure-native:operationalinsights:Workspace": "Microsoft.OperationalInsights/workspaces",
    "azure-native:privatedns:PrivateZone": "Microsoft.Network/privateDnsZones",
    "azure-native:privatedns:VirtualNetworkLink": "Microsoft.Network/privateDnsZones/virtualNetworkLinks",
    "azure-native:purview:Account": "Microsoft.Purview/accounts",
    "azure-native:recoveryservices:Vault": "Microsoft.RecoveryServices/vaults",
    "azure-native:recoveryservices:ReplicationPolicy": "Microsoft.RecoveryServices/vaults/replicationPolicies",
    "azure-native:resources:ResourceGroup": "Microsoft.Resources/resourceGroups",
    "azure-native:search:Service": "Microsoft.Search/searchServices",
    "azure-native:sql:Server": "Microsoft.Sql/servers",
    "azure-native:sql:Database": "Microsoft.Sql/servers/databases",
    "azure-native:sql:FailoverGroup": "Microsoft.Sql/servers/failoverGroups",
    "azure-native:sql:ServerBlobAuditingPolicy": "Microsoft.Sql/servers/auditingSettings",
    "azure-native:sql:ManagedInstance": "Microsoft.Sql/managedInstances",
    "azure-native:sql:InstanceFailoverGroup": "Microsoft.Sql/locations/instanceFailoverGroups",
    "azure-native:storage:StorageAccount": "Microsoft.Storage/storageAccounts",
    "azure-native:storage:BlobContainer": "Microsoft.Storage/storageAccounts/blobServices/containers",
    "azure-native:streamanalytics:StreamingJob": "Microsoft.StreamAnalytics/streamingjobs",
    "azure-native:synapse:Workspace": "Microsoft.Synapse/workspaces",
    "azure-native:synapse:SqlPool": "Microsoft.Synapse/workspaces/sqlPools",
    "azure-native:synapse:BigDataPool": "Microsoft.Synapse/workspaces/bigDataPools",
    "azure-native:synapse:WorkspaceAadAdmin": "Microsoft.Synapse/workspaces/administrators",
    "azure-native:trafficmanager:Profile": "Microsoft.Network/trafficmanagerprofiles",
    "azure-native:web:AppServicePlan": "Microsoft.Web/serverFarms",
    "azure-native:web:WebApp": "Microsoft.Web/sites",
    "azure-native:web:WebAppFtpAllowed": "Microsoft.Web/sites/basicPublishingCredentialsPolicies",
    "azure-native:web:WebAppScmAllowed": "Microsoft.Web/sites/basicPublishingCredentialsPolicies",
}

# Optional services whose settings name a storage account SKU the service creates.
_STORAGE_SKU_SETTINGS = {
    "databricks": "dbfs_storage_sku",
    "machineLearning": "storage_redundancy",
    "analysisServices": "backup_redundancy",
}


@dataclass(frozen=True)
class VmNeed:
    size: str  # a Microsoft.Compute virtualMachines SKU name, e.g. Standard_D2ds_v5
    purpose: str
    # Whether it draws on the subscription's Compute vCPU quota. MySQL flexible servers run on
    # these sizes but have a vCore quota of their own, so they are checked for being offered and
    # unrestricted only. (PostgreSQL has a capabilities API of its own: PostgresNeed.)
    compute_quota: bool = False


@dataclass(frozen=True)
class PostgresNeed:
    """A PostgreSQL flexible server's compute, checked against PostgreSQL's own location
    capabilities: its SKUs are not Compute VM SKUs, and a Compute restriction says nothing of them."""

    sku: str  # e.g. Standard_D2ds_v5
    tier: str  # Burstable | GeneralPurpose | MemoryOptimized
    version: str
    geo_redundant_backup: bool


@dataclass(frozen=True)
class GlobalName:
    """A name the stack will create that must be unique across Azure, and the group it goes in."""

    type: str  # Pulumi type token
    name: str
    resource_group: str | None


@dataclass(frozen=True)
class Needs:
    region: str
    # ARM resource types declared with a location in the region (checked for being offered).
    located_types: tuple[str, ...]
    # Every resource provider namespace the program uses (checked for registration).
    providers: tuple[str, ...]
    # Pulumi type tokens with no ARM mapping above: reported, never silently skipped.
    unmapped: tuple[str, ...] = ()
    # (logical name, location) of resources declared outside the stack's region.
    misplaced: tuple[tuple[str, str], ...] = ()
    vm_sizes: tuple[VmNeed, ...] = ()
    storage_skus: dict[str, str] = field(default_factory=dict)  # SKU name -> who needs it
    public_ips: int = 0
    postgres: PostgresNeed | None = None
    global_names: tuple[GlobalName, ...] = ()
    # Resource groups the program creates role assignments in ("" for a subscription scope).
    role_assignment_groups: tuple[str, ...] = ()
    key_vault_create_mode: str = "default"


def namespace_of(arm_type: str) -> str:
    return arm_type.split("/", 1)[0]


def type_in_namespace(arm_type: str) -> str:
    return arm_type.split("/", 1)[1]


def needs_from(config: StackConfig, graph: Graph) -> Needs:
    """The needs of `config`'s stack from its graph (as preview gives it)."""
    located: set[str] = set()
    providers: set[str] = set()
    unmapped: set[str] = set()
    misplaced: list[tuple[str, str]] = []
    types: Counter[str] = Counter()
    for resource in graph.resources:
        token = resource["type"]
        types[token] += 1
        arm = ARM_TYPES.get(token)
        if arm is None:
            unmapped.add(token)
            continue
        providers.add(namespace_of(arm))
        location = resource.get("location")
        if location:
            located.add(arm)
            if norm_location(location) != norm_location(config.region):
                misplaced.append((resource["name"], location))
    return Needs(
        region=config.region,
        located_types=tuple(sorted(located)),
        providers=tuple(sorted(providers)),
        unmapped=tuple(sorted(unmapped)),
        misplaced=tuple(misplaced),
        vm_sizes=_vm_sizes(config),
        storage_skus=_storage_skus(config),
        public_ips=types["azure-native:network:PublicIPAddress"],
        postgres=_postgres(config),
        global_names=_global_names(graph),
        role_assignment_groups=_role_assignment_groups(graph),
        key_vault_create_mode=config.foundation.key_vault_create_mode,
    )


def _global_names(graph: Graph) -> tuple[GlobalName, ...]:
    unique = globally_unique_types()
    found = []
    for resource in graph.resources:
        if resource["type"] in unique and resource["physical_name"]:
            group = graph.inputs.get(resource["urn"], {}).get("resourceGroupName")
            found.append(GlobalName(resource["type"], resource["physical_name"], group if isinstance(group, str) else None))
    return tuple(found)


_GROUP_IN_SCOPE = re.compile(r"/resourceGroups/([^/]+)", re.IGNORECASE)


def _role_assignment_groups(graph: Graph) -> tuple[str, ...]:
    groups: set[str] = set()
    for resource in graph.resources:
        if resource["type"] != "azure-native:authorization:RoleAssignment":
            continue
        scope = graph.inputs.get(resource["urn"], {}).get("scope")
        match = _GROUP_IN_SCOPE.search(scope) if isinstance(scope, str) else None
        groups.add(match.group(1) if match else "")
    return tuple(sorted(groups))


def _postgres(config: StackConfig) -> PostgresNeed | None:
    if not config.enabled("postgres"):
        return None
    settings = config.postgres
    return PostgresNeed(settings.sku_name, settings.tier, settings.version, settings.geo_redundant_backup)


def _vm_sizes(config: StackConfig) -> tuple[VmNeed, ...]:
    sizes = []
    mysql = config.optional_services.get("mysql")
    if mysql is not None:
        sizes.append(VmNeed(mysql.sku_name, "mysql"))
    # Databricks clusters do draw on Compute vCPU quota, but their node types are chosen in the
    # workspace, not in this stack's config, so there is nothing to count here.
    return tuple(sizes)


def _storage_skus(config: StackConfig) -> dict[str, str]:
    skus: dict[str, str] = {}
    if config.enabled("lake"):
        skus.setdefault(config.lake.redundancy, "lake")
    for key, attribute in _STORAGE_SKU_SETTINGS.items():
        settings = config.optional_services.get(key)
        if settings is not None and getattr(settings, attribute, None):
            skus.setdefault(getattr(settings, attribute), key)
    return skus


def norm_location(location: str) -> str:
    """Compare locations as ARM does: providers list display names ("West US"), the rest
    programmatic names ("westus")."""
    return location.lower().replace(" ", "")

