"""A test double at the HTTP boundary for the Azure SDKs, answering with the example payloads of
the public Azure REST API specifications (../shared/fixtures/azure-rest-api-specs, unmodified).

The SDK clients run for real (serialisation, pipeline, retry policy, polling); only the socket is
replaced: `ExampleTransport` is an azure-core RequestsTransport whose requests.Session has an
adapter that answers from routes instead of the network. Every request is recorded.
"""

from __future__ import annotations

import io
import json
import os
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import requests
import urllib3
from azure.core.credentials import AccessToken
from azure.core.pipeline.transport import RequestsTransport

# The reference material lives beside the repository (../shared), as on the developers' machines
# and in CI; DRCTL_SHARED_DIR points elsewhere when a checkout is laid out differently.
SHARED = Path(os.environ.get("DRCTL_SHARED_DIR") or Path(__file__).resolve().parents[2] / "shared")
SPECS = SHARED / "fixtures" / "azure-rest-api-specs"
SUBSCRIPTION = "00000000-0000-0000-0000-000000000000"
# CI sets it (.ci/run): there a missing example is a failure, never a quiet skip.
REQUIRE = "DRCTL_REQUIRE_SPEC_EXAMPLES"
MISSING = (f"the Azure REST API spec examples are not at {SPECS}: put a checkout of "
           "github.com/Azure/azure-rest-api-specs (its specification/ folder) there, or set DRCTL_SHARED_DIR to a "
           "folder with fixtures/azure-rest-api-specs; the tests that read them are skipped")


def examples_present() -> bool:
    return (SPECS / "specification").is_dir()


def example(path: str) -> dict[str, Any]:
    """An example file, by its repository path (INDEX.md; the leading specification/ optional).

    Without the examples, the test (or the module reading one at import) is skipped, unless
    DRCTL_REQUIRE_SPEC_EXAMPLES is set."""
    path = path if path.startswith("specification/") else f"specification/{path}"
    if not examples_present():
        if os.environ.get(REQUIRE):
            raise FileNotFoundError(f"{REQUIRE} is set and {MISSING.split(':')[0]}")
        pytest.skip(MISSING, allow_module_level=True)
    return json.loads((SPECS / path).read_text(encoding="utf-8-sig"))


def example_body(path: str, status: int = 200) -> Any:
    """The response body an example gives for `status`."""
    return example(path)["responses"][str(status)].get("body")


@dataclass
class Route:
    method: str
    path: str  # a regular expression matched against the URL path (no query)
    status: int = 200
    body: Any = None
    headers: dict[str, str] = field(default_factory=dict)
    # Optional: compute the answer from the request (e.g. a poll that changes state).
    respond: Callable[[requests.PreparedRequest], tuple[int, Any, dict[str, str]]] | None = None


class _Adapter(requests.adapters.BaseAdapter):
    def __init__(self, routes: list[Route], log: list[requests.PreparedRequest]) -> None:
        super().__init__()
        self.routes, self.log = routes, log

    def send(self, request, **kwargs):
        self.log.append(request)
        path = requests.utils.urlparse(request.url).path
        for route in self.routes:
            if route.method == request.method and re.fullmatch(route.path, path):
                status, body, headers = (
                    route.respond(request) if route.respond else (route.status, route.body, route.headers)
                )
                return _response(request, status, body, headers)
        return _response(
            request, 404, {"error": {"code": "NotFoundInTest", "message": f"no route for {request.method} {path}"}}, {}
        )

    def close(self) -> None:
        pass


def _response(request, status: int, body: Any, headers: dict[str, str]) -> requests.Response:
    response = requests.Response()
    response.status_code = status
    response.request = request
    response.url = request.url
    response.headers.update({"Content-Type": "application/json", **headers})
    # bytes as they are (a blob download), anything else as JSON
    content = b"" if body is None else body if isinstance(body, bytes) else json.dumps(body).encode()
    # azure-core reads the body through the urllib3 response, as it would from a socket.
    response.raw = urllib3.HTTPResponse(
        body=io.BytesIO(content), headers=dict(response.headers), status=status, preload_content=False,
        request_method=request.method,  # a HEAD answer has a Content-Length and, as on a socket, no body
    )
    response.encoding = "utf-8"
    return response


class ExampleTransport(RequestsTransport):
    """Pass as `transport=` to any azure-mgmt-* or data-plane client."""

    def __init__(self, routes: list[Route]) -> None:
        self.requests: list[requests.PreparedRequest] = []
        session = requests.Session()
        session.mount("https://", _Adapter(routes, self.requests))
        session.mount("http://", _Adapter(routes, self.requests))
        super().__init__(session=session, session_owner=False)


class FakeCredential:
    """A token credential that never reaches Entra ID."""

    def get_token(self, *scopes: str, **kwargs: Any) -> AccessToken:
        return AccessToken("fake-token-for-tests", 4102444800)

    def get_token_info(self, *scopes: str, **kwargs: Any):
        from azure.core.credentials import AccessTokenInfo

        return AccessTokenInfo("fake-token-for-tests", 4102444800)
