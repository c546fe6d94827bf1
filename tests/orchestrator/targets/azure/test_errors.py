"""How the azure target judges an SDK error: retriable (TransientError, Retry-After kept) or
permanent (PermanentError, the service's code in the evidence). Errors come out of real clients
whose socket is tests/azure_fixtures.ExampleTransport: nothing leaves the process."""

from __future__ import annotations

import email.utils
import re
import time
from typing import ClassVar

import pytest
from azure.core.exceptions import (
    ClientAuthenticationError,
    HttpResponseError,
    IncompleteReadError,
    ServiceRequestError,
    ServiceResponseError,
)
from azure.identity import CredentialUnavailableError

from orchestrator.engine.retry import RetryPolicy
from orchestrator.model import PermanentError, TransientError
from orchestrator.targets.azure.clients import AzureSession
from orchestrator.targets.azure.errors import arm_errors, call, classify, is_retriable, wait_for
from tests.azure_fixtures import SUBSCRIPTION, ExampleTransport, FakeCredential, Route

RESOURCE = f"/subscriptions/{SUBSCRIPTION}/resourceGroups/rg/providers/Microsoft.KeyVault/vaults/kv"


def sdk_error(status: int, code: str | None = None, message: str = "refused", headers: dict | None = None) -> Exception:
    """The exception ResourceManagementClient raises for this answer (the real pipeline, no retry)."""
    body = {"error": {"code": code, "message": message}} if code else None
    transport = ExampleTransport([Route("GET", re.escape(RESOURCE), status=status, body=body, headers=headers or {})])
    client = AzureSession(FakeCredential(), SUBSCRIPTION, transport=transport, retry_total=0).resources()
    with pytest.raises(Exception) as caught:
        client.resources.get_by_id(RESOURCE, api_version="2024-11-01")
    return caught.value


@pytest.mark.parametrize("status", [408, 429, 500, 502, 503, 504])
def test_timeouts_throttling_and_server_errors_are_retriable(status):
    err = classify(sdk_error(status, "Whatever", headers={"Retry-After": "12"}), "get kv")
    assert isinstance(err, TransientError) and err.retry_after_s == 12.0
    assert str(err).startswith("get kv: ")


def test_retry_after_in_milliseconds_and_as_a_date_are_honoured():
    err = classify(sdk_error(429, "TooManyRequests", headers={"x-ms-retry-after-ms": "750", "Retry-After": "30"}))
    assert err.retry_after_s == 0.75  # the precise header wins
    when = email.utils.formatdate(time.time() + 120, usegmt=True)
    err = classify(sdk_error(503, "ServerBusy", headers={"Retry-After": when}))
    assert 100 < err.retry_after_s <= 120


@pytest.mark.parametrize("status, code", [(400, "InvalidParameter"), (403, "AuthorizationFailed"),
                                          (404, "ResourceNotFound"), (409, "Conflict")])
def test_client_errors_are_permanent_with_the_service_code_in_the_evidence(status, code):
    err = classify(sdk_error(status, code, message=f"{code} happened"), "get kv")
    assert isinstance(err, PermanentError)
    expected = {"what": "get kv", "status": status, "error_code": code, "message": f"{code} happened"}
    if status == 403:  # an authorization refusal also says who refused (for the role it lacks)
        expected["host"] = "management.azure.com"
    assert err.evidence == expected


@pytest.mark.parametrize("status, code, message", [
    (409, "AnotherOperationInProgress", "Another operation on this or dependent resource is in progress."),
    (400, "SubscriptionRequestsThrottled", "Number of requests for subscription exceeded the limit."),
    (409, "OperationNotAllowed", "Another operation is in progress on the server; retry later."),
    (412, "PreconditionFailed", "There is already an operation in progress which requires exclusive lock."),
])
def test_throttling_and_busy_codes_are_retriable_whatever_the_status(status, code, message):
    assert isinstance(classify(sdk_error(status, code, message)), TransientError)


def test_operation_not_allowed_for_quota_is_permanent():
    err = classify(sdk_error(409, "OperationNotAllowed", "Operation could not be completed as it results in "
                                                          "exceeding approved Total Regional Cores quota."))
    assert isinstance(err, PermanentError) and err.evidence["error_code"] == "OperationNotAllowed"


def test_a_storage_error_code_comes_from_its_header():
    class _Response:
        status_code, reason, request = 403, "Forbidden", None
        headers: ClassVar[dict[str, str]] = {"x-ms-error-code": "AuthorizationPermissionMismatch"}

        def text(self, encoding=None) -> str:
            return ""

        def body(self) -> bytes:
            return b""

    err = classify(HttpResponseError(message="This request is not authorized", response=_Response()))
    assert isinstance(err, PermanentError) and err.evidence["error_code"] == "AuthorizationPermissionMismatch"
    _Response.status_code, _Response.headers = 503, {"x-ms-error-code": "ServerBusy"}
    assert isinstance(classify(HttpResponseError(message="busy", response=_Response())), TransientError)


@pytest.mark.parametrize("error", [ServiceRequestError("connection refused"), ServiceResponseError("reset"),
                                   IncompleteReadError("body cut short"), ConnectionResetError("reset"),
                                   TimeoutError("timed out")])
def test_connection_failures_are_retriable(error):
    assert isinstance(classify(error), TransientError)


def test_no_credential_and_bugs_are_permanent():
    for error in (CredentialUnavailableError("no credential in the environment"),
                  ClientAuthenticationError("AADSTS7000215: invalid client secret"), ValueError("a bug")):
        assert isinstance(classify(error), PermanentError)
    with pytest.raises(PermanentError), arm_errors("token"):
        raise CredentialUnavailableError("no credential in the environment")


def test_secrets_in_errors_are_redacted_everywhere():
    url = "https://a.blob.core.windows.net/raw/x?sv=2025&sp=r&sig=VERYSECRET%3D"
    err = classify(sdk_error(403, "AuthenticationFailed", message=f"copy source {url} refused"), "copy")
    assert "VERYSECRET" not in str(err) and "VERYSECRET" not in str(err.evidence)
    err = classify(ServiceRequestError(f"Max retries exceeded with url: {url}"))
    assert "VERYSECRET" not in str(err)


def test_call_classifies_and_the_retry_policy_accepts_raw_errors():
    with pytest.raises(TransientError):
        call("get", lambda: (_ for _ in ()).throw(ServiceRequestError("refused")))
    assert call("add", lambda a, b: a + b, 1, b=2) == 3
    policy = RetryPolicy(classifier=is_retriable)
    assert policy.is_transient(sdk_error(429, "TooManyRequests"))
    assert not policy.is_transient(sdk_error(404, "ResourceNotFound"))


class _Poller:
    def __init__(self, done: bool, error: Exception | None = None) -> None:
        self._done, self._error, self.waited = done, error, None

    def result(self, timeout=None):
        self.waited = timeout
        if self._error:
            raise self._error
        return "result" if self._done else None

    def done(self) -> bool:
        return self._done

    def status(self) -> str:
        return "Succeeded" if self._done else "InProgress"


def test_waiting_on_a_long_running_operation_is_bounded():
    assert wait_for("failover", _Poller(True), 5) == "result"
    poller = _Poller(False)
    with pytest.raises(TransientError, match="still running after 5s"):
        wait_for("failover", poller, 5)
    assert poller.waited == 5
    with pytest.raises(PermanentError):
        wait_for("failover", _Poller(True, sdk_error(400, "BadRequest")), 5)
