"""Reading a resource's state from Azure Resource Manager, for checks that judge more than one resource
or a resource their own stack did not deploy (the region's Network Watcher, the owning stack's Traffic
Manager profile): a state on its way is worth another attempt, anything else is a verdict."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from smoke_tests.check import PermanentError, TransientError
from smoke_tests.probe import IN_PROGRESS, ServiceProbe

SUCCEEDED = frozenset({"Succeeded"})


def name_of(resource_id: str) -> str:
    return resource_id.rstrip("/").rsplit("/", 1)[-1]


def get_id(probe: ServiceProbe, resource_id: str, type_token: str) -> dict[str, Any]:
    """The ARM GET of a resource known by id (its API version from its Pulumi type, as for a recorded one)."""
    return probe.get({"id": resource_id, "type": type_token})


def judge(what: str, field: str, state: Any, evidence: Mapping[str, Any], want: frozenset[str] = SUCCEEDED,
          coming: frozenset[str] = IN_PROGRESS, hint: str = "") -> None:
    """Nothing when `state` is wanted; TransientError when it is on its way; PermanentError otherwise."""
    if state in want:
        return
    wanted = "/".join(sorted(want))
    if state in coming:
        raise TransientError(f"{what}: {field} {state}, not {wanted} yet")
    raise PermanentError(f"{what}: {field} {state}, not {wanted}{'; ' + hint if hint else ''}", dict(evidence))


def properties(got: Mapping[str, Any]) -> dict[str, Any]:
    return dict(got.get("properties") or {})


def same_id(left: Any, right: Any) -> bool:
    """ARM ids compare without regard to case (Azure returns resource group names as it likes)."""
    return isinstance(left, str) and isinstance(right, str) and left.rstrip("/").lower() == right.rstrip("/").lower()
