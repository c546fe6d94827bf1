"""The checks preflight would run for a stack, listed without touching Azure (`failover --dry-run`)."""

from __future__ import annotations

from orchestrator.targets.azure.preflight import backend as backend_checks
from orchestrator.targets.azure.preflight import live_paths, permissions, platform, provider_auth
from stacks.config import StackConfig


def planned_checks(config: StackConfig) -> list[dict[str, str]]:
    """The checks preflight would run for `config`, without touching Azure."""
    primary = platform.primary_region(config)
    plan = [
        ("credentials", "Credentials acquire a management token", "credential.get_token(management scope)"),
        ("subscription", "The subscription is reachable and enabled", "SubscriptionClient.subscriptions.get"),
        ("credentials.provider", provider_auth.TITLE, "AZURE_* against ARM_* / azure-native:* (no call)"),
        ("region", f"{config.region} exists and the program deploys into it", "SubscriptionClient.subscriptions.list_locations"),
        ("region.pair", f"{config.region if config.is_secondary else config.paired_region} is Azure's pair of {primary}",
         "list_locations metadata.pairedRegion"),
        ("provider", "Resource providers of the program are Registered", "ResourceManagementClient.providers.list"),
        ("resource-type", f"Every resource type is offered in {config.region}", "providers resourceTypes[].locations"),
        ("sku.compute", "VM sizes are offered and unrestricted", "ComputeManagementClient.resource_skus.list(location)"),
        ("sku.storage", "Storage SKUs are offered and unrestricted", "StorageManagementClient.skus.list"),
        *([("sku.postgres", "The PostgreSQL tier, SKU and version are offered (geo-backup where wanted)",
            "PostgreSQLManagementClient.capabilities_by_location.list(location)")] if config.enabled("postgres") else []),
        ("quota.vcpu", "Compute vCPU quota covers the stack", "ComputeManagementClient.usage.list(location)"),
        ("quota.public-ips", "Public IP quota covers the stack", "NetworkManagementClient.usages.list(location)"),
        ("permissions.role-assignments", permissions.TITLE,
         "Microsoft.Authorization/permissions (resource group, else subscription)"),
        ("paths.live", live_paths.TITLE,
         "the pair's privateEndpointConnections (approval) and roleAssignments for the runner (Microsoft.Authorization)"),
        ("name", "Global names are free or this stack's own",
         "checkNameAvailability (storage, Key Vault, PostgreSQL, Event Hubs), Key Vault deletedVaults, gets"),
    ]
    readiness = [
        ("readiness.storage", config.enabled("lake"), "storage_accounts.get_properties(expand=geoReplicationStats)"),
        ("readiness.postgres", config.enabled("postgres"), "PostgreSQLManagementClient.servers.get"),
        ("readiness.sql", config.enabled("sqlDatabase"), "SqlManagementClient.recoverable_databases.get"),
        ("readiness.cosmos", config.enabled("cosmosDb"), "CosmosDBManagementClient.database_accounts.get"),
        ("readiness.recovery-vault", True, "RecoveryServicesClient.vaults.get"),
    ]
    for check_id, enabled, calls in readiness:
        if enabled:
            kind = check_id.split(".", 1)[1]
            plan.append((check_id, f"DR readiness of the primary's {kind} ({config.paired_stack if config.is_secondary else config.stack})", calls))
    plan += [
        ("readiness.unmanaged", "Nothing in the primary's resource groups is outside its stack",
         "resources.list_by_resource_group against the primary's state (pulumi stack export)"),
        ("readiness.postgres-admins", "The primary server's Entra admins are the ones its stack declares",
         "PostgreSQLManagementClient.administrators_microsoft_entra.list_by_server"),
        ("readiness.drift", "The live primary matches its code", "Stack.preview_refresh (pulumi refresh --preview-only)"),
        ("backend", "The Pulumi state backend survives the loss of the primary region",
         "Pulumi.yaml backend.url / PULUMI_BACKEND_URL / credentials.json; azblob: storage_accounts.list"),
        ("backend.passphrase", backend_checks.PASSPHRASE_TITLE,
         "PULUMI_CONFIG_PASSPHRASE(_FILE) for a self-managed backend (no call)"),
        ("backend.state", "The stack's state can be read", "pulumi stack export (Automation API hook)"),
    ]
    return [{"id": i, "title": t, "calls": c} for i, t, c in plan]
