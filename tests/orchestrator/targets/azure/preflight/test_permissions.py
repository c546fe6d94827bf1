"""The right to create role assignments, from the Permissions API (Permissions_ListForResourceGroup
example, replayed through the resource client's pipeline: azure-mgmt-authorization is not installed)."""

from __future__ import annotations

import pytest
from preflight_support import PERMISSIONS, SUB, arm_error, body, hosts, permissions_routes, session_for

from orchestrator.targets.azure.preflight.permissions import ACTION, allows, check_role_assignment_right

# Built-in roles' actions and notActions as Azure documents them (the example's entry is empty).
OWNER = {"actions": ["*"], "notActions": []}
CONTRIBUTOR = {"actions": ["*"], "notActions": ["Microsoft.Authorization/*/Delete", "Microsoft.Authorization/*/Write",
                                                "Microsoft.Authorization/elevateAccess/Action"]}
USER_ACCESS_ADMIN = {"actions": ["*/read", "Microsoft.Authorization/*", "Microsoft.Support/*"], "notActions": []}
READER = {"actions": ["*/read"], "notActions": []}


def listing(*entries: dict) -> dict:
    """The example's page, with its one empty entry replaced by `entries` (test-built)."""
    page = body(PERMISSIONS)
    page["value"] = [dict(page["value"][0], **entry) for entry in entries]
    return page


@pytest.mark.parametrize(
    "entries,allowed",
    [
        ([OWNER], True),
        ([CONTRIBUTOR], False),  # notActions in another case than the action: still matched
        ([USER_ACCESS_ADMIN], True),
        ([READER], False),
        ([CONTRIBUTOR, USER_ACCESS_ADMIN], True),  # a notAction takes away only its own entry's action
        ([{"actions": ["microsoft.authorization/roleassignments/*"], "notActions": []}], True),
        ([{"actions": ["Microsoft.Authorization/roleAssignments/write"],
           "notActions": ["Microsoft.Authorization/roleAssignments/*"]}], False),
        ([], False),
    ],
)
def test_wildcards_and_not_actions(entries, allowed):
    assert allows(entries, ACTION) is allowed


def test_the_examples_empty_permissions_block_naming_the_group_and_the_action():
    session, transport = session_for(permissions_routes())
    [check] = check_role_assignment_right(session, ("rg-contoso-data-ase",))
    assert check.blocks and ACTION in check.message and "resource group rg-contoso-data-ase" in check.message
    assert "User Access Administrator" in check.fix
    urls = [r.url for r in transport.requests]
    assert "/resourceGroups/rg-contoso-data-ase/providers/Microsoft.Authorization/permissions?api-version=" in urls[0]
    assert urls[1].startswith("https://management.azure.com/nextlink")  # the example's page was followed
    assert hosts(transport) == {"management.azure.com"}


def test_a_granted_right_passes():
    session, _ = session_for(permissions_routes(group=listing(CONTRIBUTOR, USER_ACCESS_ADMIN)))
    [check] = check_role_assignment_right(session, ("rg-contoso-data-ase",))
    assert check.status == "pass" and check.evidence["entries"] == 2


def test_a_group_the_run_creates_is_judged_by_the_subscriptions_permissions():
    missing = arm_error("ResourceGroupNotFound", "Resource group 'rg-contoso-data-ase' could not be found.")
    session, transport = session_for(permissions_routes(group=missing, group_status=404, subscription=listing(OWNER)))
    [check] = check_role_assignment_right(session, ("rg-contoso-data-ase",))
    assert check.status == "pass" and "does not exist yet" in check.evidence["scope"]
    assert any(r.url.startswith(f"https://management.azure.com{SUB}/providers/Microsoft.Authorization/permissions")
               for r in transport.requests)
    session, _ = session_for(permissions_routes(group=missing, group_status=404, subscription=listing(CONTRIBUTOR)))
    [check] = check_role_assignment_right(session, ("rg-contoso-data-ase",))
    assert check.blocks and "the subscription" in check.message


def test_forbidden_is_a_permanent_error_and_a_throttle_is_retriable():
    from azure_fixtures import Route

    refused = [Route("GET", SUB + r"/resourceGroups/[^/]+/providers/Microsoft.Authorization/permissions",
                     status=403, body=arm_error("AuthorizationFailed"))]
    [check] = check_role_assignment_right(session_for(refused)[0], ("rg-x",))
    assert (check.status, check.blocks, check.evidence["code"]) == ("error", True, "AuthorizationFailed")
    throttled = [Route("GET", SUB + r"/resourceGroups/[^/]+/providers/Microsoft.Authorization/permissions",
                       status=429, body=arm_error("TooManyRequests"), headers={"Retry-After": "3"})]
    [check] = check_role_assignment_right(session_for(throttled)[0], ("rg-x",))
    assert (check.status, check.retriable, check.blocks) == ("error", True, False)


def test_no_role_assignment_asks_nothing():
    session, transport = session_for(permissions_routes())
    [check] = check_role_assignment_right(session, ())
    assert check.status == "pass" and transport.requests == []
