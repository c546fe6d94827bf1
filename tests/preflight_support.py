"""Shared by the preflight tests: the example payloads' routes, stack configs for the examples'
regions, and a project copy. No tests here.

The REST API spec examples are read from ../shared/fixtures (never copied into the project). Where
the shared set has no example for a call (Subscriptions_Get, StorageAccounts_List, error bodies with
an ARM code), the body is built here from the documented shape or from another example's object,
and says so.
"""

from __future__ import annotations

import copy
import shutil
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from azure_fixtures import SUBSCRIPTION, ExampleTransport, FakeCredential, Route, example_body

from orchestrator.targets.azure.clients import AzureSession
from stacks.config import StackConfig, config_from_mapping, read_stack_file

PROJECT_DIR = Path(__file__).resolve().parents[1]
SUB = f"/subscriptions/{SUBSCRIPTION}"
RG = SUB + r"/resourceGroups/[^/]+/providers"

LOCATIONS = "resources/resource-manager/Microsoft.Resources/subscriptions/examples/2022-12-01/GetLocations.json"
PROVIDERS = "resources/resource-manager/Microsoft.Resources/resources/examples/2025-04-01/GetProviders.json"
COMPUTE_SKUS = "compute/resource-manager/Microsoft.Compute/Skus/stable/2021-07-01/examples/skus/ListAvailableResourceSkusForARegion.json"
COMPUTE_USAGE = "compute/resource-manager/Microsoft.Compute/ComputeRP/stable/2025-04-01/examples/computeRPCommonExamples/Usage_List_MaximumSet_Gen.json"
NETWORK_USAGE = "network/resource-manager/Microsoft.Network/Network/stable/2025-05-01/examples/UsageList.json"
STORAGE_NO_FAILOVER = "storage/resource-manager/Microsoft.Storage/Storage/stable/2026-09-01/examples/StorageAccountGetPropertiesGeoReplicationStatscanFailoverFalse.json"
STORAGE_CAN_FAILOVER = "storage/resource-manager/Microsoft.Storage/stable/2025-06-01/examples/StorageAccountGetPropertiesGeoReplicationStatscanFailoverTrue.json"
STORAGE_SKUS = "storage/resource-manager/Microsoft.Storage/stable/2025-06-01/examples/SKUListWithLocationInfo.json"
PG_SERVER = "postgresql/resource-manager/Microsoft.DBforPostgreSQL/stable/2025-08-01/examples/ServersGet.json"
SQL_RECOVERABLE = "sql/resource-manager/Microsoft.Sql/stable/2025-01-01/examples/RecoverableDatabaseGet.json"
COSMOS_ACCOUNT = "cosmos-db/resource-manager/Microsoft.DocumentDB/DocumentDB/stable/2026-07-15/examples/CosmosDBDatabaseAccountGet.json"
VAULT = "recoveryservices/resource-manager/Microsoft.RecoveryServices/RecoveryServices/examples/2026-08-01/GETVault.json"
PG_CAPABILITIES = "postgresql/resource-manager/Microsoft.DBforPostgreSQL/stable/2025-08-01/examples/CapabilitiesByLocationList.json"
PERMISSIONS = "authorization/resource-manager/Microsoft.Authorization/preview/2018-01-01-preview/examples/GetPermissions.json"
STORAGE_NAME = "storage/resource-manager/Microsoft.Storage/stable/2025-06-01/examples/StorageAccountCheckNameAvailability.json"
KV_NAME = "keyvault/resource-manager/Microsoft.KeyVault/KeyVault/stable/2026-04-01/examples/checkVaultNameAvailability.json"
KV_DELETED = "keyvault/resource-manager/Microsoft.KeyVault/KeyVault/examples/2026-04-01/getDeletedVault.json"
KV_VAULT = "keyvault/resource-manager/Microsoft.KeyVault/KeyVault/stable/2026-02-01/examples/getVault.json"
PG_NAME = "postgresql/resource-manager/Microsoft.DBforPostgreSQL/stable/2025-08-01/examples/NameAvailabilityCheckWithLocation.json"
EH_NAME = "eventhub/resource-manager/Microsoft.EventHub/Eventhub/stable/2026-01-01/examples/NameSpaces/EHNameSpaceCheckNameAvailability.json"
FACTORY = "datafactory/resource-manager/Microsoft.DataFactory/DataFactory/stable/2018-06-01/examples/Factories_Get.json"
QUOTA_FAILED = "quota/resource-manager/Microsoft.Quota/stable/2025-03-01/examples/getQuotaRequestStatusFailed.json"

# Not in the shared examples: Subscriptions_Get's documented shape.
SUBSCRIPTION_BODY = {
    "id": SUB, "subscriptionId": SUBSCRIPTION, "displayName": "Example subscription", "state": "Enabled",
    "subscriptionPolicies": {"locationPlacementId": "Public_2014-09-01", "quotaId": "PayAsYouGo_2014-09-01"},
}


def body(path: str) -> Any:
    """A deep copy of an example's 200 body, free to change in a test."""
    return copy.deepcopy(example_body(path))


def arm_error(code: str, message: str = "refused") -> dict[str, Any]:
    """An ARM error body ({"error": {code, message}}), as resource providers answer."""
    return {"error": {"code": code, "message": message}}


def quota_error() -> dict[str, Any]:
    """The closest error body in the shared set: the failed quota request's `error` object."""
    return {"error": body(QUOTA_FAILED)["properties"]["error"]}


def platform_routes(**overrides: Any) -> list[Route]:
    """Routes for the platform checks, each answered by its example unless overridden."""
    bodies = {
        "subscription": SUBSCRIPTION_BODY,
        "locations": body(LOCATIONS),
        "providers": body(PROVIDERS),
        "compute_skus": body(COMPUTE_SKUS),
        "compute_usage": body(COMPUTE_USAGE),
        "network_usage": body(NETWORK_USAGE),
        "storage_skus": body(STORAGE_SKUS),
        "pg_capabilities": body(PG_CAPABILITIES),
    }
    bodies.update(overrides)
    return [
        Route("GET", SUB, body=bodies["subscription"]),
        Route("GET", SUB + "/locations", body=bodies["locations"]),
        Route("GET", SUB + "/providers", body=bodies["providers"]),
        Route("GET", SUB + "/providers/Microsoft.Compute/skus", body=bodies["compute_skus"]),
        Route("GET", SUB + "/providers/Microsoft.Compute/locations/[^/]+/usages", body=bodies["compute_usage"]),
        # The generated usage example pages on to a placeholder nextLink; the SDK follows it on
        # management.azure.com, where this last page ends the list.
        Route("GET", "/aaaaaaaaaaaaaaaaaaaaaaaaaaa", body={"value": []}),
        Route("GET", SUB + "/providers/Microsoft.Network/locations/[^/]+/usages", body=bodies["network_usage"]),
        Route("GET", SUB + "/providers/Microsoft.Storage/skus", body=bodies["storage_skus"]),
        Route("GET", SUB + "/providers/Microsoft.DBforPostgreSQL/locations/[^/]+/capabilities",
              body=bodies["pg_capabilities"]),
    ]


def readiness_routes(**overrides: Any) -> list[Route]:
    bodies = {
        "storage": body(STORAGE_NO_FAILOVER),
        "postgres": body(PG_SERVER),
        "sql": body(SQL_RECOVERABLE),
        "cosmos": body(COSMOS_ACCOUNT),
        "vault": body(VAULT),
    }
    bodies.update(overrides)
    return [
        Route("GET", RG + "/Microsoft.Storage/storageAccounts/[^/]+", body=bodies["storage"]),
        Route("GET", RG + "/Microsoft.DBforPostgreSQL/flexibleServers/[^/]+", body=bodies["postgres"]),
        Route("GET", RG + "/Microsoft.Sql/servers/[^/]+/recoverableDatabases/[^/]+", body=bodies["sql"]),
        Route("GET", RG + "/Microsoft.DocumentDB/databaseAccounts/[^/]+", body=bodies["cosmos"]),
        Route("GET", RG + "/Microsoft.RecoveryServices/vaults/[^/]+", body=bodies["vault"]),
    ]


def permissions_routes(group: Any = None, subscription: Any = None, group_status: int = 200) -> list[Route]:
    """The caller's permissions on a resource group and on the subscription. Both answer with the
    Permissions_ListForResourceGroup example (one entry, no actions) unless given; the example's
    `nextLink` is the bare word "nextlink", which the pipeline resolves on management.azure.com."""
    example = body(PERMISSIONS)
    return [
        Route("GET", RG + "/Microsoft.Authorization/permissions", status=group_status,
              body=group if group is not None else example),
        Route("GET", SUB + "/providers/Microsoft.Authorization/permissions",
              body=subscription if subscription is not None else copy.deepcopy(example)),
        Route("GET", "/nextlink", body={"value": []}),
    ]


def names_routes(**overrides: Any) -> list[Route]:
    """The name-availability calls, each answered by its example (every name available) unless
    overridden; no deleted vault (a 404, test-built: the examples have no not-found body)."""
    bodies = {
        "storage": body(STORAGE_NAME), "key_vault": body(KV_NAME), "postgres": body(PG_NAME),
        "event_hubs": body(EH_NAME), "deleted_vault": None,
    }
    bodies.update(overrides)
    deleted = bodies["deleted_vault"]
    return [
        Route("POST", SUB + "/providers/Microsoft.Storage/checkNameAvailability", body=bodies["storage"]),
        Route("POST", SUB + "/providers/Microsoft.KeyVault/checkNameAvailability", body=bodies["key_vault"]),
        Route("GET", SUB + "/providers/Microsoft.KeyVault/locations/[^/]+/deletedVaults/[^/]+",
              status=200 if deleted is not None else 404,
              body=deleted if deleted is not None else arm_error("ResourceNotFound", "The deleted vault was not found")),
        Route("POST", SUB + "/providers/Microsoft.DBforPostgreSQL/locations/[^/]+/checkNameAvailability",
              body=bodies["postgres"]),
        Route("POST", SUB + "/providers/Microsoft.EventHub/checkNameAvailability", body=bodies["event_hubs"]),
    ]


def taken(path: str, reason: str = "AlreadyExists") -> dict[str, Any]:
    """A name-availability example's answer turned to "taken" (test-built: every example says available)."""
    answer = body(path)
    answer.update(nameAvailable=False, reason=reason, message=f"The name is already in use ({reason}).")
    return answer


def storage_list_route(location: str, sku: str) -> Route:
    """StorageAccounts_List has no example in the shared set: the geoReplicationStats example's
    account (sto8596), placed and sized as the test needs, wrapped in a list."""
    account = body(STORAGE_NO_FAILOVER)
    account["location"] = location
    account["sku"]["name"] = sku
    return Route("GET", SUB + "/providers/Microsoft.Storage/storageAccounts", body={"value": [account]})


def session_for(routes: list[Route], credential: Any = None) -> tuple[AzureSession, ExampleTransport]:
    transport = ExampleTransport(routes)
    # No SDK retries: a 429 or 503 must come back as it is, at once, with nothing slept.
    session = AzureSession(credential or FakeCredential(), SUBSCRIPTION, transport=transport, retry_total=0)
    return session, transport


def hosts(transport: ExampleTransport) -> set[str]:
    return {urlsplit(request.url).hostname for request in transport.requests}


def stack_values(stack: str, region: str, paired_region: str) -> dict[str, Any]:
    """A shipped stack file's values, moved to the example payloads' regions."""
    values = read_stack_file(PROJECT_DIR / f"Pulumi.{stack}.yaml")
    values["azure-native:location"] = region
    values["dataplatform:pairedRegion"] = paired_region
    return values


def config_for(stack: str = "secondary", region: str = "eastus", paired_region: str = "eastus2") -> StackConfig:
    other = "primary" if stack == "secondary" else "secondary"
    return config_from_mapping(
        stack, stack_values(stack, region, paired_region), f"Pulumi.{stack}.yaml",
        stack_values(other, paired_region, region),
    )


def project_copy(tmp_path: Path, secondary: str = "eastus", primary: str = "eastus2", backend: str | None = None) -> Path:
    """The project's Pulumi files and pipelines, with both stacks moved to the examples' regions."""
    import yaml

    shutil.copy(PROJECT_DIR / "Pulumi.yaml", tmp_path / "Pulumi.yaml")
    shutil.copytree(PROJECT_DIR / "pipelines", tmp_path / "pipelines")
    if backend is not None:
        document = yaml.safe_load((tmp_path / "Pulumi.yaml").read_text(encoding="utf-8"))
        document["backend"] = {"url": backend}
        (tmp_path / "Pulumi.yaml").write_text(yaml.safe_dump(document), encoding="utf-8")
    for stack, region, paired in (("secondary", secondary, primary), ("primary", primary, secondary)):
        text = yaml.safe_dump({"config": stack_values(stack, region, paired)})
        (tmp_path / f"Pulumi.{stack}.yaml").write_text(text, encoding="utf-8")
    return tmp_path
