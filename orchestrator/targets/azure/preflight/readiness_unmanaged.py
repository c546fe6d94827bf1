"""What a redeploy of the primary from code would not bring back: what runs there outside its stack.

- Resources in the primary's resource groups that the stack's state does not hold (someone created
  them by hand, or another tool did): listed per group (Resources_ListByResourceGroup) and compared
  by ARM id with the state. Resources Azure creates for a managed one are left out: those whose
  `managedBy` is a managed resource, and a managed private endpoint's network interface, which Azure
  names `<endpoint>.nic.<guid>` (https://learn.microsoft.com/azure/private-link/manage-private-endpoint).
- The Entra administrators of the primary's PostgreSQL server, which the resource listing does not
  show: one the stack does not manage is copied by a geo-restore but lost to a redeploy; and the
  administrator the stack declares must be there, because the secondary adopts it from the restore
  (components/postgres_admins.py) and that import fails when the primary no longer has it.
"""

from __future__ import annotations

from typing import Any

from azure.core.exceptions import HttpResponseError, ServiceRequestError, ServiceResponseError

from components.roles import EntraAdmin
from orchestrator.model import PermanentError, TransientError
from orchestrator.targets.azure.clients import AzureSession
from orchestrator.targets.azure.preflight.findings import Check, error_check, finding, passed
from orchestrator.targets.azure.preflight.readiness_drift import could_not_audit
from orchestrator.targets.azure.stores.databases import postgres_admins

PRIVATE_ENDPOINT = "microsoft.network/privateendpoints"
NETWORK_INTERFACE = "microsoft.network/networkinterfaces"


def _created_for_managed(resource: Any, managed: frozenset[str]) -> bool:
    if (getattr(resource, "managed_by", None) or "").lower() in managed:
        return True
    if str(resource.type).lower() != NETWORK_INTERFACE:
        return False
    endpoint, nic, _ = str(resource.name).lower().partition(".nic.")
    return bool(nic) and any(i.endswith(f"/providers/{PRIVATE_ENDPOINT}/{endpoint}") for i in managed)


def unmanaged_in_group(session: AzureSession, group: str, managed: frozenset[str], stack: str) -> Check:
    check_id, title = f"readiness.unmanaged:{group}", f"Everything in {group} is managed by stack {stack}"
    try:
        listed = list(session.resources().resources.list_by_resource_group(group))
    except Exception as exc:
        return _read_failure(check_id, title, f"listing the resources of {group}", exc)
    outside = [r for r in listed if str(r.id).lower() not in managed]
    by_azure = [r.id for r in outside if _created_for_managed(r, managed)]
    unmanaged = [{"id": r.id, "type": r.type} for r in outside if r.id not in by_azure]
    evidence = {"resource_group": group, "listed": len(listed), "unmanaged": unmanaged,
                "created_by_azure_for_managed": by_azure}
    if not unmanaged:
        return passed(check_id, title, f"all {len(listed)} resource(s) of {group} are in the stack's state", evidence)
    return finding(
        check_id, title, "warning",
        f"{len(unmanaged)} resource(s) in {group} are not in stack {stack}'s state: "
        + ", ".join(r["id"] for r in unmanaged[:5]),
        fix="declare them in the program (adopting them with the import option) or remove them",
        rpo_consequence="a redeploy from code does not recreate them, nor whatever they hold", evidence=evidence)


def postgres_admins_check(session: AzureSession, group: str, server: str, managed: frozenset[str],
                          declared: EntraAdmin | None, stack: str) -> Check:
    check_id = f"readiness.postgres-admins:{server}"
    title = f"The Entra administrators of {server} are the ones stack {stack} declares"
    try:
        admins = postgres_admins(session.postgres(), group, server)
    except Exception as exc:
        return _read_failure(check_id, title, f"listing the administrators of {server}", exc)
    unmanaged = [a for a in admins if str(a["id"]).lower() not in managed]
    evidence: dict[str, Any] = {"resource_group": group, "administrators": admins,
                                "unmanaged": [a["id"] for a in unmanaged]}
    if declared is not None and declared.object_id.lower() not in {str(a["object_id"]).lower() for a in admins}:
        return finding(
            check_id, title, "blocker",
            f"{server} has no administrator {declared.principal_name} ({declared.object_id}), which stack {stack} "
            "declares: the secondary adopts it from the geo-restore, and that import would fail",
            fix=f"pulumi up --stack {stack} (re-adds it), or correct postgres.entraAdmin", evidence=evidence)
    if unmanaged:
        return finding(
            check_id, title, "warning",
            f"{len(unmanaged)} administrator(s) of {server} are not in stack {stack}'s state: "
            + ", ".join(a["id"] for a in unmanaged),
            fix="declare them (components/postgres_admins.entra_admin) or remove them",
            rpo_consequence="a geo-restore copies them, a redeploy from code does not", evidence=evidence)
    return passed(check_id, title, f"{len(admins)} administrator(s), all declared", evidence)


def _read_failure(check_id: str, title: str, what: str, exc: BaseException) -> Check:
    status = getattr(exc, "status_code", None)
    if isinstance(exc, (TransientError, ServiceRequestError, ServiceResponseError, ConnectionError, TimeoutError)) or (
            isinstance(exc, HttpResponseError) and status is not None and status >= 500):
        return could_not_audit(check_id, title, what, exc)  # the primary region may be down
    if isinstance(exc, HttpResponseError):
        return error_check(check_id, title, exc, what)
    if isinstance(exc, PermanentError):  # an SDK error as the data steps' wrapper (call) reports it
        return Check(check_id, title, "error", "blocker", f"{what}: {exc}", evidence=dict(exc.evidence or {}))
    return could_not_audit(check_id, title, what, exc)
