"""The ARM id a resource of the program gets, from its type and its inputs, without asking Azure.

azure-native names a resource's path parameters after the REST API's (`resourceGroupName`,
`serverName`, `accountName`...), and drctl's names are deterministic (components/naming.py):
so the id of a create that an interrupted `pulumi up` left pending can be rebuilt from the
inputs the engine recorded for it (or the preview graph's). A parent segment's name is the
input its own type is named by (a container's `accountName` is the account's); a segment no
type owns is a singleton named `default` (a storage account's blobServices). A resource at a
`scope` (a role assignment) is an extension of that scope. Anything else gives no id, said so.
https://learn.microsoft.com/azure/azure-resource-manager/management/resource-name-rules
"""

from __future__ import annotations

import importlib
import inspect
import re
from collections.abc import Mapping
from functools import cache
from typing import Any

from components.registry import physical_name_inputs
from orchestrator.targets.azure.preflight.needs import ARM_TYPES

RESOURCE_GROUP = "azure-native:resources:ResourceGroup"
# Types the core program declares that preflight's table has no entry for, with their name input.
EXTRA_TYPES = {
    "azure-native:network:PrivateEndpoint": ("Microsoft.Network/privateEndpoints", "privateEndpointName"),
    "azure-native:network:PrivateDnsZoneGroup": ("Microsoft.Network/privateEndpoints/privateDnsZoneGroups",
                                                 "privateDnsZoneGroupName"),
}
# Child segments ARM has exactly one of, always named "default".
SINGLETONS = frozenset({"blobServices", "fileServices", "queueServices", "tableServices"})
_API_VERSION = re.compile(r"Uses Azure REST API version (\d{4}-\d{2}-\d{2}(?:-preview)?)\.")


def arm_type(type_token: str) -> str | None:
    """`Namespace/type[/child...]` of an azure-native type token."""
    return ARM_TYPES.get(type_token) or EXTRA_TYPES.get(type_token, (None, ""))[0]


@cache
def _names() -> dict[str, str]:
    """ARM type -> the input that carries the name of its last segment."""
    keys = {**physical_name_inputs(), **{token: key for token, (_, key) in EXTRA_TYPES.items()}}
    return {arm: keys[token] for token in keys if (arm := arm_type(token))}


def arm_id(type_token: str, inputs: Mapping[str, Any], subscription_id: str) -> str | None:
    """The resource's ARM id, or None when its type or a name it needs is not known."""
    full = arm_type(type_token)
    names = _names()
    if full is None or full not in names:
        return None
    name = _text(inputs.get(names[full]))
    if type_token == RESOURCE_GROUP:
        return f"/subscriptions/{subscription_id}/resourceGroups/{name}" if name else None
    namespace, *segments = full.split("/")
    scope = _text(inputs.get("scope"))
    if scope and len(segments) == 1 and name:
        return f"{scope.rstrip('/')}/providers/{namespace}/{segments[0]}/{name}"
    group = _text(inputs.get("resourceGroupName"))
    if not group or not name:
        return None
    path = []
    for depth, segment in enumerate(segments[:-1], start=1):
        parent = "/".join([namespace, *segments[:depth]])
        value = "default" if segment in SINGLETONS else _text(inputs.get(names.get(parent, "")))
        if not value:
            return None
        path.append(f"{segment}/{value}")
    path.append(f"{segments[-1]}/{name}")
    return f"/subscriptions/{subscription_id}/resourceGroups/{group}/providers/{namespace}/{'/'.join(path)}"


@cache
def provider_api_version(type_token: str) -> str | None:
    """The REST API version azure-native uses for the type: the one its own existence check reads
    with. The installed SDK says it in each resource's docstring ("Uses Azure REST API version
    2025-08-01."), and the SDK and its provider plugin are released together."""
    parts = type_token.split(":")
    if len(parts) != 3 or parts[0] != "azure-native":
        return None
    try:
        cls = getattr(importlib.import_module(f"pulumi_azure_native.{parts[1]}"), parts[2])
        source = inspect.getsource(cls)
    except (ImportError, AttributeError, OSError, TypeError):
        return None
    found = _API_VERSION.search(source)
    return found.group(1) if found else None


def _text(value: Any) -> str | None:
    return value if isinstance(value, str) and value else None
