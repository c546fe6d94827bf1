"""Private endpoints: how the data services, closed to the internet, are reached from the hub network.

The services disable public network access, so Private Link is their only way in: an endpoint puts a
private IP for one of the service's sub-resources (group ids such as "blob" or "vault") into the hub's
private-endpoints subnet. Clients keep using the public host name, which resolves through the
matching privatelink.* zone to that IP.
https://learn.microsoft.com/azure/private-link/private-endpoint-overview
"""

from __future__ import annotations

from collections.abc import Callable

import pulumi
from pulumi_azure_native import network

# Private Link zones of the services the platform runs (one per sub-resource that gets an endpoint).
# https://learn.microsoft.com/azure/private-link/private-endpoint-dns
# "{region}": a zone per region (Data Explorer names its clusters' hosts by region).
PRIVATE_DNS_ZONES: dict[str, str] = {
    "blob": "privatelink.blob.core.windows.net",
    "dfs": "privatelink.dfs.core.windows.net",
    "postgres": "privatelink.postgres.database.azure.com",
    "servicebus": "privatelink.servicebus.windows.net",  # Event Hubs
    "vaultcore": "privatelink.vaultcore.azure.net",  # Key Vault
    "datafactory": "privatelink.datafactory.azure.net",
    "search": "privatelink.search.windows.net",  # AI Search: searchService
    "cognitiveservices": "privatelink.cognitiveservices.azure.com",  # AI Services: account
    "documents": "privatelink.documents.azure.com",  # Cosmos DB for NoSQL: Sql
    "kusto": "privatelink.{region}.kusto.windows.net",  # Data Explorer: cluster
    "databricks": "privatelink.azuredatabricks.net",  # Databricks: databricks_ui_api
    "sites": "privatelink.azurewebsites.net",  # Functions: sites
    "mysql": "privatelink.mysql.database.azure.com",  # MySQL flexible server: mysqlServer
    "purview": "privatelink.purview.azure.com",  # Purview: account
    "purviewstudio": "privatelink.purviewstudio.azure.com",  # Purview: portal
    "sql": "privatelink.database.windows.net",  # Azure SQL: sqlServer
    "synapse-sql": "privatelink.sql.azuresynapse.net",  # Synapse: Sql, SqlOnDemand
    "synapse-dev": "privatelink.dev.azuresynapse.net",  # Synapse: Dev
}

# The zones only a switched-on service needs (its `dataplatform:services` key); the others are the
# core platform's and always exist.
ZONE_SERVICES: dict[str, str] = {
    "search": "aiSearch",
    "cognitiveservices": "aiServices",
    "documents": "cosmosDb",
    "kusto": "dataExplorer",
    "databricks": "databricks",
    "sites": "functionApp",
    "mysql": "mysql",
    "purview": "purview",
    "purviewstudio": "purview",
    "sql": "sqlDatabase",
    "synapse-sql": "synapse",
    "synapse-dev": "synapse",
}


def zone_keys(enabled: Callable[[str], bool]) -> tuple[str, ...]:
    """The zone keys a stack needs: the core's, and those of the services `enabled` says are on."""
    return tuple(key for key in PRIVATE_DNS_ZONES if key not in ZONE_SERVICES or enabled(ZONE_SERVICES[key]))


def zone_name(key: str, region: str) -> str:
    """The zone of `key` for a resource in `region`."""
    return PRIVATE_DNS_ZONES[key].format(region=region)


def is_regional(key: str) -> bool:
    return "{region}" in PRIVATE_DNS_ZONES[key]


# The zone group is a child of its endpoint: named by its input, no location of its own.
PHYSICAL_NAMES = {"azure-native:network:PrivateDnsZoneGroup": "privateDnsZoneGroupName"}
SUBRESOURCES = frozenset({"azure-native:network:PrivateDnsZoneGroup"})

# The zone group's name inside its endpoint; Azure's portal uses the same.
DNS_ZONE_GROUP_NAME = "default"


def private_endpoint(
    name: str,
    *,
    parent: pulumi.Resource,
    location: str,
    resource_group_name: pulumi.Input[str],
    subnet_id: pulumi.Input[str],
    target_id: pulumi.Input[str],
    group_id: str,
    dns_zone_id: pulumi.Input[str],
) -> network.PrivateEndpoint:
    """Declare an endpoint for `target_id`'s `group_id` sub-resource, and register it in its zone.

    Both resources are children of `parent` (the service's component), so the endpoint is deployed,
    recovered and reported with the service it opens.
    """
    child = pulumi.ResourceOptions(parent=parent)
    # An endpoint lives in its subnet's region: the stack's, like the hub.
    endpoint = network.PrivateEndpoint(
        name,
        resource_group_name=resource_group_name,
        location=location,
        subnet=network.SubnetArgs(id=subnet_id),
        # Automatic approval: the stack owns both the endpoint and the service it connects to.
        private_link_service_connections=[
            network.PrivateLinkServiceConnectionArgs(
                name=name,
                private_link_service_id=target_id,
                group_ids=[group_id],
            )
        ],
        opts=child,
    )
    # The zone group writes (and on a redeploy or IP change, rewrites) the endpoint's A record in the
    # privatelink zone, so DNS follows the endpoint without anyone editing records by hand.
    network.PrivateDnsZoneGroup(
        f"{name}-dns",
        private_dns_zone_group_name=DNS_ZONE_GROUP_NAME,
        private_endpoint_name=endpoint.name,
        resource_group_name=resource_group_name,
        private_dns_zone_configs=[network.PrivateDnsZoneConfigArgs(name=group_id, private_dns_zone_id=dns_zone_id)],
        opts=child,
    )
    return endpoint
