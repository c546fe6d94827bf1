"""The fallback on Azure (orchestrator/targets/azure/fallback/steps.py), step by step.

ARM answers with the REST API specs' examples through azure-core's transport (Traffic Manager
Profile-GET-WithEndpoints, ResourceGroups_Get, Factories_Get, PipelineRuns_Get); the Automation
API drives the fake `pulumi` CLI (tests/fake_pulumi), which records what it was asked. The data
steps against Azurite and PostgreSQL are in test_azure_fallback_data.py, the command in
test_azure_fallback_command.py.
"""

from __future__ import annotations

import copy
import json
import re
from dataclasses import replace
from pathlib import Path
from types import SimpleNamespace
from urllib.parse import parse_qs, urlsplit

import pytest
from fake_pulumi import scenario as fake

from components.traffic_manager import SERVICE as TM_SERVICE
from components.traffic_manager import TrafficManagerSettings
from orchestrator.model import GateWaiting, PermanentError, Step, StepKind, TransientError
from orchestrator.program.graph import Graph
from orchestrator.targets.azure.clients import AzureSession
from orchestrator.targets.azure.deploy.stack import PulumiStack
from orchestrator.targets.azure.fallback.steps import AzureFallbackSteps
from orchestrator.targets.azure.fallback.traffic import DNS_NOT_YET
from stacks.config import load_stack_config
from stacks.schema import FallbackConfig
from tests.azure_fixtures import SUBSCRIPTION, ExampleTransport, FakeCredential, Route, example_body

REPO = Path(__file__).resolve().parents[4]
TM = "trafficmanager/resource-manager/Microsoft.Network/stable/2022-04-01/examples/Profile-GET-WithEndpoints.json"
RG = "resources/resource-manager/Microsoft.Resources/resources/examples/2025-04-01/ResourceGroups_Get.json"
FACTORY = "datafactory/resource-manager/Microsoft.DataFactory/DataFactory/stable/2018-06-01/examples/Factories_Get.json"
RUN_GET = "datafactory/resource-manager/Microsoft.DataFactory/DataFactory/stable/2018-06-01/examples/PipelineRuns_Get.json"
COMPONENTS = {"foundation": "dataplatform:foundation:Foundation", "connectivity": "dataplatform:connectivity:Connectivity",
              "lake": "dataplatform:data:Lake", "postgres": "dataplatform:data:PostgresServer",
              "event_hubs": "dataplatform:data:EventHubs", "data_factory": "dataplatform:data:DataFactory"}
ARM = f"/subscriptions/{SUBSCRIPTION}/resourceGroups"
# component -> (type, logical name, ARM id in the stack's state; None: the program declares it, the state lacks it)
RESOURCES = {
    "foundation": [("azure-native:resources:ResourceGroup", "foundation-rg", example_body(RG)["id"]),
                   ("azure-native:operationalinsights:Workspace", "foundation-logs", None)],
    "connectivity": [("azure-native:network:VirtualNetwork", "connectivity-vnet", f"{ARM}/n/providers/Microsoft.Network/virtualNetworks/v")],
    "lake": [("azure-native:storage:StorageAccount", "lake-account", f"{ARM}/d/providers/Microsoft.Storage/storageAccounts/a"),
             ("azure-native:storage:BlobContainer", "lake-raw", f"{ARM}/d/providers/Microsoft.Storage/storageAccounts/a/blobServices/default/containers/raw")],
    "postgres": [("azure-native:dbforpostgresql:Server", "postgres-server", f"{ARM}/d/providers/Microsoft.DBforPostgreSQL/flexibleServers/p")],
    "event_hubs": [("azure-native:eventhub:Namespace", "event-hubs-ns", f"{ARM}/d/providers/Microsoft.EventHub/namespaces/e")],
    "data_factory": [("azure-native:datafactory:Factory", "adf", example_body(FACTORY)["id"])],
}
DATA = ("lake", "postgres", "event_hubs", "data_factory")


def graph() -> Graph:
    return Graph(stack="primary", region="australiaeast",
                 resources=[{"urn": f"urn:pulumi:primary::dataplatform::pulumi:pulumi:Stack${COMPONENTS[c]}${t}::{n}",
                             "type": t, "name": n, "physical_name": None, "location": "australiaeast", "component": c}
                            for c, items in RESOURCES.items() for t, n, _ in items],
                 components=[{"urn": f"urn:c:{c}", "type": t, "name": c, "component": None} for c, t in COMPONENTS.items()])


def urn(stack: str, component: str, type_: str, name: str) -> str:
    return fake.urn(stack, type_, name, (COMPONENTS[component],))


def state(stack: str) -> list[dict]:
    """What `pulumi stack export` lists: the resources, their provider and the root stack."""
    return [{"urn": f"urn:pulumi:{stack}::dataplatform::pulumi:pulumi:Stack::dataplatform-{stack}", "type": "pulumi:pulumi:Stack"},
            {"urn": f"urn:pulumi:{stack}::dataplatform::pulumi:providers:azure-native::default",
             "type": "pulumi:providers:azure-native", "id": "04da6b54-80e4-46f7-96ec-b56ff0331ba9"},
            *({"urn": urn(stack, c, t, n), "type": t, "id": i} for c, items in RESOURCES.items() for t, n, i in items if i)]


class Context:
    def __init__(self, run_dir: Path, outputs: dict | None = None) -> None:
        self.run_dir, self.outputs, self.cancelled = run_dir, outputs or {}, False

    def outputs_of(self, step_id: str) -> dict:
        return self.outputs[step_id]


def step(component: str, kind: StepKind) -> Step:
    return Step(id=f"{component}.{kind}", component=component, kind=kind, depends_on=(), estimate_s=1)


class Harness:
    def __init__(self, tmp_path: Path, *routes: Route, fallback: dict | None = None, services: dict | None = None,
                 **scenario) -> None:
        self.dir, self.run_dir = tmp_path / "fake", tmp_path / "run"
        self.run_dir.mkdir(parents=True)
        path = fake.write_scenario(self.dir, stacks={"primary": {"resources": state("primary")},
                                                     "secondary": {"resources": state("secondary")}}, **scenario)
        self.config = load_stack_config(REPO, "primary")
        self.config = replace(self.config, fallback=FallbackConfig.model_validate(fallback or {}))
        self.config = self.config.with_services(services or {})
        self.transport = ExampleTransport(list(routes))
        session = AzureSession(FakeCredential(), SUBSCRIPTION, transport=self.transport, retry_total=0)
        stacks = {name: PulumiStack(REPO, name, command=fake.FAKE_BIN, env_vars=fake.fake_env(path))
                  for name in ("primary", "secondary")}
        self.said: list[str] = []
        self.steps = AzureFallbackSteps(session, self.config, load_stack_config(REPO, "secondary"), graph(),
                                        self.run_dir, stack=stacks["primary"], secondary_stack=stacks["secondary"],
                                        poll_interval_s=0, say=self.said.append)

    def run(self, component: str, kind: StepKind, context: Context | None = None):
        return self.steps(step(component, kind), context or Context(self.run_dir))

    def calls(self, command: str) -> list[list[str]]:
        return [args for args in fake.calls(self.dir) if args[:len(command.split())] == command.split()]


# -- the traffic switch: Traffic Manager ----------------------------------------------------------------
PROFILE = f"{ARM}/rg-contoso-connectivity-aue/providers/Microsoft.Network/trafficManagerProfiles/tm-contoso-aue"
TM_ON = {"fallback": {"trafficSwitch": "traffic-manager"},
         "services": {"trafficManager": TrafficManagerSettings.model_validate(TM_SERVICE.example)}}


def priority_routed() -> dict:
    """The example profile made Priority-routed, its endpoint (North Europe) first, and the
    primary region's endpoint second: what the profile looks like after a failover."""
    body = copy.deepcopy(example_body(TM))
    body["properties"]["trafficRoutingMethod"] = "Priority"
    primary = copy.deepcopy(body["properties"]["endpoints"][0])
    primary["name"] = "primary"
    primary["properties"].update(endpointLocation="Australia East", priority=2, target="app-aue.data.contoso.com")
    body["properties"]["endpoints"].append(primary)
    return body


def profile_routes(body: dict) -> tuple[list[Route], list[dict]]:
    """GET answers the profile as it stands; a PATCH replaces its endpoints, as the service does."""
    current, patches = {"body": body}, []

    def patch(request):
        patches.append(json.loads(request.body))
        current["body"] = copy.deepcopy(current["body"])
        current["body"]["properties"]["endpoints"] = patches[-1]["properties"]["endpoints"]
        return 200, current["body"], {}

    return [Route("GET", re.escape(PROFILE), respond=lambda _r: (200, current["body"], {})),
            Route("PATCH", re.escape(PROFILE), respond=patch)], patches


def test_a_performance_routed_profile_is_refused_with_the_reason(tmp_path):
    h = Harness(tmp_path, Route("GET", re.escape(PROFILE), body=example_body(TM)), **TM_ON)
    with pytest.raises(PermanentError, match=r"routes by Performance, not Priority: endpoint priorities would not") as refused:
        h.run("platform", StepKind.SWITCH)
    assert refused.value.evidence["before"][0]["location"] == "North Europe"
    assert [(r.method, parse_qs(urlsplit(r.url).query)["api-version"]) for r in h.transport.requests] == [
        ("GET", ["2022-04-01"])]  # read only: nothing was changed


def test_a_priority_routed_profile_puts_the_primary_region_first_in_one_patch(tmp_path):
    routes, patches = profile_routes(priority_routed())
    h = Harness(tmp_path, *routes, **TM_ON)
    outcome = h.run("platform", StepKind.SWITCH)
    assert outcome.outputs == {"active_region": "australiaeast", "changed": True}
    [body] = patches
    assert [(e["name"], e["properties"]["priority"]) for e in body["properties"]["endpoints"]] == [
        ("My external endpoint", 2), ("primary", 1)]
    kept = body["properties"]["endpoints"][0]["properties"]
    assert kept["target"] == "foobar.contoso.com" and kept["endpointLocation"] == "North Europe"
    assert "endpointMonitorStatus" not in kept  # read-only: not sent back
    evidence = outcome.evidence
    assert [(e["name"], e["priority"]) for e in evidence["before"]] == [("My external endpoint", 1), ("primary", 2)]
    assert [(e["name"], e["priority"]) for e in evidence["after"]] == [("My external endpoint", 2), ("primary", 1)]
    assert evidence["traffic_switch"] == "traffic-manager" and "pulumi up" in evidence["note"]
    again = h.run("platform", StepKind.SWITCH)  # already switched: read, nothing written
    assert again.outputs["changed"] is False and len(patches) == 1


def test_the_switch_follows_the_stack_setting(tmp_path):
    paired = {"trafficManager": TrafficManagerSettings.model_validate({"owner": False})}
    h = Harness(tmp_path, fallback={"trafficSwitch": "traffic-manager"}, services=paired)
    with pytest.raises(PermanentError):  # no route: the owner's profile is asked for, by its name
        h.run("platform", StepKind.SWITCH)
    assert urlsplit(h.transport.requests[0].url).path.endswith(
        "/rg-contoso-connectivity-ase/providers/Microsoft.Network/trafficManagerProfiles/tm-contoso-ase")
    with pytest.raises(PermanentError, match=r"trafficManager service is not in stack primary"):
        Harness(tmp_path / "none", fallback={"trafficSwitch": "traffic-manager"}).run("platform", StepKind.SWITCH)
    dns = Harness(tmp_path / "dns", fallback={"trafficSwitch": "dns"}).run("platform", StepKind.SWITCH)
    assert not dns.exercised and dns.evidence["note"] == DNS_NOT_YET


# -- approvals: the gate and a manual switch -------------------------------------------------------------
def test_the_gate_and_a_manual_switch_wait_for_their_files(tmp_path):
    h = Harness(tmp_path)
    with pytest.raises(GateWaiting, match=r"drctl approve .* platform.gate --by NAME"):
        h.run("platform", StepKind.GATE)
    with pytest.raises(GateWaiting, match=r"a person to switch traffic .*approvals/platform.switch.json"):
        h.run("platform", StepKind.SWITCH)
    h.steps.approval_poll_s = 7.0
    slept = []

    def approve_on_first_sleep(seconds: float) -> None:  # a person records it while drctl waits
        slept.append(seconds)
        (h.run_dir / "approvals").mkdir(exist_ok=True)
        (h.run_dir / "approvals" / "platform.switch.json").write_text(json.dumps({"approved_by": "ops", "note": "CDN"}))

    h.steps.sleep = approve_on_first_sleep
    switched = h.run("platform", StepKind.SWITCH)
    assert slept == [7.0] and switched.outputs["active_region"] == "australiaeast"
    assert switched.outputs["approved_by"] == "ops" and switched.evidence["traffic_switch"] == "manual"
    assert any("cannot be resumed" in line for line in h.said)
    cancelled = Context(h.run_dir)
    cancelled.cancelled = True
    with pytest.raises(TransientError, match=r"interrupted while platform.gate waited"):
        h.run("platform", StepKind.GATE, cancelled)


# -- smoke: provisioningState of what the primary stack's state holds ---------------------------------------
def by_id(body: dict) -> Route:
    return Route("GET", re.escape(body["id"]), body=body)


def test_smoke_checks_every_resource_the_primary_state_holds(tmp_path):
    factory = copy.deepcopy(example_body(FACTORY))
    factory["properties"]["provisioningState"] = "Failed"
    h = Harness(tmp_path, by_id(example_body(RG)), by_id(factory))
    # The step's management-plane sweep alone: foundation's own checks are tested in tests/smoke_tests.
    foundation = h.steps.profiles["foundation"]
    h.steps.profiles["foundation"] = replace(foundation, checks=tuple(
        replace(c, function=None, runs_on=frozenset()) for c in foundation.checks))
    outcome = h.run("foundation", StepKind.SMOKE)
    plane = outcome.evidence["management_plane"]
    assert plane["checked"] == 1 and plane["resources"][0]["id"] == example_body(RG)["id"]
    assert plane["resources"][0]["provisioning_state"] == "Succeeded"
    # declared by the program, absent from the state: the drift step's to redeploy
    assert outcome.evidence["not_in_state"] == ["azure-native:operationalinsights:Workspace foundation-logs"]
    assert outcome.evidence["not_exercised"] == [c.name for c in h.steps.profiles["foundation"].smoke_checks]
    with pytest.raises(PermanentError, match=r"not provisioned: exampleFactoryName \(Failed\)"):
        h.run("data_factory", StepKind.SMOKE)
    assert len(h.calls("stack export")) == 1  # the state is read once per run
    assert {urlsplit(r.url).path for r in h.transport.requests} == {example_body(RG)["id"], factory["id"]}


# -- drift: pulumi preview, then pulumi up for the deltas ------------------------------------------------------
def test_no_drift_deploys_nothing(tmp_path):
    h = Harness(tmp_path)
    outcome = h.run("platform", StepKind.DRIFT)
    assert outcome.outputs == {"deltas": 0} and outcome.evidence["redeployed"] is False
    assert outcome.evidence["preview"] == {"same": len(state("primary"))}
    [preview] = h.calls("preview")
    assert h.calls("up") == [] and preview[preview.index("--stack") + 1] == "primary"
    assert "--refresh" in preview  # against Azure as it is after the disaster, not the last state


def test_drift_is_redeployed_with_one_up(tmp_path):
    h = Harness(tmp_path, preview=[{"events": [fake.summary({"same": 5, "refresh": 8, "create": 1, "update": 2})]}],
                up=[{"events": [fake.prelude(), fake.summary({"same": 5, "create": 1, "update": 2})]}])
    outcome = h.run("platform", StepKind.DRIFT)
    assert outcome.outputs == {"deltas": 3}
    assert outcome.evidence["deltas"] == {"create": 1, "update": 2} and outcome.evidence["redeployed"] is True
    assert outcome.evidence["update"]["result"] == "succeeded"
    assert [args[0] for args in fake.calls(h.dir) if args[0] in ("preview", "up")] == ["preview", "up"]
    assert "--refresh" in h.calls("up")[0]


def test_a_failed_preview_is_the_steps_failure(tmp_path):
    h = Harness(tmp_path, preview=[{"exit_code": 255, "stderr": "error: the azure-native provider could not sign in"}])
    with pytest.raises(PermanentError, match=r"pulumi preview failed .*could not sign in"):
        h.run("platform", StepKind.DRIFT)
    assert h.calls("up") == []


# -- the secondary: strip back or decommission ----------------------------------------------------------------
def test_strip_back_destroys_only_the_secondarys_data_components(tmp_path):
    h = Harness(tmp_path)
    outcome = h.run("secondary", StepKind.DECOMMISSION)
    data_urns = [urn("secondary", c, t, n) for c in DATA for t, n, _ in RESOURCES[c]]
    [destroy] = h.calls("destroy")
    assert sorted(destroy[i + 1] for i, arg in enumerate(destroy) if arg == "--target") == sorted(data_urns)
    assert "--target-dependents" in destroy and destroy[destroy.index("--stack") + 1] == "secondary"
    assert sorted(r["urn"] for r in outcome.evidence["removed"]) == sorted(data_urns)
    assert outcome.outputs == {"strategy": "strip-back", "removed": len(data_urns)}
    left = {r["type"] for r in h.steps.secondary_stack.resources()}
    assert {"azure-native:resources:ResourceGroup", "azure-native:network:VirtualNetwork"} <= left
    assert not left & {"azure-native:storage:StorageAccount", "azure-native:dbforpostgresql:Server"}


def test_decommission_destroys_the_secondary_stack(tmp_path):
    h = Harness(tmp_path, fallback={"secondaryStrategy": "decommission"})
    outcome = h.run("secondary", StepKind.DECOMMISSION)
    [destroy] = h.calls("destroy")
    assert "--target" not in destroy and destroy[destroy.index("--stack") + 1] == "secondary"
    assert len(outcome.evidence["removed"]) == sum(1 for items in RESOURCES.values() for *_, i in items if i)
    assert h.steps.secondary_stack.resources() == [] and h.calls("preview") == []


# -- replay: the primary's factory, from the recovered timestamp ---------------------------------------------
def test_the_lake_replays_with_the_primarys_pipeline_and_postgres_is_not_exercised(tmp_path):
    run = example_body(RUN_GET)
    factory = f"{ARM}/rg-contoso-data-aue/providers/Microsoft.DataFactory/factories/contoso-adf-aue"
    h = Harness(tmp_path, Route("POST", re.escape(f"{factory}/pipelines/ingest_events/createRun"),
                                body={"runId": run["runId"]}),
                Route("GET", re.escape(f"{factory}/pipelineruns/{run['runId']}"), body=run))
    context = Context(h.run_dir, {"lake.rehydrate": {"recovered_data_timestamp": "2018-06-16T00:30:00Z"},
                                  "postgres.rehydrate": {"recovered_data_timestamp": "2018-06-16T00:30:00Z"}})
    # The RPO is read back from the primary lake's raw hour partitions (against Azurite in
    # test_replay.py); here a thin double whose raw zone holds none of the window's hours.
    listed: list[str] = []
    raw = SimpleNamespace(walk_blobs=lambda name_starts_with, delimiter: listed.append(name_starts_with) or [])
    h.steps.data.blob_service = lambda endpoint: SimpleNamespace(get_container_client=lambda name: raw)
    outcome = h.run("lake", StepKind.REPLAY, context)
    assert outcome.exercised and outcome.outputs["pipeline_run_id"] == run["runId"]
    window = json.loads(h.transport.requests[0].body)
    assert set(window) == {"windowStart", "windowEnd"} and window["windowStart"] == "2018-06-15T22:30:00Z"
    assert listed == ["events/"]
    postgres = h.run("postgres", StepKind.REPLAY, context)
    assert not postgres.exercised and "no pipeline of the repository loads postgres" in postgres.evidence["reason"]
    assert len(h.transport.requests) == 2



def test_the_primarys_handover_starts_its_factory_schedule_again(tmp_path):
    from dataclasses import replace as replaced

    from components.data_factory_triggers import INGEST_TRIGGER

    start = ("datafactory/resource-manager/Microsoft.DataFactory/DataFactory/stable/2018-06-01/examples/"
             "Triggers_Start.json")
    factory = f"{ARM}/rg-contoso-data-aue/providers/Microsoft.DataFactory/factories/contoso-adf-aue"
    harness = Harness(tmp_path, Route("POST", f"{factory}/triggers/{INGEST_TRIGGER}/start", body=example_body(start)))
    trigger = {"urn": "urn:trigger", "type": "azure-native:datafactory:Trigger", "name": INGEST_TRIGGER,
               "physical_name": INGEST_TRIGGER, "location": None, "component": "data_factory"}
    harness.steps.data.graph = replaced(harness.steps.data.graph, resources=[*graph().resources, trigger])
    outcome = harness.run("platform", StepKind.HANDOVER)
    assert outcome.evidence["handover"] == "primary handed back to its users"
    assert outcome.evidence["after_handover"] == {"factory": "contoso-adf-aue", "factory_triggers_started": [INGEST_TRIGGER]}
    assert [r.method for r in harness.transport.requests] == ["POST"]
