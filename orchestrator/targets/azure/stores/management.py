"""Smoke checks on Azure, management plane: every deployed resource of a component exists and
reports provisioningState Succeeded.

One generic call serves every type: `ResourceManagementClient.resources.get_by_id(id,
api_version=...)`. Since azure-mgmt-resource 26 the api-version is keyword-only and required, and
it must be one the resource type supports. drctl asks each resource with the API version Pulumi
deployed it with: the azure-native provider's default version for that type, which the installed
pulumi_azure_native package states in each resource class ("Uses Azure REST API version ...").
A resource whose type Pulumi does not know (or whose class says nothing) falls back to the newest
stable version its resource provider lists (`providers.get(namespace)`), asked once per namespace.

A resource in a terminal state other than Succeeded (Failed, Canceled, Deleting) fails the smoke
step at once (PermanentError naming it); one still on its way (Creating, Updating, ...) is worth
another attempt (TransientError); throttling and 5xx are transient (orchestrator/data/errors.py).
A type with no provisioningState (a blob container, a Data Factory pipeline) passes on existing.
"""

from __future__ import annotations

import importlib
import inspect
import re
import threading
from collections.abc import Iterable
from functools import cache
from typing import Any

from orchestrator.model import PermanentError, TransientError
from orchestrator.targets.azure.errors import arm_errors

_API_VERSION = re.compile(r"Uses Azure REST API version ([0-9]{4}-[0-9]{2}-[0-9]{2}(?:-[A-Za-z]+)?)\.")
IN_PROGRESS = frozenset({"Accepted", "Creating", "Updating", "Provisioning", "Migrating", "Upgrading",
                         "Scaling", "Starting", "Restarting", "Resuming", "Registering"})


@cache
def pulumi_api_version(type_token: str) -> str | None:
    """The REST API version the installed pulumi-azure-native deploys `type_token` with
    ("azure-native:keyvault:Vault" -> "2024-11-01"), or None when the package does not say."""
    parts = type_token.split(":")
    if len(parts) != 3 or parts[0] != "azure-native":
        return None
    _, module, name = parts
    try:
        cls = getattr(importlib.import_module(f"pulumi_azure_native.{module.replace('/', '.')}"), name)
        with open(inspect.getsourcefile(cls) or "", encoding="utf-8") as fh:
            match = _API_VERSION.search(fh.read())
    except (ImportError, AttributeError, OSError, TypeError):
        return None
    return match.group(1) if match else None


def arm_type(resource_id: str) -> tuple[str, str]:
    """(namespace, type) of an ARM id: ".../providers/Microsoft.Storage/storageAccounts/a/blobServices/default"
    -> ("Microsoft.Storage", "storageAccounts/blobServices"). The last provider segment wins
    (extension resources such as role assignments live under another resource's id)."""
    segments = [s for s in resource_id.strip("/").split("/") if s]
    lowered = [s.lower() for s in segments]
    if "providers" not in lowered:
        if len(segments) == 4 and lowered[0] == "subscriptions" and lowered[2] == "resourcegroups":
            return "Microsoft.Resources", "resourceGroups"
        if len(segments) == 2 and lowered[0] == "subscriptions":
            return "Microsoft.Resources", "subscriptions"
        raise ValueError(f"not an ARM resource id: {resource_id}")
    start = len(lowered) - 1 - lowered[::-1].index("providers")
    namespace, rest = segments[start + 1], segments[start + 2:]
    if not rest or len(rest) % 2:
        raise ValueError(f"not an ARM resource id: {resource_id}")
    return namespace, "/".join(rest[0::2])


def is_arm_id(value: Any) -> bool:
    return isinstance(value, str) and value.lower().startswith(("/subscriptions/", "/providers/"))


class ApiVersions:
    """api-version per resource: recorded by the deploy, else Pulumi's default, else the provider's."""

    def __init__(self, resources_client: Any = None) -> None:
        self.resources_client = resources_client
        self._providers: dict[str, dict[str, list[str]]] = {}
        self._lock = threading.Lock()

    def for_resource(self, resource_id: str, type_token: str | None = None, recorded: str | None = None) -> tuple[str, str]:
        """(api version, where it came from)."""
        if recorded:
            return recorded, "recorded by the deploy"
        if type_token and (version := pulumi_api_version(type_token)):
            return version, "pulumi-azure-native default"
        namespace, kind = arm_type(resource_id)
        versions = self._provider_types(namespace).get(kind.lower(), [])
        stable = [v for v in versions if "preview" not in v.lower()] or versions
        if not stable:
            raise PermanentError(f"no API version known for {namespace}/{kind} ({resource_id})")
        return sorted(stable, reverse=True)[0], f"newest listed by {namespace}"

    def _provider_types(self, namespace: str) -> dict[str, list[str]]:
        with self._lock:
            if namespace not in self._providers:
                if self.resources_client is None:
                    raise PermanentError(f"no API version known for a {namespace} resource, and no client to ask")
                with arm_errors(f"resource provider {namespace}"):
                    provider = self.resources_client.providers.get(namespace)
                self._providers[namespace] = {t.resource_type.lower(): list(t.api_versions or [])
                                              for t in provider.resource_types or []}
            return self._providers[namespace]


def _state(resource: Any) -> str | None:
    properties = getattr(resource, "properties", None)
    if isinstance(properties, dict):
        return properties.get("provisioningState") or properties.get("provisioning_state")
    return getattr(properties, "provisioning_state", None)


def check_provisioning(resources_client: Any, deployed: Iterable[dict], api_versions: ApiVersions | None = None) -> dict:
    """Each deployed resource ({"id", "type", optionally "urn", "api_version"}) by id. Returns
    evidence; raises PermanentError naming every resource that failed, or TransientError when
    one is still in progress (checked after all: the evidence then names them all)."""
    api_versions = api_versions or ApiVersions(resources_client)
    checked, failed, pending = [], [], []
    for item in deployed:
        resource_id, token = item["id"], item.get("type")
        version, source = api_versions.for_resource(resource_id, token, item.get("api_version"))
        entry: dict[str, Any] = {"id": resource_id, "type": token, "api_version": version, "api_version_from": source}
        try:
            with arm_errors(f"get {resource_id}"):
                resource = resources_client.resources.get_by_id(resource_id, api_version=version)
        except PermanentError as err:  # e.g. 404: the deploy said it made it, Azure does not know it
            entry.update(ok=False, error=str(err), error_code=(err.evidence or {}).get("error_code"))
            failed.append(entry)
            checked.append(entry)
            continue
        state = _state(resource)
        entry["provisioning_state"] = state
        if state is None:
            entry.update(ok=True, note="exists; this type reports no provisioningState")
        elif state == "Succeeded":
            entry["ok"] = True
        elif state in IN_PROGRESS:
            entry["ok"] = False
            pending.append(entry)
        else:
            entry["ok"] = False
            failed.append(entry)
        checked.append(entry)
    evidence = {"check": "provisioningState Succeeded", "resources": checked, "checked": len(checked)}
    if failed:
        names = ", ".join(f"{e['id'].rsplit('/', 1)[-1]} ({e.get('provisioning_state') or e.get('error_code') or 'error'})"
                          for e in failed)
        raise PermanentError(f"not provisioned: {names}", {**evidence, "failed": [e["id"] for e in failed]})
    if pending:
        names = ", ".join(f"{e['id'].rsplit('/', 1)[-1]} ({e['provisioning_state']})" for e in pending)
        raise TransientError(f"still provisioning: {names}")
    return evidence
