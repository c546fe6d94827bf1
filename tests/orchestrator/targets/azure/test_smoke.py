"""Smoke checks on Azure, management plane, and the azure target's step dispatch.

The specs have no example for Resources_GetById, so the resource bodies of the resource-type GET
examples (ResourceGroups_Get, Vaults_Get, Factories_Get, Workspaces_Get) are served at the
get-by-id path of each resource's own id: the body get-by-id returns is the resource's ARM body.
ResourceManagementClient runs for real; only the socket is replaced. Nothing leaves the process.
"""

from __future__ import annotations

import copy
import dataclasses
import json
import re
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest

from components.network_watcher import watcher_id
from orchestrator.model import GateWaiting, PermanentError, Step, StepKind, TransientError
from orchestrator.program.graph import Graph
from orchestrator.targets.azure.clients import AzureSession
from orchestrator.targets.azure.data_steps import NOT_YET, REPLAY_NOT_YET, AzureDataSteps
from orchestrator.targets.azure.stores.management import ApiVersions, arm_type, check_provisioning, pulumi_api_version
from smoke_tests.check import Check
from stacks.config import load_stack_config
from tests.azure_fixtures import SUBSCRIPTION, ExampleTransport, FakeCredential, Route, example_body

RG = "resources/resource-manager/Microsoft.Resources/resources/examples/2025-04-01/ResourceGroups_Get.json"
VAULT = "keyvault/resource-manager/Microsoft.KeyVault/KeyVault/stable/2026-02-01/examples/getVault.json"
FACTORY = "datafactory/resource-manager/Microsoft.DataFactory/DataFactory/stable/2018-06-01/examples/Factories_Get.json"
WORKSPACE = "databricks/resource-manager/Microsoft.Databricks/stable/2024-05-01/examples/WorkspaceGet.json"
PROVIDER = "resources/resource-manager/Microsoft.Resources/resources/examples/2025-04-01/GetProvider.json"
TYPES = {RG: "azure-native:resources:ResourceGroup", VAULT: "azure-native:keyvault:Vault",
         FACTORY: "azure-native:datafactory:Factory", WORKSPACE: "azure-native:databricks:Workspace"}
REPO = Path(__file__).resolve().parents[4]


def by_id(body: dict, status: int = 200, headers: dict | None = None) -> Route:
    """The resource's body at GET {its id}: what resources.get_by_id asks for."""
    return Route("GET", re.escape(body["id"]), status=status, body=body, headers=headers or {})


def session(*routes: Route) -> tuple[AzureSession, ExampleTransport]:
    transport = ExampleTransport(list(routes))
    return AzureSession(FakeCredential(), SUBSCRIPTION, transport=transport, retry_total=0), transport


def deployed(*paths: str, bodies: dict | None = None) -> list[dict]:
    bodies = bodies or {}
    return [{"id": (bodies.get(p) or example_body(p))["id"], "type": TYPES[p], "urn": f"urn:{p}"} for p in paths]


def api_version_of(request) -> str:
    return parse_qs(urlsplit(request.url).query)["api-version"][0]


# -- provisioningState -------------------------------------------------------------------------------
def test_every_resource_succeeded_is_a_pass_with_the_pulumi_api_version_per_type():
    s, transport = session(*(by_id(example_body(p)) for p in TYPES))
    evidence = check_provisioning(s.resources(), deployed(*TYPES))
    assert evidence["checked"] == 4 and all(r["ok"] for r in evidence["resources"])
    assert {r["provisioning_state"] for r in evidence["resources"]} == {"Succeeded"}
    # the versions pulumi-azure-native 3.29 deploys these types with (its class docstrings)
    assert [api_version_of(r) for r in transport.requests] == ["2024-03-01", "2024-11-01", "2018-06-01", "2026-01-01"]
    assert {urlsplit(r.url).netloc for r in transport.requests} == {"management.azure.com"}


def test_a_failed_resource_is_permanent_and_named():
    vault = copy.deepcopy(example_body(VAULT))
    vault["properties"]["provisioningState"] = "Failed"
    s, _ = session(by_id(example_body(RG)), by_id(vault))
    with pytest.raises(PermanentError, match=r"not provisioned: sample-vault \(Failed\)") as caught:
        check_provisioning(s.resources(), deployed(RG, VAULT, bodies={VAULT: vault}))
    assert caught.value.evidence["failed"] == [vault["id"]]
    assert [r["ok"] for r in caught.value.evidence["resources"]] == [True, False]


def test_a_resource_still_updating_is_retriable():
    factory = copy.deepcopy(example_body(FACTORY))
    factory["properties"]["provisioningState"] = "Updating"
    s, _ = session(by_id(factory))
    with pytest.raises(TransientError, match="still provisioning: exampleFactoryName"):
        check_provisioning(s.resources(), deployed(FACTORY, bodies={FACTORY: factory}))


@pytest.mark.parametrize("status, headers, retry_after", [(429, {"Retry-After": "9"}, 9.0), (503, {}, None)])
def test_throttling_and_unavailability_are_retriable(status, headers, retry_after):
    error = {"error": {"code": "TooManyRequests" if status == 429 else "ServiceUnavailable", "message": "later"}}
    s, _ = session(Route("GET", re.escape(example_body(VAULT)["id"]), status=status, body=error, headers=headers))
    with pytest.raises(TransientError) as caught:
        check_provisioning(s.resources(), deployed(VAULT))
    assert caught.value.retry_after_s == retry_after


def test_a_resource_azure_does_not_know_is_permanent_with_its_code():
    s, _ = session()  # no route: the double answers 404 NotFoundInTest
    with pytest.raises(PermanentError) as caught:
        check_provisioning(s.resources(), deployed(WORKSPACE))
    assert caught.value.evidence["resources"][0]["error_code"] == "NotFoundInTest"


def test_a_type_without_provisioning_state_passes_on_existing():
    body = {"id": f"/subscriptions/{SUBSCRIPTION}/resourceGroups/rg/providers/Microsoft.Storage/storageAccounts/a"
                  "/blobServices/default/containers/raw", "name": "raw", "properties": {"publicAccess": "None"}}
    s, transport = session(by_id(body))
    evidence = check_provisioning(s.resources(), [{"id": body["id"], "type": "azure-native:storage:BlobContainer"}])
    assert evidence["resources"][0]["ok"] and "no provisioningState" in evidence["resources"][0]["note"]
    assert api_version_of(transport.requests[0]) == "2024-01-01"


def test_types_pulumi_does_not_know_ask_their_provider_once_per_namespace():
    provider = example_body(PROVIDER)
    ids = [f"/subscriptions/{SUBSCRIPTION}/resourceGroups/rg/providers/Microsoft.TestRP1/TestResourceType/{n}"
           for n in ("one", "two")]
    s, transport = session(Route("GET", f"/subscriptions/{SUBSCRIPTION}/providers/Microsoft.TestRP1", body=provider),
                           *(by_id({"id": i, "properties": {"provisioningState": "Succeeded"}}) for i in ids))
    evidence = check_provisioning(s.resources(), [{"id": i, "type": None} for i in ids], ApiVersions(s.resources()))
    assert [r["api_version"] for r in evidence["resources"]] == ["2018-01-01", "2018-01-01"]
    assert sum("/providers/Microsoft.TestRP1?" in r.url for r in transport.requests) == 1


def test_a_version_recorded_by_the_deploy_wins():
    s, transport = session(by_id(example_body(VAULT)))
    check_provisioning(s.resources(), [{"id": example_body(VAULT)["id"], "type": TYPES[VAULT], "api_version": "2023-07-01"}])
    assert api_version_of(transport.requests[0]) == "2023-07-01"


def test_arm_types_and_pulumi_versions():
    assert arm_type("/subscriptions/s/resourceGroups/rg") == ("Microsoft.Resources", "resourceGroups")
    assert arm_type("/subscriptions/s/resourceGroups/rg/providers/Microsoft.Storage/storageAccounts/a/blobServices/"
                    "default/containers/c") == ("Microsoft.Storage", "storageAccounts/blobServices/containers")
    assert arm_type("/subscriptions/s/resourceGroups/rg/providers/Microsoft.Storage/storageAccounts/a/providers/"
                    "Microsoft.Authorization/roleAssignments/x") == ("Microsoft.Authorization", "roleAssignments")
    with pytest.raises(ValueError):
        arm_type("/subscriptions/s/resourceGroups/rg/providers/Microsoft.Storage/storageAccounts")
    assert pulumi_api_version("azure-native:dbforpostgresql:Server") == "2025-08-01"
    assert pulumi_api_version("azure-native:nosuchmodule:Thing") is None and pulumi_api_version("random:x:Y") is None


# -- the step dispatch -------------------------------------------------------------------------------
class Context:
    def __init__(self, run_dir: Path, outputs: dict | None = None) -> None:
        self.run_dir, self.outputs = run_dir, outputs or {}

    def outputs_of(self, step_id: str) -> dict:
        return self.outputs.get(step_id, {})


FOUNDATION_URN = "urn:pulumi:secondary::dataplatform::dataplatform:foundation:Foundation$azure-native:resources:ResourceGroup::rg"


def steps(tmp_path: Path, *routes: Route) -> tuple[AzureDataSteps, ExampleTransport]:
    config = load_stack_config(REPO, "secondary")
    graph = Graph(stack="secondary", region=config.region,
                  resources=[{"urn": FOUNDATION_URN, "type": TYPES[RG], "name": "rg", "physical_name": "my-resource-group",
                              "location": config.region, "component": "foundation"}],
                  components=[{"urn": "urn:f", "type": "dataplatform:foundation:Foundation", "name": "foundation",
                               "component": None},
                              {"urn": "urn:l", "type": "dataplatform:data:Lake", "name": "lake", "component": None},
                              {"urn": "urn:d", "type": "dataplatform:data:DataFactory", "name": "data_factory",
                               "component": None}])
    s, transport = session(*routes)
    return AzureDataSteps(s, config, graph, tmp_path), transport


def step(component: str, kind: StepKind) -> Step:
    return Step(id=f"{component}.{kind}", component=component, kind=kind, depends_on=(), estimate_s=1)


def declared_only(profile):
    """The profile with its checks declared, none implemented: a test of the step's management-plane
    sweep alone (foundation's own checks are tested in tests/smoke_tests/test_foundation.py)."""
    return dataclasses.replace(profile, checks=tuple(dataclasses.replace(c, function=None, runs_on=frozenset())
                                                     for c in profile.checks))


def test_smoke_checks_what_the_deploy_recorded(tmp_path):
    rg = example_body(RG)
    runner, transport = steps(tmp_path, by_id(rg))
    runner.profiles["foundation"] = declared_only(runner.profiles["foundation"])
    context = Context(tmp_path, {"foundation.deploy": {"resources": [
        {"urn": FOUNDATION_URN, "type": TYPES[RG], "id": rg["id"]},
        {"urn": "urn:pulumi:secondary::dataplatform::pulumi:providers:azure-native::default", "type": "x", "id": "abc"}]}})
    outcome = runner.run(step("foundation", StepKind.SMOKE), context)
    assert outcome.exercised and outcome.evidence["management_plane"]["checked"] == 1
    assert outcome.evidence["not_exercised"] == [c.name for c in runner.profiles["foundation"].smoke_checks]
    assert len(transport.requests) == 1


def test_smoke_without_recorded_resources_is_permanent(tmp_path):
    runner, transport = steps(tmp_path)
    with pytest.raises(PermanentError, match="recorded no resource ids"):
        runner.run(step("foundation", StepKind.SMOKE), Context(tmp_path))
    with pytest.raises(PermanentError, match=r"1 resource\(s\) of the program not deployed") as caught:
        runner.run(step("foundation", StepKind.SMOKE), Context(tmp_path, {"foundation.deploy": {"resources": []}}))
    assert caught.value.evidence["missing_urns"] == [FOUNDATION_URN]
    failed = {"resources": [{"urn": FOUNDATION_URN, "type": TYPES[RG], "id": None, "status": "failed"}]}
    with pytest.raises(PermanentError, match="1 failed") as caught:
        runner.run(step("foundation", StepKind.SMOKE), Context(tmp_path, {"foundation.deploy": failed}))
    assert caught.value.evidence["failed_urns"] == [FOUNDATION_URN]
    assert transport.requests == []


def test_steps_without_an_azure_implementation_are_not_exercised(tmp_path):
    runner, transport = steps(tmp_path)
    factory = runner.profiles["data_factory"]  # its checks as declared only: none implemented for Azure
    runner.profiles["data_factory"] = dataclasses.replace(
        factory, checks=tuple(Check(c.component, c.name, c.kind) for c in factory.checks))
    context = Context(tmp_path)
    smoke = runner.run(step("data_factory", StepKind.SMOKE), context)  # no resources in this graph
    assert not smoke.exercised and smoke.evidence["note"] == NOT_YET
    replay = runner.run(step("lake", StepKind.REPLAY), context)
    assert not replay.exercised and replay.evidence["note"] == REPLAY_NOT_YET
    saas = runner.run(step("dataverse", StepKind.SMOKE), context)  # no readiness check: a person confirms it
    assert not saas.exercised
    assert transport.requests == []
    with pytest.raises(PermanentError, match="deploy runner"):
        runner.run(step("lake", StepKind.DEPLOY), context)


def test_a_saas_service_runs_its_readiness_check_with_nothing_deployed(tmp_path):
    # Subscriptions_Get has no example in the specs kept here: a minimal body at the transport.
    enabled = Route("GET", f"/subscriptions/{SUBSCRIPTION}", body={"subscriptionId": SUBSCRIPTION, "state": "Enabled"})
    runner, transport = steps(tmp_path, enabled)
    outcome = runner.run(step("subscriptions", StepKind.SMOKE), Context(tmp_path))
    assert outcome.exercised and outcome.evidence["management_checks"]["subscription-reachable"]["state"] == "Enabled"
    assert "management_plane" not in outcome.evidence and len(transport.requests) == 1
    # Only ARM answered: the evidence says so instead of listing it as the service's data plane.
    assert outcome.evidence["data_plane"] == {}
    assert outcome.evidence["planes_checked"].startswith("management plane only")


def test_a_check_that_finds_its_own_resource_runs_with_nothing_deployed(tmp_path):
    """The region's Network Watcher is Azure's: the stack declares nothing of it (adopt off), yet its
    check reads it where Azure creates it. A hand-written watcher body: no example in the specs kept here."""
    config = load_stack_config(REPO, "secondary")
    watcher = watcher_id(SUBSCRIPTION, config.region)
    body = {"id": watcher, "name": watcher.rsplit("/", 1)[-1], "location": config.region,
            "properties": {"provisioningState": "Succeeded"}}
    graph = Graph(stack="secondary", region=config.region, resources=[], components=[
        {"urn": "urn:w", "type": "dataplatform:connectivity:NetworkWatcher", "name": "network-watcher",
         "component": None}])
    s, transport = session(by_id(body))
    runner = AzureDataSteps(s, config, graph, tmp_path)
    outcome = runner.run(step("network_watcher", StepKind.SMOKE), Context(tmp_path))
    assert outcome.exercised and outcome.evidence["not_exercised"] == []
    assert outcome.evidence["management_checks"]["network-watcher-present"]["id"] == watcher
    assert [urlsplit(r.url).path for r in transport.requests] == [watcher]


def test_gates_wait_for_a_recorded_approval(tmp_path):
    runner, _ = steps(tmp_path)
    gate = step("platform", StepKind.GATE)
    with pytest.raises(GateWaiting, match=r"drctl approve \S+ platform.gate --by NAME"):
        runner.run(gate, Context(tmp_path))
    (tmp_path / "approvals").mkdir()
    (tmp_path / "approvals" / "platform.gate.json").write_text(json.dumps({"note": "looks fine"}))
    with pytest.raises(PermanentError, match="approved_by"):
        runner.run(gate, Context(tmp_path))
    (tmp_path / "approvals" / "platform.gate.json").write_text(json.dumps({"approved_by": "dr-lead"}))
    assert runner.run(gate, Context(tmp_path)).outputs["approved_by"] == "dr-lead"
    assert "handover_at" in runner.run(step("platform", StepKind.HANDOVER), Context(tmp_path)).outputs


@pytest.mark.parametrize("mismatches", [[], ["models: 'churn' missing"]])
def test_a_component_whose_plan_has_no_validate_step_runs_its_data_checks_in_its_smoke_step(tmp_path, mismatches):
    import dataclasses

    from smoke_tests.check import AZURE, data

    rg = example_body(RG)
    runner, _ = steps(tmp_path, by_id(rg))
    seen = []

    def parity(probe):
        seen.append(probe.component)
        return mismatches, {"models": 1}

    profile = runner.profiles["foundation"]
    runner.profiles["foundation"] = dataclasses.replace(
        profile, checks=(data("foundation", "asset-parity", parity, AZURE, tested_against="a test"),))
    context = Context(tmp_path, {"foundation.deploy": {"resources": [{"urn": FOUNDATION_URN, "type": TYPES[RG],
                                                                     "id": rg["id"]}]}})
    if mismatches:
        with pytest.raises(PermanentError, match="first in asset-parity: models: 'churn' missing"):
            runner.run(step("foundation", StepKind.SMOKE), context)
    else:
        outcome = runner.run(step("foundation", StepKind.SMOKE), context)
        assert outcome.evidence["data_checks"]["checks"] == {"asset-parity": {"models": 1}}
    assert seen == ["foundation"]
