"""Resuming after drctl died mid-`pulumi up`: the creates the CLI never saw finish are looked up in
ARM, those Azure finished meanwhile are imported, the others cleared, and the next `up` goes on.

The secondary stack's real preview graph gives the URNs, types and inputs; the fake `pulumi` CLI
(tests/fake_pulumi) plays the engine and azure-native's existence check; ARM answers through
the real azure-mgmt-resource pipeline (tests/azure_fixtures.py).
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from azure_fixtures import SUBSCRIPTION, ExampleTransport, FakeCredential, Route, example_body
from crashed_runs import crashed_failover
from fake_pulumi import scenario as fake

from components.naming import firewall_name, postgres_server_name, resource_group_name, storage_account_name
from orchestrator.engine.journal import Journal
from orchestrator.engine.journal_state import Event
from orchestrator.engine.retry import RetryPolicy
from orchestrator.model import PermanentError, StepKind, StepOutcome
from orchestrator.plan.recovery import plan_from_json
from orchestrator.run.rundir import utc_now
from orchestrator.stack import capture, load_stack
from orchestrator.targets.azure.clients import AzureSession
from orchestrator.targets.azure.deploy.arm_ids import arm_id, provider_api_version
from orchestrator.targets.azure.deploy.resume import ArmPendingCreates
from orchestrator.targets.azure.deploy.session import ComponentIndex, DeploymentSession
from orchestrator.targets.azure.deploy.stack import PulumiStack
from orchestrator.targets.azure.preconditions import Preconditions
from orchestrator.verbs.failover import resume_failover

REPO = Path(__file__).resolve().parents[4]
STACK = "secondary"
SERVER = "azure-native:dbforpostgresql:Server"
FIREWALL = "azure-native:network:AzureFirewall"
SERVER_ID = (f"/subscriptions/{SUBSCRIPTION}/resourceGroups/{resource_group_name('contoso', 'data', 'ase')}"
             f"/providers/Microsoft.DBforPostgreSQL/flexibleServers/{postgres_server_name('contoso', 'ase')}")
FIREWALL_ID = (f"/subscriptions/{SUBSCRIPTION}/resourceGroups/{resource_group_name('contoso', 'connectivity', 'ase')}"
               f"/providers/Microsoft.Network/azureFirewalls/{firewall_name('contoso', 'ase')}")
SERVER_GET = ("postgresql/resource-manager/Microsoft.DBforPostgreSQL/stable/2025-08-01/examples/ServersGet.json")


@pytest.fixture(scope="module")
def graph():
    return capture(REPO, STACK)


def one(graph, type_: str) -> dict:
    [found] = [r for r in graph.resources if r["type"] == type_]
    return found


def arm(*found: str) -> ExampleTransport:
    """ARM as get_by_id sees it: the server, from the spec's example payload; anything else 404.
    The specs have no Resources_GetById example (fixtures INDEX, Gaps), so the 404 body is a thin
    double in ARM's error shape."""
    routes = [Route("GET", re.escape(SERVER_ID), body=example_body(SERVER_GET))] if SERVER_ID in found else []
    not_found = {"error": {"code": "ResourceNotFound", "message": "The Resource was not found."}}
    return ExampleTransport([*routes, Route("GET", "/subscriptions/.*", status=404, body=not_found)])


def session_for(tmp_path: Path, graph, transport: ExampleTransport | None) -> DeploymentSession:
    stack = PulumiStack(REPO, STACK, command=fake.FAKE_BIN, env_vars=fake.fake_env(tmp_path / "scenario.json"))
    lookup = None
    if transport is not None:
        lookup = ArmPendingCreates(lambda: AzureSession(FakeCredential(), SUBSCRIPTION, transport=transport), graph)
    return DeploymentSession(stack, ComponentIndex.from_graph(graph), interrupted=True, pending_creates=lookup,
                             wait_slice_s=0.05)


def crashed_while_creating(tmp_path: Path, graph) -> None:
    """drctl and its `pulumi up` were killed while the server (a geo-restore) and the firewall were
    being created; Azure finished the server meanwhile, not the firewall. The firewall's pending
    create carries the inputs the engine recorded; the server's is found through the graph."""
    server, firewall = one(graph, SERVER), one(graph, FIREWALL)
    pending = [fake.pending_create(server["urn"], SERVER),
               fake.pending_create(firewall["urn"], FIREWALL, graph.inputs[firewall["urn"]])]
    rerun = [fake.prelude(), *fake.resource(server["urn"], SERVER, id_=SERVER_ID),
             *fake.resource(firewall["urn"], FIREWALL, id_=FIREWALL_ID), fake.summary({"create": 1, "update": 1})]
    fake.write_scenario(tmp_path, stacks={STACK: {"pending_operations": pending}}, azure=[SERVER_ID],
                        up=[{"events": rerun}], refresh=[{"events": [fake.summary({"same": 0})]}])


def test_resume_imports_what_azure_finished_and_the_next_up_succeeds(tmp_path, graph):
    crashed_while_creating(tmp_path, graph)
    transport = arm(SERVER_ID)
    session = session_for(tmp_path, graph, transport)

    postgres = session.deploy("postgres")
    connectivity = session.deploy("connectivity")

    server = next(r for r in postgres.outputs["resources"] if r["type"] == SERVER)
    assert server["id"] == SERVER_ID and server["op"] == "update"  # in the state again: no second create
    assert next(r for r in connectivity.outputs["resources"] if r["type"] == FIREWALL)["op"] == "create"
    refresh, up = fake.operations(tmp_path)
    assert refresh[0] == "refresh" and up[0] == "up"
    imports = [refresh[i + 1] for i, arg in enumerate(refresh) if arg == "--import-pending-creates"]
    assert imports == [one(graph, SERVER)["urn"], SERVER_ID] and "--clear-pending-creates" in refresh
    # Looked up as azure-native would: its API version for the type, through the real SDK pipeline.
    paths = [(r.method, r.path_url.split("?")[0], re.search(r"api-version=([^&]+)", r.url)[1]) for r in transport.requests]
    assert ("GET", SERVER_ID, provider_api_version(SERVER)) in paths and ("GET", FIREWALL_ID, "2024-05-01") in paths
    # What was imported and what was cleared is the deploy step's evidence, so it is in the journal.
    settled = postgres.evidence["update"]["refresh_first"]
    assert settled["imported"] == [{"urn": one(graph, SERVER)["urn"], "type": SERVER, "id": SERVER_ID,
                                    "api_version": provider_api_version(SERVER), "state": "Ready"}]
    assert settled["cleared"] == [{"urn": one(graph, FIREWALL)["urn"], "type": FIREWALL, "id": FIREWALL_ID,
                                   "reason": "Azure has no such resource", "api_version": "2024-05-01"}]
    assert all("inputs" not in op for op in settled["pending_operations"])
    assert json.dumps(settled)  # JSON-able, as the journal needs
    assert fake.state(tmp_path)["stacks"][STACK]["pending_operations"] == []


def test_clearing_what_azure_finished_fails_the_next_up_on_azure_natives_existence_check(tmp_path, graph):
    # What resume did before: every pending create dropped, whatever Azure had finished.
    crashed_while_creating(tmp_path, graph)
    session = session_for(tmp_path, graph, transport=None)

    with pytest.raises(PermanentError) as failed:
        session.deploy("postgres")

    assert f"cannot create already existing resource '{SERVER_ID}'" in str(failed.value)
    cleared = failed.value.evidence["update"]["refresh_first"]["cleared"]
    assert {c["type"] for c in cleared} == {SERVER, FIREWALL}
    assert all(c["reason"] == "this run has no Azure lookup for pending creates" for c in cleared)


def test_arm_errors_other_than_not_found_stop_the_update_instead_of_guessing(tmp_path, graph):
    crashed_while_creating(tmp_path, graph)
    refused = ExampleTransport([Route("GET", "/subscriptions/.*", status=403,
                                      body={"error": {"code": "AuthorizationFailed", "message": "no read"}})])
    with pytest.raises(PermanentError, match=r"could not look up .* in ARM: HttpResponseError"):
        session_for(tmp_path, graph, refused).deploy("postgres")
    assert fake.operations(tmp_path) == []  # nothing cleared on a guess


def test_arm_ids_follow_the_programs_names(graph):
    group = resource_group_name("contoso", "data", "ase")
    account = storage_account_name("contoso", "ase")
    container = next(r for r in graph.resources if r["type"] == "azure-native:storage:BlobContainer")
    expected = (f"/subscriptions/{SUBSCRIPTION}/resourceGroups/{group}/providers/Microsoft.Storage/storageAccounts/"
                f"{account}/blobServices/default/containers/{container['physical_name']}")
    assert arm_id(container["type"], graph.inputs[container["urn"]], SUBSCRIPTION) == expected
    assert arm_id(SERVER, graph.inputs[one(graph, SERVER)["urn"]], SUBSCRIPTION) == SERVER_ID
    rg = next(r for r in graph.resources if r["type"] == "azure-native:resources:ResourceGroup")
    assert arm_id(rg["type"], graph.inputs[rg["urn"]], SUBSCRIPTION) == (
        f"/subscriptions/{SUBSCRIPTION}/resourceGroups/{rg['physical_name']}")
    scope = f"/subscriptions/{SUBSCRIPTION}/resourceGroups/{group}"
    assignment = {"scope": scope, "roleAssignmentName": "0b9c8d7e-1111-2222-3333-444455556666"}
    assert arm_id("azure-native:authorization:RoleAssignment", assignment, SUBSCRIPTION) == (
        f"{scope}/providers/Microsoft.Authorization/roleAssignments/0b9c8d7e-1111-2222-3333-444455556666")
    # An autonamed endpoint has no name in the program: only the engine's recorded inputs give one.
    assert arm_id("azure-native:network:PrivateEndpoint", {"resourceGroupName": group}, SUBSCRIPTION) is None
    assert arm_id("azure-native:unknown:Thing", {"resourceGroupName": group, "name": "x"}, SUBSCRIPTION) is None
    assert re.fullmatch(r"\d{4}-\d{2}-\d{2}", provider_api_version(SERVER) or "")


class DataSteps:
    """Stands in for the Azure data and smoke steps: the run is about its deploy steps here."""

    def factory(self, run_dir, config, graph):
        return self

    def __call__(self, step, context):
        return StepOutcome(outputs={"handover_at": utc_now()} if step.kind == StepKind.HANDOVER else {})


def test_resume_failover_looks_pending_creates_up_on_the_stacks_subscription(tmp_path, monkeypatch, graph):
    """The verb's wiring: a resumed failover builds the lookup (DefaultAzureCredential on the stack's
    subscription), and the run recovers where clearing would have failed on the server."""
    run_dir, plan_json = crashed_failover(tmp_path / "work", REPO, STACK)
    plan = plan_from_json(plan_json)
    with Journal.open(run_dir) as journal:  # drctl killed while `pulumi up` ran for the deploy steps
        journal.append(Event.RUN_STARTED, plan=plan_json, max_workers=4)
        for step in plan.steps:
            if not step.depends_on:
                journal.append(Event.STEP_STARTED, step=step.id, attempt=1, component=step.component,
                               kind=str(step.kind))
    crashed_while_creating(tmp_path / "fake", graph)
    everything = [fake.prelude()]
    for resource in graph.resources:
        found = arm_id(resource["type"], graph.inputs[resource["urn"]], SUBSCRIPTION) or f"/fake/{resource['name']}"
        everything += fake.resource(resource["urn"], resource["type"], id_=found)
    scenario = fake.write_scenario(tmp_path / "fake", stacks=json.loads((tmp_path / "fake" / "scenario.json").read_text())
                                   ["stacks"], azure=[SERVER_ID], up=[{"events": everything}],
                                   refresh=[{"events": [fake.summary({"same": 0})]}])
    for key, value in fake.fake_env(scenario).items():
        monkeypatch.setenv(key, value)
    monkeypatch.setenv("AZURE_SUBSCRIPTION_ID", SUBSCRIPTION)
    monkeypatch.delenv("ARM_SUBSCRIPTION_ID", raising=False)
    signed_in: list[str] = []

    def from_environment(subscription_id, **kwargs):
        signed_in.append(subscription_id)
        return AzureSession(FakeCredential(), subscription_id, transport=arm(SERVER_ID))

    monkeypatch.setattr(AzureSession, "from_environment", staticmethod(from_environment))

    summary = resume_failover(load_stack(REPO, STACK), run_dir, data_steps=DataSteps().factory,
                              preconditions=Preconditions(find_pulumi=lambda: fake.FAKE_BIN,
                                                          check_credentials=lambda: None),
                              retry=RetryPolicy(sleep=lambda _s: None))

    assert summary["outcome"] == "recovered" and signed_in == [SUBSCRIPTION]
    [update] = json.loads((run_dir / "report.json").read_text())["deployment"]["updates"]
    assert [i["id"] for i in update["refresh_first"]["imported"]] == [SERVER_ID]
    assert [c["id"] for c in update["refresh_first"]["cleared"]] == [FIREWALL_ID]
    journaled = Journal.open(run_dir).state.steps["postgres.deploy"].evidence["update"]["refresh_first"]
    assert [i["id"] for i in journaled["imported"]] == [SERVER_ID]  # in the journal, not only the report
