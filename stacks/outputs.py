"""Stack output keys: exported by stacks/program.py, read by drctl and the smoke tests."""

from __future__ import annotations

REGION = "region"
ROLE = "role"

# Foundation
RESOURCE_GROUPS = "resourceGroups"  # {"foundation": ..., "connectivity": ..., "data": ...}
LOG_ANALYTICS_WORKSPACE_ID = "logAnalyticsWorkspaceId"
KEY_VAULT_NAME = "keyVaultName"
KEY_VAULT_URI = "keyVaultUri"
RECOVERY_VAULT_NAME = "recoveryVaultName"

# Connectivity
VNET_ID = "vnetId"
VNET_NAME = "vnetName"
SUBNET_IDS = "subnetIds"
FIREWALL_PRIVATE_IP = "firewallPrivateIp"  # absent when services.firewall is off
PRIVATE_DNS_ZONE_IDS = "privateDnsZoneIds"

# Lake
LAKE_ACCOUNT_NAME = "lakeAccountName"
LAKE_BLOB_ENDPOINT = "lakeBlobEndpoint"
LAKE_DFS_ENDPOINT = "lakeDfsEndpoint"
LAKE_CONTAINERS = "lakeContainers"

# PostgreSQL
POSTGRES_SERVER_NAME = "postgresServerName"
POSTGRES_FQDN = "postgresFqdn"
POSTGRES_DATABASES = "postgresDatabases"
POSTGRES_CREATE_MODE = "postgresCreateMode"  # "Default" on the primary, "GeoRestore" when restored

# Event Hubs
EVENT_HUBS_NAMESPACE = "eventHubsNamespace"
EVENT_HUBS_ENDPOINT = "eventHubsEndpoint"
EVENT_HUBS = "eventHubs"

# Data Factory
DATA_FACTORY_NAME = "dataFactoryName"
DATA_FACTORY_PIPELINES = "dataFactoryPipelines"
SMOKE_PIPELINE = "smokePipeline"

ALL_KEYS = (
    REGION, ROLE, RESOURCE_GROUPS, LOG_ANALYTICS_WORKSPACE_ID, KEY_VAULT_NAME, KEY_VAULT_URI,
    RECOVERY_VAULT_NAME, VNET_ID, VNET_NAME, SUBNET_IDS, FIREWALL_PRIVATE_IP, PRIVATE_DNS_ZONE_IDS,
    LAKE_ACCOUNT_NAME, LAKE_BLOB_ENDPOINT, LAKE_DFS_ENDPOINT, LAKE_CONTAINERS, POSTGRES_SERVER_NAME,
    POSTGRES_FQDN, POSTGRES_DATABASES, POSTGRES_CREATE_MODE, EVENT_HUBS_NAMESPACE, EVENT_HUBS_ENDPOINT,
    EVENT_HUBS, DATA_FACTORY_NAME, DATA_FACTORY_PIPELINES, SMOKE_PIPELINE,
)
