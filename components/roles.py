"""Role assignments for managed identities: the platform's services reach each other with Entra ID
roles, never keys or SAS tokens.

Built-in role definition ids:
https://learn.microsoft.com/azure/role-based-access-control/built-in-roles
"""

from __future__ import annotations

import uuid
from typing import Any, Literal

import pulumi
from pulumi_azure_native import authorization
from pydantic import Field

from components.spec import ServiceSettings

# A role assignment is an extension resource of its scope: named by its GUID input, no location.
PHYSICAL_NAMES = {"azure-native:authorization:RoleAssignment": "roleAssignmentName"}
SUBRESOURCES = frozenset({"azure-native:authorization:RoleAssignment"})

STORAGE_BLOB_DATA_READER = "2a2b9908-6ea1-4ae2-8e65-a410df84e7d1"
STORAGE_BLOB_DATA_CONTRIBUTOR = "ba92f5b4-2d11-453d-a403-e96b0029c9fe"
STORAGE_BLOB_DATA_OWNER = "b7e6dc6d-f1e8-4753-8033-0f276bb0955b"
STORAGE_QUEUE_DATA_CONTRIBUTOR = "974c5e8b-45b9-4653-ba55-5f855dd0fb88"
EVENT_HUBS_DATA_RECEIVER = "a638d3c7-ab3a-418d-83e6-5f17a39d4fde"
EVENT_HUBS_DATA_SENDER = "2b629674-e913-4c01-ae53-ef4638d8f975"
EVENT_HUBS_DATA_OWNER = "f526a384-b230-433a-b45c-95f59c4a2dec"
KEY_VAULT_SECRETS_OFFICER = "b86a8fe4-44ce-4948-aee5-eccb2c155cd7"
KEY_VAULT_SECRETS_USER = "4633458b-17de-408a-b874-0445c86b69e6"
DATA_FACTORY_CONTRIBUTOR = "673868aa-7521-48a0-acc6-0f60742d39f5"
SEARCH_INDEX_DATA_READER = "1407120a-92aa-4202-b7e9-c0e197c71c8f"
SEARCH_SERVICE_CONTRIBUTOR = "7ca78c08-252a-4471-8644-bb5ff32d4ba0"
COGNITIVE_SERVICES_OPENAI_USER = "5e0bd9bd-7b93-4f28-af87-19fc36ad61bd"


def assignment_name(seed: str) -> str:
    """A GUID derived from `seed` (stack and purpose): a redeploy asks for the same assignment
    instead of adding another, and the two stacks never share one."""
    return str(uuid.uuid5(uuid.NAMESPACE_URL, seed))


def principal_of(resource: Any) -> pulumi.Output[Any]:
    """The system-assigned identity's principal id of a resource that has one."""
    return resource.identity.apply(lambda identity: identity.principal_id if identity else None)


def grant(
    name: str,
    *,
    seed: str | None,
    scope: pulumi.Input[str],
    subscription_id: pulumi.Input[str],
    role: str,
    principal_id: pulumi.Input[Any],
    opts: pulumi.ResourceOptions,
    principal_type: str = "ServicePrincipal",
) -> authorization.RoleAssignment:
    """Give a service principal (a managed identity) `role` on `scope`; `seed` None lets Azure name it."""
    return authorization.RoleAssignment(
        name,
        role_assignment_name=assignment_name(seed) if seed else None,
        scope=scope,
        # Subscription-scoped, the form Azure returns: anything else diffs on every refresh.
        role_definition_id=pulumi.Output.concat(
            "/subscriptions/", subscription_id, "/providers/Microsoft.Authorization/roleDefinitions/", role
        ),
        principal_id=principal_id,
        # Declared, so Azure does not look the new identity up before Entra has replicated it.
        principal_type=principal_type,
        opts=opts,
    )


class EntraAdmin(ServiceSettings):
    """The Entra principal that administers a server (PostgreSQL, Synapse): no password admin exists."""

    object_id: str = Field(alias="objectId", min_length=1)
    principal_name: str = Field(alias="principalName", min_length=1)
    principal_type: Literal["User", "Group", "ServicePrincipal"] = Field("Group", alias="principalType")


def grant_lake_read(
    name: str,
    *,
    seed: str,
    lake_account_id: pulumi.Input[str],
    subscription_id: pulumi.Input[str],
    reader: Any,
    opts: pulumi.ResourceOptions,
) -> authorization.RoleAssignment:
    """Let `reader`'s system-assigned identity read the lake's blobs: a service that rebuilds its data
    from the lake (indexers, re-ingestion) does so with no SAS and no account key."""
    return grant(
        name,
        seed=seed,
        scope=lake_account_id,
        subscription_id=subscription_id,
        role=STORAGE_BLOB_DATA_READER,
        principal_id=principal_of(reader),
        opts=opts,
    )
