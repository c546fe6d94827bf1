"""Azure's resource IDs rewritten in the mock runtime's form (orchestrator/policy/azure_ids.py), from the
Azure types the stack's own outputs give."""

from __future__ import annotations

from policy_args import PROVIDER, options
from pulumi_policy import PolicyResource
from pulumi_policy.proxy import UNKNOWN_STRING_VALUE, unknown_checking_proxy

from orchestrator.policy.azure_ids import as_mock_ids, azure_types
from orchestrator.policy.stack_graph import plain

ACCOUNT_ID = ("/subscriptions/0000/resourceGroups/rg-data/providers/Microsoft.Storage/storageAccounts/lake01"
              "/blobServices/default")


def resource(token: str, outputs: dict) -> tuple[PolicyResource, dict]:
    r = PolicyResource(token, {}, f"urn:{token}", "r", options(), PROVIDER, None, [], {})
    return r, plain(unknown_checking_proxy(outputs))


def test_the_azure_types_come_from_outputs_shaped_as_azure_types_only():
    types = azure_types([
        resource("azure-native:storage:StorageAccount", {"type": "Microsoft.Storage/storageAccounts"}),
        resource("azure-native:search:Service", {"type": "standard"}),  # an input called type: not an Azure type
        resource("azure-native:keyvault:Vault", {"type": UNKNOWN_STRING_VALUE}),  # not known in this preview
        resource("azure-native:storage:BlobContainer", {"type": "Microsoft.Storage/storageAccounts/blobServices/containers"}),
    ])
    assert types == {"microsoft.storage/storageaccounts": "azure-native:storage:StorageAccount"}


def test_ids_of_known_types_are_rewritten_wherever_they_sit_and_others_are_left():
    types = {"microsoft.storage/storageaccounts": "azure-native:storage:StorageAccount"}
    vnet = "/subscriptions/0000/resourceGroups/rg/providers/Microsoft.Network/virtualNetworks/vnet/subnets/a"
    given = {"links": [{"privateLinkServiceId": ACCOUNT_ID.upper().replace("LAKE01", "lake01")}], "subnet": {"id": vnet},
             "name": "Microsoft.Storage/storageAccounts/x"}
    assert as_mock_ids(given, types) == {
        "links": [{"privateLinkServiceId": "/SUBSCRIPTIONS/0000/RESOURCEGROUPS/RG-DATA/providers/storage/StorageAccount/"
                                           "lake01/BLOBSERVICES/DEFAULT"}],
        "subnet": {"id": vnet},  # a type the stack does not hold: left as Azure wrote it
        "name": "Microsoft.Storage/storageAccounts/x",  # not an ID
    }
    assert as_mock_ids(given, {}) == given
