"""Preflight on the deploying identity's right to create the program's role assignments.

Owner-less identities (Contributor is the usual choice) can create every resource and then fail
on the first role assignment, late in the `pulumi up`, because Contributor's notActions remove
Microsoft.Authorization/*/Write. The caller's effective actions come from the Permissions API
(Permissions_ListForResourceGroup): one entry per role assignment, each an actions list less its
notActions, matched with ARM's `*` wildcard and case-insensitively.
https://learn.microsoft.com/azure/role-based-access-control/role-definitions#actions-format

Deny assignments are not part of that answer, so a deny on the scope still goes unseen.
"""

from __future__ import annotations

import re
from typing import Any

from azure.core.exceptions import HttpResponseError, ResourceNotFoundError

from orchestrator.targets.azure.clients import AzureSession
from orchestrator.targets.azure.preflight.arm import arm_pages
from orchestrator.targets.azure.preflight.findings import Check, error_check, finding, is_transient, passed

ACTION = "Microsoft.Authorization/roleAssignments/write"
API_VERSION = "2022-04-01"
TITLE = "The deploying identity may create the program's role assignments"
FIX = ("grant the identity Owner, User Access Administrator or Role Based Access Control Administrator "
       "on {scope} (Contributor cannot assign roles)")


def _matches(pattern: str, action: str) -> bool:
    regex = ".*".join(re.escape(part) for part in pattern.split("*"))
    return re.fullmatch(regex, action, re.IGNORECASE) is not None


def allows(permissions: list[dict[str, Any]], action: str) -> bool:
    """Whether any one entry grants `action` without its own notActions taking it away."""
    return any(
        any(_matches(p, action) for p in entry.get("actions") or [])
        and not any(_matches(p, action) for p in entry.get("notActions") or [])
        for entry in permissions
    )


def _group_permissions(session: AzureSession, group: str) -> list[dict[str, Any]]:
    path = (f"/subscriptions/{session.subscription_id}/resourceGroups/{group}"
            "/providers/Microsoft.Authorization/permissions")
    return list(arm_pages(session, path, API_VERSION))


def _subscription_permissions(session: AzureSession) -> list[dict[str, Any]]:
    # Not among the REST specification's paths (which list resource groups and resources), but ARM
    # answers the same extension at the subscription scope. A group the run will create inherits
    # exactly these.
    path = f"/subscriptions/{session.subscription_id}/providers/Microsoft.Authorization/permissions"
    return list(arm_pages(session, path, API_VERSION))


def check_role_assignment_right(session: AzureSession, groups: tuple[str, ...]) -> list[Check]:
    if not groups:
        return [passed("permissions.role-assignments", TITLE, "the program declares no role assignment")]
    checks = []
    cache: dict[str, list[dict[str, Any]]] = {}
    for group in groups:
        check_id = f"permissions.role-assignments:{group or 'subscription'}"
        scope = f"resource group {group}" if group else "the subscription"
        try:
            scope, permissions = _permissions_on(session, group, cache)
        except HttpResponseError as exc:
            checks.append(_unanswered(check_id, scope, exc))
            continue
        checks.append(_decide(check_id, scope, permissions))
    return checks


def _permissions_on(session: AzureSession, group: str,
                    cache: dict[str, list[dict[str, Any]]]) -> tuple[str, list[dict[str, Any]]]:
    """(the scope answered for, the caller's permission entries there)."""
    if group:
        try:
            return f"resource group {group}", _group_permissions(session, group)
        except ResourceNotFoundError:
            # The group does not exist yet: the run creates it, and it inherits the subscription's.
            scope = f"the subscription (resource group {group} does not exist yet)"
    else:
        scope = "the subscription"
    if "" not in cache:
        cache[""] = _subscription_permissions(session)
    return scope, cache[""]


def _decide(check_id: str, scope: str, permissions: list[dict[str, Any]]) -> Check:
    evidence = {"action": ACTION, "scope": scope, "entries": len(permissions)}
    if allows(permissions, ACTION):
        return passed(check_id, TITLE, f"{ACTION} is granted on {scope}", evidence)
    return finding(
        check_id, TITLE, "blocker",
        f"the identity lacks {ACTION} on {scope}: the deploy would stop at the first role assignment",
        fix=FIX.format(scope=scope), evidence=evidence,
    )


def _unanswered(check_id: str, scope: str, exc: HttpResponseError) -> Check:
    retriable, _ = is_transient(exc)
    if retriable or getattr(exc, "status_code", None) in (401, 403):
        return error_check(check_id, TITLE, exc, f"listing the caller's permissions on {scope}")
    # Any other refusal leaves the right unknown rather than missing.
    return finding(
        check_id, TITLE, "warning", f"could not read the caller's permissions on {scope}: the right to "
        f"create role assignments is unconfirmed ({getattr(exc, 'status_code', None)})",
        fix=f"confirm by hand that the identity holds {ACTION} on {scope}",
        evidence={"action": ACTION, "scope": scope, "status": getattr(exc, "status_code", None)},
    )
