"""Azure's resource IDs rewritten in the form the mock runtime gives them, for the rules across resources.

The baseline's rules across resources find the resource an ID names (a private endpoint's target, a
diagnostic setting's resource) by reading the ID as the mock runtime writes it:
providers/<azure-native module>/<Pulumi type>/<name> (orchestrator/program/capture.py). Azure
writes providers/<resource provider namespace>/<resource type>/<name>: Microsoft.Storage/
storageAccounts for azure-native:storage:StorageAccount. Read from a real stack as Azure wrote
them, IDs would name nothing, and what the rules look for through them would go unseen.

azure-native returns each resource's Azure type as its `type` output, so the stack's own resources
say which Azure type is which Pulumi type. An ID is known during a preview only for a resource
that exists already, and such a resource's outputs hold its Azure type: the pairs needed are there
whenever the IDs are.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from pulumi_policy import PolicyResource

AZURE_TYPE = re.compile(r"[A-Za-z0-9]+\.[A-Za-z0-9.]+/[A-Za-z0-9]+")  # e.g. Microsoft.Storage/storageAccounts
_PROVIDER_SEGMENT = re.compile(r"/providers/([^/]+)/([^/]+)/", re.IGNORECASE)  # Azure IDs ignore case


def azure_types(resources: list[tuple[PolicyResource, dict[str, Any]]]) -> dict[str, str]:
    """Azure type (lower case) -> Pulumi type token, from each (resource, its outputs as plain data)."""
    found = {}
    for resource, outputs in resources:
        azure_type = outputs.get("type") if type(outputs.get("type")) is str else None
        if azure_type and AZURE_TYPE.fullmatch(azure_type) and resource.resource_type.count(":") == 2:
            found[azure_type.lower()] = resource.resource_type
    return found


def as_mock_ids(value: Any, types: dict[str, str]) -> Any:
    """`value` (plain data) with every Azure resource ID of a known type written as the mock runtime writes it."""
    if type(value) is dict:  # not a subclass: an unknown value (stack_graph.Unknown) is left as it is
        return {key: as_mock_ids(item, types) for key, item in value.items()}
    if type(value) is list:
        return [as_mock_ids(item, types) for item in value]
    if type(value) is str and value.lower().startswith("/subscriptions/") and types:
        return _PROVIDER_SEGMENT.sub(lambda match: _mock_segment(match, types), value)
    return value


def _mock_segment(match: re.Match[str], types: dict[str, str]) -> str:
    token = types.get(f"{match[1]}/{match[2]}".lower())
    if token is None:
        return match[0]
    module, kind = token.split(":")[1:]
    return f"/providers/{module}/{kind}/"
