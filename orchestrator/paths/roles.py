"""Which built-in roles allow which actions: the part of each role definition the paths need.

From the built-in roles reference (actions and data actions as Azure publishes them):
https://learn.microsoft.com/azure/role-based-access-control/built-in-roles
An entry is a pattern as in a role definition: `*` matches any run of characters.
"""

from __future__ import annotations

from fnmatch import fnmatchcase

BLOB_READ = "Microsoft.Storage/storageAccounts/blobServices/containers/blobs/read"
BLOB_WRITE = "Microsoft.Storage/storageAccounts/blobServices/containers/blobs/write"
CONTAINER_WRITE = "Microsoft.Storage/storageAccounts/blobServices/containers/write"
EVENT_SEND = "Microsoft.EventHub/namespaces/messages/send/action"
EVENT_RECEIVE = "Microsoft.EventHub/namespaces/messages/receive/action"
SECRET_GET = "Microsoft.KeyVault/vaults/secrets/getSecret/action"
USER_DELEGATION_KEY = "Microsoft.Storage/storageAccounts/blobServices/generateUserDelegationKey/action"
PIPELINE_RUN = "Microsoft.DataFactory/factories/pipelines/createRun/action"

ROLES: dict[str, tuple[str, tuple[str, ...]]] = {
    "2a2b9908-6ea1-4ae2-8e65-a410df84e7d1": ("Storage Blob Data Reader", (
        "Microsoft.Storage/storageAccounts/blobServices/containers/read",
        "Microsoft.Storage/storageAccounts/blobServices/generateUserDelegationKey/action",
        BLOB_READ)),
    "ba92f5b4-2d11-453d-a403-e96b0029c9fe": ("Storage Blob Data Contributor", (
        "Microsoft.Storage/storageAccounts/blobServices/containers/*",
        "Microsoft.Storage/storageAccounts/blobServices/generateUserDelegationKey/action")),
    "b7e6dc6d-f1e8-4753-8033-0f276bb0955b": ("Storage Blob Data Owner", (
        "Microsoft.Storage/storageAccounts/blobServices/*",)),
    "f526a384-b230-433a-b45c-95f59c4a2dec": ("Azure Event Hubs Data Owner", ("Microsoft.EventHub/*",)),
    "2b629674-e913-4c01-ae53-ef4638d8f975": ("Azure Event Hubs Data Sender", (EVENT_SEND,)),
    "a638d3c7-ab3a-418d-83e6-5f17a39d4fde": ("Azure Event Hubs Data Receiver", (EVENT_RECEIVE,)),
    "b86a8fe4-44ce-4948-aee5-eccb2c155cd7": ("Key Vault Secrets Officer", ("Microsoft.KeyVault/vaults/secrets/*",)),
    "4633458b-17de-408a-b874-0445c86b69e6": ("Key Vault Secrets User", (SECRET_GET,)),
    "673868aa-7521-48a0-acc6-0f60742d39f5": ("Data Factory Contributor", ("Microsoft.DataFactory/factories/*",)),
}


def role_name(role_definition_id: str) -> str:
    guid = str(role_definition_id).rsplit("/", 1)[-1].lower()
    return ROLES.get(guid, (guid, ()))[0]


def allows(role_definition_id: str, action: str) -> bool:
    """Whether the built-in role `role_definition_id` (an id or a bare GUID) allows `action`."""
    guid = str(role_definition_id).rsplit("/", 1)[-1].lower()
    patterns = ROLES.get(guid, ("", ()))[1]
    return any(fnmatchcase(action.lower(), pattern.lower()) for pattern in patterns)


def roles_for(action: str) -> list[str]:
    """The names of the built-in roles above that allow `action`, for a message."""
    return [name for guid, (name, _) in ROLES.items() if allows(guid, action)]
