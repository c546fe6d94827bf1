"""The azure target's lake steps (lake_steps.py) without a storage emulator: which copy engine and
source they pick, and that data-plane refusals wait for role propagation and then name the role.

Management calls replay the REST spec examples through the real azure-mgmt-storage client; the
blob endpoints are real BlobServiceClients over tests/azure_fixtures.ExampleTransport answering
403 with Storage's documented x-ms-error-code (the spec examples hold no data-plane errors)."""

from __future__ import annotations

import dataclasses
import re
from pathlib import Path

import pytest
from azure.storage.blob import BlobServiceClient

from components.lake import LakeRestore
from orchestrator.model import PermanentError, Step, StepKind
from orchestrator.program.graph import Graph
from orchestrator.targets.azure.clients import AzureSession
from orchestrator.targets.azure.data_steps import AzureDataSteps
from orchestrator.targets.azure.lake_steps import LakeSteps, roles_assigned_upstream
from stacks.config import load_stack_config
from tests.azure_fixtures import SUBSCRIPTION, ExampleTransport, FakeCredential, Route, example_body

ROOT = Path(__file__).resolve().parents[4]
CAN_FAIL_OVER = ("storage/resource-manager/Microsoft.Storage/stable/2025-06-01/examples/"
                 "StorageAccountGetPropertiesGeoReplicationStatscanFailoverTrue.json")
PRIMARY = "contosolakeaue"
ARM_ACCOUNT = (f"/subscriptions/{SUBSCRIPTION}/resourceGroups/rg-contoso-data-aue/providers/Microsoft.Storage/"
               f"storageAccounts/{PRIMARY}")


class Clock:
    def __init__(self) -> None:
        self.now, self.slept = 0.0, []

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.now += seconds


class Context:
    def __init__(self, run_dir: Path, outputs: dict | None = None) -> None:
        self.run_dir, self.outputs = run_dir, outputs or {}

    def outputs_of(self, step_id: str) -> dict:
        if step_id not in self.outputs:
            raise KeyError(step_id)
        return self.outputs[step_id]


def refusing(endpoint: str, code: str, asked: list[str]) -> BlobServiceClient:
    """A blob endpoint that refuses every request with 403 `code`."""
    def respond(request):
        asked.append(request.url)
        return 403, None, {"x-ms-error-code": code}

    transport = ExampleTransport([Route("GET", ".*", respond=respond), Route("PUT", ".*", respond=respond)])
    return BlobServiceClient(endpoint, credential=FakeCredential(), transport=transport, retry_total=0)


def steps(tmp_path: Path, restore: LakeRestore, code: str = "AuthorizationPermissionMismatch"):
    base = load_stack_config(ROOT, "secondary")
    config = dataclasses.replace(base, restore=base.restore.model_copy(update={"lake": restore}))
    arm = ExampleTransport([Route("GET", re.escape(ARM_ACCOUNT), body=example_body(CAN_FAIL_OVER))])
    graph = Graph(stack="secondary", region=config.region, resources=[],
                  components=[{"urn": "urn:l", "type": "dataplatform:data:Lake", "name": "lake", "component": None}])
    asked: list[str] = []
    runner = AzureDataSteps(AzureSession(FakeCredential(), SUBSCRIPTION, transport=arm, retry_total=0), config, graph,
                            tmp_path, blob_service=lambda endpoint: refusing(endpoint, code, asked))
    clock, said = Clock(), []
    runner.lake = LakeSteps(runner, clock=clock, sleep=clock.sleep, say=said.append)
    return runner, clock, said, asked


def rehydrate(runner: AzureDataSteps, context: Context):
    return runner.run(Step(id="lake.rehydrate", component="lake", kind=StepKind.REHYDRATE, depends_on=(),
                           estimate_s=1), context)


def test_a_source_the_runner_has_no_role_on_yet_is_waited_for_then_named(tmp_path):
    runner, clock, said, asked = steps(tmp_path, LakeRestore(rolePropagationMinutes=3))
    with pytest.raises(PermanentError) as caught:
        rehydrate(runner, Context(tmp_path))
    assert sum(clock.slept) == 180 and len(asked) == len(clock.slept) + 1
    assert all(url.startswith(f"https://{PRIMARY}-secondary.blob.core.windows.net/") for url in asked)
    assert "lake manifest: still refused (AuthorizationPermissionMismatch) after waiting 3 min" in str(caught.value)
    assert caught.value.evidence["missing_role"] == f"Storage Blob Data Reader on {PRIMARY}"
    assert said and "waiting for role assignments to propagate" in said[0]


def test_authorization_failure_waits_only_after_a_role_assignment_upstream(tmp_path):
    runner, clock, _, _ = steps(tmp_path, LakeRestore(), code="AuthorizationFailure")
    with pytest.raises(PermanentError, match="AuthorizationFailure"):
        rehydrate(runner, Context(tmp_path))
    assert clock.slept == []  # a network refusal, as far as drctl can tell: fails at once
    assigned = {"lake.deploy": {"resources": [
        {"urn": "urn:ra", "type": "azure-native:authorization:RoleAssignment", "op": "create"}]}}
    runner, clock, _, _ = steps(tmp_path, LakeRestore(), code="AuthorizationFailure")
    with pytest.raises(PermanentError, match="after waiting 10 min"):
        rehydrate(runner, Context(tmp_path, assigned))
    assert sum(clock.slept) == 600


def test_role_assignments_count_only_when_created_or_replaced_upstream(tmp_path):
    role = {"type": "azure-native:authorization:RoleAssignment"}
    assert roles_assigned_upstream(Context(tmp_path, {"lake.deploy": {"resources": [{**role, "op": "replace"}]}}),
                                   ["foundation", "lake"])
    assert not roles_assigned_upstream(Context(tmp_path, {"lake.deploy": {"resources": [{**role, "op": "same"}]}}),
                                       ["lake"])
    assert not roles_assigned_upstream(Context(tmp_path, {"lake.deploy": {"resources": [{**role, "op": "create"}]}}),
                                       ["postgres"])  # not upstream: not asked

