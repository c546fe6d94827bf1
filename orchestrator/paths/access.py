"""How drctl reaches each service's data plane: the target resource, its sub-resource and zone, the
endpoint the checks call (smoke_tests/<stem>.py), and what the call must be allowed.

Keyed by the component's logical name in the graph. Where one check calls something the others do
not (AI Search's index listing and its queries), `checks` says so by check name.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from orchestrator.paths import roles
from orchestrator.paths.model import Access

LAKE = "storage:StorageAccount"


@dataclass(frozen=True)
class ServiceAccess:
    """How the checks of one component reach its data plane."""

    target_type: str
    access: Access
    endpoint: str  # with {name} (and {region})
    checks: Mapping[str, Access] = field(default_factory=dict)  # by check name, where one needs more

    def of_check(self, name: str) -> Access:
        return self.checks.get(name, self.access)


# Kusto's own roles (principal assignments, not Azure roles): who may query, who may ingest.
# https://learn.microsoft.com/azure/data-explorer/kusto/access-control/role-based-access-control
KUSTO_VIEWERS = ("AllDatabasesAdmin", "AllDatabasesViewer", "Admin", "User", "Viewer", "UnrestrictedViewer")
KUSTO_INGESTORS = ("AllDatabasesAdmin", "Admin", "Ingestor")
KUSTO_QUERY = Access("cluster", "kusto", admin=True, entry_roles=KUSTO_VIEWERS)
KUSTO_INGEST = Access("cluster", "kusto", admin=True, entry_roles=KUSTO_INGESTORS)
# Cosmos DB Built-in Data Contributor: a Cosmos SQL role definition, not an Azure role.
# https://learn.microsoft.com/azure/cosmos-db/how-to-setup-rbac#built-in-role-definitions
COSMOS_DATA_CONTRIBUTOR = "00000000-0000-0000-0000-000000000002"
COSMOS_DATA_READER = "00000000-0000-0000-0000-000000000001"

_SEARCH = Access("searchService", "search", roles.SEARCH_QUERY, also=(roles.SEARCH_INDEXES_READ,))
_SQL_HOSTS = "{name}.database.windows.net:1433"

SERVICE_ACCESS: dict[str, ServiceAccess] = {
    "lake": ServiceAccess(LAKE, Access("blob", "blob", roles.BLOB_READ), "https://{name}.blob.core.windows.net"),
    "postgres": ServiceAccess("dbforpostgresql:Server", Access("postgresqlServer", "postgres", admin=True),
                              "{name}.postgres.database.azure.com:5432"),
    "event_hubs": ServiceAccess("eventhub:Namespace", Access("namespace", "servicebus", roles.EVENT_SEND),
                                "{name}.servicebus.windows.net:5671"),
    "foundation": ServiceAccess("keyvault:Vault", Access("vault", "vaultcore", roles.SECRET_GET),
                                "https://{name}.vault.azure.net"),
    "data-explorer": ServiceAccess("kusto:Cluster", KUSTO_QUERY, "https://{name}.{region}.kusto.windows.net"),
    # Listing indexes and reading indexers are Search Service Contributor's; queries and counts are
    # Search Index Data Reader's data action.
    "ai-search": ServiceAccess("search:Service", _SEARCH, "https://{name}.search.windows.net", checks={
        "index-names-list": Access("searchService", "search", roles.SEARCH_INDEXES_READ),
        "indexer-status": Access("searchService", "search", roles.SEARCH_INDEXERS_READ)}),
    # The account's custom subdomain is its name; an AIServices account serves the OpenAI API there.
    "ai-services": ServiceAccess("cognitiveservices:Account", Access("account", "cognitiveservices", roles.OPENAI_CHAT),
                                 "https://{name}.cognitiveservices.azure.com"),
    "cosmos_db": ServiceAccess("cosmosdb:DatabaseAccount",
                               Access("Sql", "documents", admin=True, entry_roles=(COSMOS_DATA_CONTRIBUTOR,)),
                               "https://{name}.documents.azure.com:443"),
    # No private link: the server's public endpoint, which its firewall opens to the runner's egress.
    "analysis-services": ServiceAccess(
        "analysisservices:ServerDetails", Access("", "", admin=True, public_host="{region}.asazure.windows.net"),
        "https://{region}.asazure.windows.net/servers/{name}"),
    # Front-end Private Link needs VNet injection: a workspace left open is reached at its public URL.
    "databricks": ServiceAccess(
        "databricks:Workspace", Access("databricks_ui_api", "databricks", granted="databricks-workspace-user",
                                       public_host="adb-*.azuredatabricks.net"),
        "https://adb-<workspace id>.azuredatabricks.net ({name})"),
    # The health function is anonymous: App Service's own health check calls it the same way.
    "function-app": ServiceAccess("web:WebApp", Access("sites", "sites", anonymous=True,
                                                       public_host="{name}.azurewebsites.net"),
                                  "https://{name}.azurewebsites.net/api/health"),
    # One Entra administrator per server: the runner is it, or in its group (made by hand).
    "mysql": ServiceAccess("dbformysql:Server", Access("mysqlServer", "mysql", admin=True, granted="mysql-admin-group"),
                           "{name}.mysql.database.azure.com:3306"),
    "sql_database": ServiceAccess(":sql:Server", Access("sqlServer", "sql", admin=True, granted="sql-database-user"),
                                  _SQL_HOSTS),
    "synapse": ServiceAccess("synapse:Workspace", Access("Sql", "synapse-sql", admin=True, granted="synapse-sql-user"),
                             "{name}.sql.azuresynapse.net:1433"),
    # Purview's data plane is authorised by its collection roles, which only Purview grants.
    "purview": ServiceAccess("purview:Account", Access("account", "purview", granted="purview-data-reader"),
                             "https://{name}.purview.azure.com"),
    # Reached in its own VNet (the stack names the subnet): a route the network team makes.
    "sql-managed-instance": ServiceAccess(
        ":sql:ManagedInstance", Access("", "", admin=True, granted="sql-managed-instance-login",
                                       routed="sql-managed-instance-network"),
        "{name}.<dns zone>.database.windows.net:1433"),
    # The recovered VMs are the workload's, not the program's: the vault is the only target in the graph.
    "sql-server-vm": ServiceAccess(
        "recoveryservices:Vault", Access("", "", granted="sql-server-vm-login", routed="sql-server-vm-network"),
        "the SQL Server of each VM the vault {name} fails over (port 1433)"),
}
