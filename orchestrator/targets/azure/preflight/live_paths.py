"""The data-plane paths (orchestrator/paths) checked against live state before a failover.

Offline, coverage proves the program declares a route and a role for every call. What only Azure
knows is whether what the primary stack made before the disaster is in place: the runner's private
endpoints to the primary's resources approved (a connection left Pending or Rejected carries no
traffic), and the runner's role on them assigned, inherited or not. Resources this run creates are
not there yet: their paths are the program's, which coverage checked.
"""

from __future__ import annotations

from typing import Any

from azure.core.exceptions import HttpResponseError

from orchestrator.paths import roles
from orchestrator.paths.model import PathResult
from orchestrator.targets.azure.clients import AzureSession
from orchestrator.targets.azure.preflight.arm import arm_pages
from orchestrator.targets.azure.preflight.findings import Check, finding, passed

TITLE = "Data-plane paths (live)"
STORAGE_API = "2023-05-01"
AUTHORIZATION_API = "2022-04-01"
PROVIDERS = {"storage:StorageAccount": "Microsoft.Storage/storageAccounts"}


def _resource_path(session: AzureSession, ref: dict[str, str]) -> str | None:
    provider = next((arm for kind, arm in PROVIDERS.items() if ref.get("type", "").endswith(kind)), None)
    if provider is None:
        return None
    return f"/subscriptions/{session.subscription_id}/resourceGroups/{ref['group']}/providers/{provider}/{ref['name']}"


def _approval(session: AzureSession, path: PathResult, resource: str) -> Check:
    check_id = f"paths.endpoint:{path.private_endpoint}"
    connections = list(arm_pages(session, f"{resource}/privateEndpointConnections", STORAGE_API))
    for connection in connections:
        properties: dict[str, Any] = connection.get("properties") or {}
        endpoint_id = str((properties.get("privateEndpoint") or {}).get("id", ""))
        # azure-native names an endpoint after its logical name, plus a random suffix.
        if not endpoint_id.rsplit("/", 1)[-1].startswith(path.private_endpoint):
            continue
        status = (properties.get("privateLinkServiceConnectionState") or {}).get("status")
        evidence = {"endpoint": endpoint_id, "status": status, "operation": path.operation}
        if status == "Approved":
            return passed(check_id, TITLE, f"{path.operation}: endpoint {path.private_endpoint} is approved", evidence)
        return finding(check_id, TITLE, "blocker",
                       f"{path.operation}: private endpoint {path.private_endpoint} is {status}, not Approved",
                       fix=f"approve the connection on {path.target_ref['name']} (while its region is up)",
                       evidence=evidence)
    return finding(check_id, TITLE, "blocker",
                   f"{path.operation}: no private endpoint connection {path.private_endpoint}* on "
                   f"{path.target_ref['name']} ({len(connections)} connections)",
                   fix="run `pulumi up --stack " + path.target_ref["stack"] + "` to create the runner's endpoints",
                   evidence={"connections": len(connections), "operation": path.operation})


def _role(session: AzureSession, path: PathResult, resource: str, principal: str) -> Check:
    check_id = f"paths.role:{path.operation}"
    wanted = path.role_definition
    assignments = list(arm_pages(session, f"{resource}/providers/Microsoft.Authorization/roleAssignments"
                                          f"?$filter=principalId eq '{principal}'", AUTHORIZATION_API))
    for assignment in assignments:
        definition = str((assignment.get("properties") or {}).get("roleDefinitionId", ""))
        if definition.rsplit("/", 1)[-1].lower() == wanted.lower():
            return passed(check_id, TITLE, f"{path.operation}: {roles.role_name(wanted)} is assigned",
                          {"scope": (assignment.get("properties") or {}).get("scope")})
    return finding(check_id, TITLE, "blocker",
                   f"{path.operation}: the runner holds no {roles.role_name(wanted)} on {path.target_ref['name']}",
                   fix="run `pulumi up --stack " + path.target_ref["stack"] + "`, then allow a few minutes for "
                       "the assignment to propagate", evidence={"assignments": len(assignments)})


def check_live_paths(session: AzureSession, paths: list[PathResult], own_stack: str, principal: str | None) -> list[Check]:
    """Approval and role of every path into the pair's resources, which must exist before this run."""
    checks: list[Check] = []
    seen: set[str] = set()
    for path in paths:
        ref = path.target_ref
        if not ref or ref.get("stack") == own_stack or principal is None:
            continue
        resource = _resource_path(session, ref)
        if resource is None:
            continue
        try:
            if path.private_endpoint and path.private_endpoint not in seen:
                seen.add(path.private_endpoint)
                checks.append(_approval(session, path, resource))
            if path.role_definition and f"role:{resource}" not in seen:
                seen.add(f"role:{resource}")
                checks.append(_role(session, path, resource, principal))
        except HttpResponseError as exc:
            # The primary's control plane may be down with its region: unknown, not missing.
            checks.append(finding(f"paths.live:{path.operation}", TITLE, "warning",
                                  f"{path.operation}: could not read {ref['name']} ({exc.status_code}); its "
                                  "endpoint approval and roles are unconfirmed",
                                  fix="confirm from the primary stack's last run evidence",
                                  evidence={"status": exc.status_code}))
    if not checks:
        checks.append(passed("paths.live", TITLE, "no path goes into a resource this run does not create"))
    return checks
