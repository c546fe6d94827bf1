"""ARM calls for which drctl has no management SDK installed (Key Vault, Authorization).

azure-mgmt-keyvault and azure-mgmt-authorization are not dependencies of drctl; these few read-only
calls go through the resource client's own pipeline instead (`send_request`): the same credential,
bearer-token policy, retries and transport as every other preflight call, and the same errors
(ResourceNotFoundError for a 404, HttpResponseError with the ARM error code otherwise).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from orchestrator.targets.azure.clients import AzureSession


def arm_json(session: AzureSession, method: str, path: str, api_version: str, body: Any = None) -> Any:
    """The JSON answer of one ARM request on `path` (relative to the session's endpoint)."""
    from azure.core.rest import HttpRequest

    request = HttpRequest(method, path, params={"api-version": api_version}, json=body)
    return _answer(session, request)


def arm_pages(session: AzureSession, path: str, api_version: str) -> Iterator[dict[str, Any]]:
    """The items of a paged ARM list (`value`, followed through `nextLink`)."""
    from azure.core.rest import HttpRequest

    request = HttpRequest("GET", path, params={"api-version": api_version})
    while True:
        page = _answer(session, request) or {}
        yield from page.get("value") or []
        next_link = page.get("nextLink")
        if not next_link:
            return
        # A nextLink carries its own query (api-version, skip token) and may be relative.
        request = HttpRequest("GET", next_link)


def _answer(session: AzureSession, request: Any) -> Any:
    from azure.core.exceptions import (
        ClientAuthenticationError,
        HttpResponseError,
        ResourceExistsError,
        ResourceNotFoundError,
        map_error,
    )
    from azure.mgmt.core.exceptions import ARMErrorFormat

    response = session.resources().send_request(request)
    if not 200 <= response.status_code < 300:
        errors = {401: ClientAuthenticationError, 404: ResourceNotFoundError, 409: ResourceExistsError}
        map_error(status_code=response.status_code, response=response, error_map=errors)
        raise HttpResponseError(response=response, error_format=ARMErrorFormat)
    return response.json() if response.content else None
