"""Which built-in roles allow which actions: the part of each role definition the paths need.

From the built-in roles reference (actions and data actions as Azure publishes them):
https://learn.microsoft.com/azure/role-based-access-control/built-in-roles
An entry is a pattern as in a role definition: `*` matches any run of characters.
"""

from __future__ import annotations

from fnmatch import fnmatchcase

from components import roles as builtin

BLOB_READ = "Microsoft.Storage/storageAccounts/blobServices/containers/blobs/read"
BLOB_WRITE = "Microsoft.Storage/storageAccounts/blobServices/containers/blobs/write"
CONTAINER_WRITE = "Microsoft.Storage/storageAccounts/blobServices/containers/write"
EVENT_SEND = "Microsoft.EventHub/namespaces/messages/send/action"
EVENT_RECEIVE = "Microsoft.EventHub/namespaces/messages/receive/action"
SECRET_GET = "Microsoft.KeyVault/vaults/secrets/getSecret/action"
USER_DELEGATION_KEY = "Microsoft.Storage/storageAccounts/blobServices/generateUserDelegationKey/action"
PIPELINE_RUN = "Microsoft.DataFactory/factories/pipelines/createRun/action"
SEARCH_QUERY = "Microsoft.Search/searchServices/indexes/documents/read"
SEARCH_INDEXES_READ = "Microsoft.Search/searchServices/indexes/read"
SEARCH_INDEXERS_READ = "Microsoft.Search/searchServices/indexers/read"
OPENAI_CHAT = "Microsoft.CognitiveServices/accounts/OpenAI/deployments/chat/completions/action"

ROLES: dict[str, tuple[str, tuple[str, ...]]] = {
    builtin.STORAGE_BLOB_DATA_READER: ("Storage Blob Data Reader", (
        "Microsoft.Storage/storageAccounts/blobServices/containers/read",
        "Microsoft.Storage/storageAccounts/blobServices/generateUserDelegationKey/action",
        BLOB_READ)),
    builtin.STORAGE_BLOB_DATA_CONTRIBUTOR: ("Storage Blob Data Contributor", (
        "Microsoft.Storage/storageAccounts/blobServices/containers/*",
        "Microsoft.Storage/storageAccounts/blobServices/generateUserDelegationKey/action")),
    builtin.STORAGE_BLOB_DATA_OWNER: ("Storage Blob Data Owner", (
        "Microsoft.Storage/storageAccounts/blobServices/*",)),
    builtin.EVENT_HUBS_DATA_OWNER: ("Azure Event Hubs Data Owner", ("Microsoft.EventHub/*",)),
    builtin.EVENT_HUBS_DATA_SENDER: ("Azure Event Hubs Data Sender", (EVENT_SEND,)),
    builtin.EVENT_HUBS_DATA_RECEIVER: ("Azure Event Hubs Data Receiver", (EVENT_RECEIVE,)),
    builtin.KEY_VAULT_SECRETS_OFFICER: ("Key Vault Secrets Officer", ("Microsoft.KeyVault/vaults/secrets/*",)),
    builtin.KEY_VAULT_SECRETS_USER: ("Key Vault Secrets User", (SECRET_GET,)),
    builtin.DATA_FACTORY_CONTRIBUTOR: ("Data Factory Contributor", ("Microsoft.DataFactory/factories/*",)),
    # Its actions cover every search object; it has no data action, so it cannot query documents.
    builtin.SEARCH_SERVICE_CONTRIBUTOR: ("Search Service Contributor", (
        "Microsoft.Search/searchServices/read", SEARCH_INDEXES_READ, "Microsoft.Search/searchServices/indexes/write",
        "Microsoft.Search/searchServices/indexers/*", "Microsoft.Search/searchServices/dataSources/*",
        "Microsoft.Search/searchServices/skillsets/*")),
    builtin.SEARCH_INDEX_DATA_READER: ("Search Index Data Reader", (SEARCH_QUERY,)),
    builtin.COGNITIVE_SERVICES_OPENAI_USER: ("Cognitive Services OpenAI User", (
        "Microsoft.CognitiveServices/accounts/OpenAI/*/read",
        "Microsoft.CognitiveServices/accounts/OpenAI/deployments/completions/action",
        OPENAI_CHAT,
        "Microsoft.CognitiveServices/accounts/OpenAI/deployments/embeddings/action")),
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
