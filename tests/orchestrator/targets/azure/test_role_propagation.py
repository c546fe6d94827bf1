"""Waiting for role assignments to propagate: a Storage 403 AuthorizationPermissionMismatch is retried
for a bounded time, then fails naming the missing role. The refusals come out of a real
BlobServiceClient whose socket is tests/azure_fixtures.ExampleTransport; the REST spec examples hold
no data-plane error payloads, so the routes answer with the status and x-ms-error-code header
Storage documents (https://learn.microsoft.com/rest/api/storageservices/blob-service-error-codes).
The clock is the test's: nothing sleeps."""

from __future__ import annotations

import pytest
from azure.storage.blob import BlobServiceClient

from orchestrator.data.errors import azure_errors
from orchestrator.model import PermanentError
from orchestrator.targets.azure.role_propagation import RolePropagation
from tests.azure_fixtures import ExampleTransport, FakeCredential, Route

HOST = "contosolakease.blob.core.windows.net"
ROLE = "Storage Blob Data Contributor on contosolakease"


def container_creator(answers: list[str]):
    """create_container on a client whose service answers `answers` in turn (an error code, or "ok")."""
    left = list(answers)

    def respond(request):
        code = left.pop(0) if len(left) > 1 else left[0]
        return (201, None, {}) if code == "ok" else (403, None, {"x-ms-error-code": code})

    transport = ExampleTransport([Route("PUT", "/raw", respond=respond)])
    service = BlobServiceClient(f"https://{HOST}", credential=FakeCredential(), transport=transport, retry_total=0)

    def create() -> str:
        with azure_errors("lake rehydration"):
            service.create_container("raw")
        return "created"

    return create, transport


class Clock:
    def __init__(self) -> None:
        self.now, self.slept = 1000.0, []

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.now += seconds


def waiter(clock: Clock, said: list[str], **kwargs) -> RolePropagation:
    return RolePropagation(roles={HOST: ROLE}, clock=clock, sleep=clock.sleep, say=said.append, **kwargs)


def test_a_permission_mismatch_is_waited_out_with_backoff_then_succeeds():
    create, transport = container_creator(["AuthorizationPermissionMismatch"] * 3 + ["ok"])
    clock, said = Clock(), []
    assert waiter(clock, said).run("lake rehydration", create) == "created"
    assert len(transport.requests) == 4
    assert clock.slept == [10.0, 20.0, 40.0]
    assert len(said) == 3 and all("waiting for role assignments to propagate" in line for line in said)
    assert ROLE in said[0] and HOST in said[0]


def test_past_the_bound_it_fails_naming_the_missing_role():
    create, transport = container_creator(["AuthorizationPermissionMismatch"])
    clock, said = Clock(), []
    with pytest.raises(PermanentError) as caught:
        waiter(clock, said, timeout_s=600).run("lake rehydration", create)
    assert sum(clock.slept) == 600 and max(clock.slept) == 60  # bounded, backing off to a minute
    assert "after waiting 10 min" in str(caught.value) and f"lacks {ROLE}" in str(caught.value)
    assert caught.value.evidence["missing_role"] == ROLE and caught.value.evidence["host"] == HOST
    assert caught.value.evidence["error_code"] == "AuthorizationPermissionMismatch"
    assert len(transport.requests) == len(clock.slept) + 1


def test_the_bound_is_configurable_and_zero_turns_the_wait_off():
    create, _ = container_creator(["AuthorizationPermissionMismatch"])
    clock = Clock()
    with pytest.raises(PermanentError) as caught:
        waiter(clock, [], timeout_s=0).run("lake rehydration", create)
    assert clock.slept == [] and "missing_role" not in caught.value.evidence


def test_authorization_failure_is_waited_out_only_right_after_a_role_assignment():
    # AuthorizationFailure is also a storage firewall's answer: without a fresh assignment, at once.
    create, transport = container_creator(["AuthorizationFailure"])
    clock = Clock()
    with pytest.raises(PermanentError):
        waiter(clock, []).run("lake rehydration", create)
    assert clock.slept == [] and len(transport.requests) == 1
    create, _ = container_creator(["AuthorizationFailure", "ok"])
    assert waiter(clock, [], after_role_assignment=True).run("lake rehydration", create) == "created"
    assert clock.slept == [10.0]


@pytest.mark.parametrize("code", ["AuthenticationFailed", "InsufficientAccountPermissions", "ContainerBeingDeleted"])
def test_other_refusals_are_not_waited_for(code):
    create, transport = container_creator([code])
    clock = Clock()
    with pytest.raises(PermanentError):
        waiter(clock, [], after_role_assignment=True).run("lake rehydration", create)
    assert clock.slept == [] and len(transport.requests) == 1


def test_a_refusing_host_without_a_known_role_is_named_as_it_is():
    create, _ = container_creator(["AuthorizationPermissionMismatch"])
    clock = Clock()
    with pytest.raises(PermanentError, match=f"a Storage Blob Data role on the account at {HOST}"):
        RolePropagation(timeout_s=30, clock=clock, sleep=clock.sleep, say=lambda _: None).run("x", create)
