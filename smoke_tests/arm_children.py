"""The child resources Azure Resource Manager lists under a deployed resource (an Azure Machine
Learning workspace's models, an AI Services account's model deployments), for the services whose
management SDK drctl does not install.

The GET `{parent id}/{child}?api-version=...` goes through the probe's Resource Manager client
(`send_request`), so the session's cloud, credential, retry policy and, in tests, transport apply
as they do to every other ARM call; ARM pages long lists with an absolute `nextLink`.
"""

from __future__ import annotations

from typing import Any

from smoke_tests.check import PermanentError
from smoke_tests.probe import ServiceProbe

# A workspace's models or an account's deployments fill a page or two; more than this is a loop.
MAX_PAGES = 50


def list_children(probe: ServiceProbe, parent_id: str, child: str, api_version: str) -> list[dict[str, Any]]:
    """Every `child` resource of `parent_id`, as ARM returns them (name, properties, sku...)."""
    from azure.core.rest import HttpRequest

    url, params = f"{parent_id}/{child}", {"api-version": api_version}
    found: list[dict[str, Any]] = []
    for _ in range(MAX_PAGES):
        body = probe.call(f"list {child} of {parent_id}", _json, probe.arm, HttpRequest("GET", url, params=params))
        found += [item for item in (body or {}).get("value") or [] if isinstance(item, dict)]
        next_link = (body or {}).get("nextLink")
        if not next_link:
            return found
        url, params = str(next_link), {}  # the link carries its own api-version and skip token
    raise PermanentError(f"list {child} of {parent_id}: more than {MAX_PAGES} pages", {"listed": len(found)})


def _json(arm: Any, request: Any) -> Any:
    response = arm.send_request(request)
    # An ARM error (403 AuthorizationFailed, 404 ResourceNotFound, 429) as an HttpResponseError: the
    # probe's call() judges it as it judges an SDK's.
    response.raise_for_status()
    return response.json() if response.content else None
