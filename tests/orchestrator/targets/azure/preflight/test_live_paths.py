"""The paths into the primary's resources, checked live: the runner's private endpoint connections
approved (StorageAccountListPrivateEndpointConnections example) and its role assigned
(RoleAssignments_ListForScope example), replayed through the resource client's pipeline."""

from __future__ import annotations

import copy
from pathlib import Path

import pytest
from azure_fixtures import Route
from preflight_support import RG, body, session_for

from orchestrator.paths.assess import assess_paths
from orchestrator.targets.azure.preflight.live_paths import check_live_paths
from stacks.config import load_stack_config

REPO = Path(__file__).resolve().parents[5]
CONNECTIONS = "storage/resource-manager/Microsoft.Storage/stable/2025-06-01/examples/StorageAccountListPrivateEndpointConnections.json"
ASSIGNMENTS = "authorization/resource-manager/Microsoft.Authorization/stable/2022-04-01/examples/RoleAssignments_ListForScope.json"
RUNNER = "11111111-1111-1111-1111-111111111111"
CONTRIBUTOR = "ba92f5b4-2d11-453d-a403-e96b0029c9fe"


@pytest.fixture(scope="module")
def paths(repo_graphs):
    config = load_stack_config(REPO, "secondary")
    return config, assess_paths(config, repo_graphs.get("secondary"), repo_graphs.get("primary"))


def connections(status: str, endpoint: str = "lake-runner-pe-blob_secondary1a2b3c") -> dict:
    """The example's list, its first endpoint renamed to the runner's (azure-native adds a suffix)."""
    page = body(CONNECTIONS)
    first = copy.deepcopy(page["value"][0])
    first["properties"]["privateEndpoint"]["id"] = first["properties"]["privateEndpoint"]["id"].rsplit("/", 1)[0] + "/" + endpoint
    first["properties"]["privateLinkServiceConnectionState"]["status"] = status
    page["value"] = [first, page["value"][1]]
    return page


def assignments(role: str) -> dict:
    page = body(ASSIGNMENTS)
    page["value"][0]["properties"]["roleDefinitionId"] = f"/providers/Microsoft.Authorization/roleDefinitions/{role}"
    return page


def routes(status: str = "Approved", role: str = CONTRIBUTOR) -> list[Route]:
    return [Route("GET", RG + "/Microsoft.Storage/storageAccounts/contosolakeaue/privateEndpointConnections",
                  body=connections(status)),
            Route("GET", RG + "/Microsoft.Storage/storageAccounts/contosolakeaue/providers/Microsoft.Authorization/"
                  "roleAssignments", body=assignments(role))]


def test_an_approved_endpoint_and_an_assigned_role_pass(paths):
    config, found = paths
    session, transport = session_for(routes())
    checks = check_live_paths(session, found, config.stack, RUNNER)
    assert {c.id for c in checks} == {"paths.endpoint:lake-runner-pe-blob_secondary", "paths.role:lake.list_source"}
    assert all(c.status == "pass" for c in checks), [c.message for c in checks]
    assert any(f"principalId eq '{RUNNER}'" in r.url.replace("%20", " ").replace("%27", "'") for r in transport.requests)


def test_a_pending_connection_blocks_naming_the_operation(paths):
    config, found = paths
    session, _ = session_for(routes(status="Pending"))
    [blocker] = [c for c in check_live_paths(session, found, config.stack, RUNNER) if c.blocks]
    assert "lake.list_source" in blocker.message and "Pending" in blocker.message


def test_a_missing_role_blocks_naming_the_role(paths):
    config, found = paths
    session, _ = session_for(routes(role="acdd72a7-3385-48ef-bd42-f606fba81ae7"))  # Reader: no data actions
    [blocker] = [c for c in check_live_paths(session, found, config.stack, RUNNER) if c.blocks]
    assert "Storage Blob Data Contributor" in blocker.message
