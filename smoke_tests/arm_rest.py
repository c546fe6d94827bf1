"""Azure Resource Manager operations that no installed azure-mgmt package covers (IoT Hub's routing
health and registry statistics, Stream Analytics' test action, Azure Monitor metrics), sent through the
probe's own ResourceManagementClient (`send_request`): drctl's credential, the cloud's ARM endpoint, its
retry policy and, in tests, the example transport, as any SDK call of the probe has."""

from __future__ import annotations

import time
from collections.abc import Mapping
from typing import Any

from smoke_tests.check import PermanentError, TransientError
from smoke_tests.probe import ServiceProbe

# A long-running action (Stream Analytics' test) is polled this long at most: the check is then retried.
POLL_LIMIT_S = 120.0


def arm_json(probe: ServiceProbe, method: str, path: str, api_version: str | None, *,
             params: Mapping[str, str] | None = None, body: Any = None) -> Any:
    """The JSON ARM answers `method path` with; an accepted action (202) is polled at its Location.
    `api_version` None: the path is a link ARM gave (a nextLink), which carries its own."""
    query = {**({"api-version": api_version} if api_version else {}), **(params or {})}
    response = _send(probe, method, path, query, body)
    deadline = time.monotonic() + POLL_LIMIT_S
    while response.status_code == 202:
        # A POST action's result is at its Location (ARM's async pattern); it answers 202 until done.
        location = response.headers.get("Location")
        if not location or time.monotonic() > deadline:
            raise TransientError(f"{method} {path}: still running after {POLL_LIMIT_S:.0f} s")
        time.sleep(float(response.headers.get("Retry-After") or 5))
        response = _send(probe, "GET", location, None, None)
    return response.json() if response.content else None


def arm_list(probe: ServiceProbe, path: str, api_version: str) -> list[dict]:
    """Every item of a paged ARM list."""
    page = arm_json(probe, "GET", path, api_version) or {}
    items = list(page.get("value") or [])
    while page.get("nextLink"):
        page = arm_json(probe, "GET", str(page["nextLink"]), None) or {}
        items += page.get("value") or []
    return items


def _send(probe: ServiceProbe, method: str, url: str, params: Mapping[str, str] | None, body: Any) -> Any:
    from azure.core.rest import HttpRequest

    request = HttpRequest(method, url, params=dict(params or {}), json=body)
    response = probe.call(f"{method} {url}", probe.arm.send_request, request)
    status = response.status_code
    if status == 429 or status >= 500:
        raise TransientError(f"{method} {url}: HTTP {status}")
    if status >= 400:
        raise PermanentError(f"{method} {url}: HTTP {status}", {"status": status, "body": response.text()[:300]})
    return response


def resource_group_and_name(resource_id: str) -> tuple[str, str]:
    """(resource group, name) from an ARM id."""
    parts = resource_id.strip("/").split("/")
    lowered = [p.lower() for p in parts]
    try:
        group = parts[lowered.index("resourcegroups") + 1]
    except (ValueError, IndexError):
        raise PermanentError(f"{resource_id!r} is not a resource group's resource id") from None
    return group, parts[-1]
