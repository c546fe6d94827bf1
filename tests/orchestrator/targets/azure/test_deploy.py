"""Deploying through the Pulumi Automation API, with a fake `pulumi` CLI at the process boundary.

The Automation API runs unchanged: it starts tests/fake_pulumi/bin/pulumi as it would start the
real binary, and the fake answers from a scripted scenario (engine events, exit code, stderr).
Nothing here sleeps for timing: the fake's event stream pauses on a file the test creates when
the engine journals what the test waits for.
"""

from __future__ import annotations

import json
import os
import shutil
import uuid
from pathlib import Path

import pytest
from fake_pulumi import scenario as fake

from orchestrator.engine.journal import Journal
from orchestrator.engine.journal_state import Event
from orchestrator.engine.retry import RetryPolicy
from orchestrator.engine.scheduler import Engine, Outcome
from orchestrator.errors import BadInput
from orchestrator.model import PermanentError, Plan, Step, StepKind
from orchestrator.program.graph import Graph
from orchestrator.run.rundir import RunDir
from orchestrator.targets.azure.deploy.session import ComponentIndex, DeploymentSession
from orchestrator.targets.azure.deploy.stack import PULUMI_COMMAND_ENV, PulumiCliMissing, PulumiStack, find_pulumi
from orchestrator.targets.azure.preflight.backend import check_state_readable
from orchestrator.targets.azure.target import NOT_EXERCISED, AzureTarget

REPO = Path(__file__).resolve().parents[4]
STACK = "secondary"
COMPONENTS = {
    "foundation": "dataplatform:foundation:Foundation",
    "connectivity": "dataplatform:connectivity:Connectivity",
    "lake": "dataplatform:data:Lake",
    "postgres": "dataplatform:data:PostgresServer",
    "event_hubs": "dataplatform:data:EventHubs",
}
RESOURCES = {  # component -> (type, logical name)
    "foundation": [("azure-native:resources:ResourceGroup", "foundation-rg-data"),
                   ("azure-native:operationalinsights:Workspace", "foundation-logs")],
    "connectivity": [("azure-native:network:VirtualNetwork", "connectivity-vnet"),
                     ("azure-native:network:AzureFirewall", "connectivity-fw")],
    "lake": [("azure-native:storage:StorageAccount", "lake-account"), ("azure-native:storage:BlobContainer", "lake-raw")],
    "postgres": [("azure-native:dbforpostgresql:Server", "postgres-server")],
    "event_hubs": [("azure-native:eventhub:Namespace", "event-hubs-ns")],
}
LAKE_OUTPUTS = {"name": "stcontosoase", "primaryEndpoints": {"blob": "https://stcontosoase.blob.core.windows.net/"},
                "primaryKey": "not-for-the-journal-0123456789"}


def urn_of(component: str, name: str) -> str:
    type_ = dict((n, t) for t, n in RESOURCES[component])[name]
    return fake.urn(STACK, type_, name, (COMPONENTS[component],))


def type_of(component: str, name: str) -> str:
    return dict((n, t) for t, n in RESOURCES[component])[name]


def ok(component: str, name: str, op: str = "create", **kwargs) -> list[dict]:
    return fake.resource(urn_of(component, name), type_of(component, name), op, **kwargs)


def component_events(component: str) -> list[dict]:
    return [event for _, name in RESOURCES[component] for event in ok(component, name)]


def graph() -> Graph:
    """The preview graph's shape (orchestrator/program/capture.py): the mock runtime's URNs keep the root
    stack in the chain, which the engine's do not, so matching cannot rely on the URN text."""
    resources = [
        {"urn": f"urn:pulumi:{STACK}::dataplatform::pulumi:pulumi:Stack${COMPONENTS[c]}${t}::{n}", "type": t, "name": n,
         "physical_name": None, "location": "australiasoutheast", "component": c}
        for c, items in RESOURCES.items() for t, n in items
    ]
    components = [{"urn": f"urn:pulumi:{STACK}::dataplatform::pulumi:pulumi:Stack${t}::{c}", "type": t, "name": c,
                   "component": None} for c, t in COMPONENTS.items()]
    return Graph(stack=STACK, region="australiasoutheast", resources=resources, components=components)


def plan() -> Plan:
    def deploy(component: str, *deps: str) -> Step:
        return Step(f"{component}.deploy", component, StepKind.DEPLOY, tuple(f"{d}.deploy" for d in deps), 60.0)

    steps = (
        deploy("foundation"),
        deploy("connectivity", "foundation"),
        deploy("lake", "foundation", "connectivity"),
        deploy("postgres", "connectivity"),
        deploy("event_hubs", "connectivity"),
        Step("lake.smoke", "lake", StepKind.SMOKE, ("lake.deploy",), 60.0),
        Step("postgres.smoke", "postgres", StepKind.SMOKE, ("postgres.deploy",), 60.0),
    )
    return Plan(STACK, steps, 3600, 900)


def no_sleep() -> RetryPolicy:
    return RetryPolicy(sleep=lambda _s: None, jitter_s=0.0, initial_backoff_s=1.0)


class Harness:
    def __init__(self, tmp_path: Path) -> None:
        self.dir = tmp_path / "fake"
        self.run_dir = tmp_path / "run"
        self.go = tmp_path / "go"

    def scenario(self, up: list[dict], refresh: list[dict] | None = None, stack: dict | None = None) -> Path:
        return fake.write_scenario(self.dir, stacks={STACK: stack or {}}, up=up, refresh=refresh)

    def env(self) -> dict[str, str]:
        return fake.fake_env(self.dir / "scenario.json")

    def stack(self) -> PulumiStack:
        return PulumiStack(REPO, STACK, command=fake.FAKE_BIN, env_vars=self.env())

    def session(self, interrupted: bool = False) -> DeploymentSession:
        return DeploymentSession(self.stack(), ComponentIndex.from_graph(graph()), interrupted=interrupted,
                                 wait_slice_s=0.05)

    def run(self, session: DeploymentSession, on_event=None, journal: Journal | None = None):
        journal = journal or Journal.open(self.run_dir)
        try:
            engine = Engine(plan(), AzureTarget(session), journal, max_workers=4, retry=no_sleep(), on_event=on_event)
            result = engine.run()
        finally:
            journal.close()
        return result, Journal.open(self.run_dir).state

    def operations(self) -> list[list[str]]:
        return fake.operations(self.dir)


@pytest.fixture
def harness(tmp_path):
    return Harness(tmp_path)


def succeeded_order(state) -> list[str]:
    return [e["step"] for e in state.events if e["event"] == Event.STEP_SUCCEEDED]


@pytest.mark.parametrize("cli_version", ["3.272.0", "3.200.0"], ids=["grpc-event-stream", "event-log-file"])
def test_one_up_serves_every_deploy_step_with_its_own_resources(harness, monkeypatch, cli_version):
    # Newer CLIs stream engine events over gRPC, older ones through a file: both reach the evidence.
    monkeypatch.setenv("FAKE_PULUMI_VERSION", cli_version)
    replaced = [
        fake.started(urn_of("connectivity", "connectivity-fw"), type_of("connectivity", "connectivity-fw"), "create-replacement"),
        fake.finished(urn_of("connectivity", "connectivity-fw"), type_of("connectivity", "connectivity-fw"), "create-replacement"),
        *ok("connectivity", "connectivity-fw", "replace"),
    ]
    events = [
        fake.prelude(), *component_events("foundation"),
        fake.wait_for(harness.go),  # the update goes on only once foundation.deploy has succeeded
        *ok("connectivity", "connectivity-vnet", "same"), *replaced,
        *ok("lake", "lake-account", outputs=LAKE_OUTPUTS), *ok("lake", "lake-raw"),
        *component_events("postgres"), *component_events("event_hubs"),
        *fake.resource(urn_of("connectivity", "connectivity-fw"), type_of("connectivity", "connectivity-fw"), "delete-replaced"),
        fake.summary({"create": 6, "same": 1, "replace": 1}),
    ]
    harness.scenario(up=[{"events": events, "outputs": {"lakeAccountName": "stcontosoase"}}])

    def on_event(record):
        if record["event"] == Event.STEP_SUCCEEDED and record["step"] == "foundation.deploy":
            harness.go.touch()

    session = harness.session()
    result, state = harness.run(session, on_event)

    assert result.outcome == Outcome.RECOVERED
    assert [args[0] for args in harness.operations()] == ["up"]  # one update for five components
    order = succeeded_order(state)
    assert order.index("foundation.deploy") < order.index("connectivity.deploy") < order.index("lake.deploy")

    foundation = state.steps["foundation.deploy"]
    # It finished while the update was still running: it did not wait for the whole stack.
    assert foundation.evidence["update"]["state"] == "running"
    assert {r["name"] for r in foundation.evidence["resources"]} == {"foundation-rg-data", "foundation-logs"}
    for record in foundation.evidence["resources"]:
        assert record["status"] == "done" and record["op"] == "create"
        assert record["started_at"] and record["finished_at"] and record["duration_s"] >= 0

    connectivity = {r["name"]: r for r in state.steps["connectivity.deploy"].evidence["resources"]}
    assert set(connectivity) == {"connectivity-vnet", "connectivity-fw"}
    assert connectivity["connectivity-vnet"]["op"] == "same"
    assert connectivity["connectivity-fw"]["op"] == "replace"

    lake = state.steps["lake.deploy"]
    resources = {r["name"]: r for r in lake.outputs["resources"]}
    assert set(resources) == {"lake-account", "lake-raw"}
    account = resources["lake-account"]
    assert account["urn"] == urn_of("lake", "lake-account") and account["status"] == "done"
    assert account["id"] == "/fake/lake-account" and account["type"] == "azure-native:storage:StorageAccount"
    assert account["outputs"]["primaryEndpoints"]["blob"] == "https://stcontosoase.blob.core.windows.net/"
    assert "primaryKey" not in account["outputs"]
    assert "not-for-the-journal" not in (harness.run_dir / RunDir.JOURNAL).read_text()

    # Other step kinds are not claimed as passed when nothing ran them.
    smoke = state.steps["lake.smoke"]
    assert smoke.exercised is False and smoke.evidence["note"] == NOT_EXERCISED

    # The steps may all be done before the update has ended; its outputs wait for the end.
    assert session.stack_outputs() == {"lakeAccountName": "stcontosoase"}
    update = session.summary()["updates"]
    assert len(update) == 1 and update[0]["state"] == "succeeded"
    assert update[0]["summary"]["resource_changes"] == {"create": 6, "same": 1, "replace": 1}


def test_a_failed_resource_fails_only_its_components_step(harness):
    message = ("error: creating storage account: StorageAccountAlreadyTaken: The storage account named "
               "stcontosoase is already taken. AccountKey=c2VjcmV0LWtleS1mb3ItdGVzdHM=")
    events = [
        fake.prelude(), *component_events("foundation"), *component_events("connectivity"),
        *component_events("postgres"),
        fake.started(urn_of("lake", "lake-account"), type_of("lake", "lake-account")),
        *fake.failed(urn_of("lake", "lake-account"), type_of("lake", "lake-account"), message),
        fake.summary({"create": 5}),
    ]
    harness.scenario(up=[{"events": events, "exit_code": 255, "stderr": "error: update failed"}])

    result, state = harness.run(harness.session())

    assert result.outcome == Outcome.PARTIAL
    for step in ("foundation.deploy", "connectivity.deploy", "postgres.deploy"):
        assert state.steps[step].state == "succeeded", step
    lake = state.steps["lake.deploy"]
    assert lake.state == "failed" and lake.attempts == 1  # permanent: not retried
    assert lake.error["retriable"] is False
    assert "StorageAccountAlreadyTaken" in lake.error["error"] and "lake-account" in lake.error["error"]
    failed = [r for r in lake.evidence["resources"] if r["status"] == "failed"]
    assert [r["name"] for r in failed] == ["lake-account"] and "already taken" in failed[0]["error"]
    assert "c2VjcmV0LWtleS1mb3ItdGVzdHM=" not in (harness.run_dir / RunDir.JOURNAL).read_text()
    # Event Hubs had not started when the update failed: its step fails with the update's error.
    event_hubs = state.steps["event_hubs.deploy"]
    assert event_hubs.state == "failed" and "pulumi up failed (CommandError, exit 255)" in event_hubs.error["error"]
    assert state.steps["lake.smoke"].state == "skipped"


def test_a_concurrent_update_is_retried_then_succeeds(harness):
    everything = [fake.prelude(), *(e for c in RESOURCES for e in component_events(c)), fake.summary({"create": 8})]
    harness.scenario(up=[{"events": [], "exit_code": 255, "stderr": fake.CONFLICT}, {"events": everything}])

    result, state = harness.run(harness.session())

    assert result.outcome == Outcome.RECOVERED
    foundation = state.steps["foundation.deploy"]
    assert foundation.attempts == 2
    transient = [e for e in state.events if e["event"] == Event.STEP_FAILED and e["step"] == "foundation.deploy"]
    assert len(transient) == 1 and transient[0]["retriable"] is True and transient[0]["final"] is False
    assert "ConcurrentUpdateError" in transient[0]["error"]
    assert [args[0] for args in harness.operations()] == ["up", "up"]
    assert all(state.steps[f"{c}.deploy"].attempts == 1 for c in ("connectivity", "lake", "postgres", "event_hubs"))


def test_a_command_error_is_permanent_with_the_redacted_stderr_tail(harness):
    stderr = "\n".join([
        "warning: using the fake CLI",
        "error: could not reach https://stcontosoase.blob.core.windows.net/state?sv=2024&sig=c2lnbmF0dXJlLXNlY3JldA",
        "Authorization: Bearer eyJhbGciOiJub25lIn0.eyJzdWIiOiJ0ZXN0In0.c2lnbmF0dXJl",
        "error: failed to load checkpoint: blob storage unavailable",
    ])
    harness.scenario(up=[{"events": [], "exit_code": 255, "stderr": stderr}])

    result, state = harness.run(harness.session())

    assert result.outcome == Outcome.FAILED
    foundation = state.steps["foundation.deploy"]
    assert foundation.state == "failed" and foundation.attempts == 1 and foundation.error["retriable"] is False
    assert "failed to load checkpoint: blob storage unavailable" in foundation.error["error"]
    tail = foundation.evidence["stderr_tail"]
    assert tail[-1] == "error: failed to load checkpoint: blob storage unavailable"
    assert foundation.evidence["exit_code"] == 255 and foundation.evidence["command"] == "pulumi up"
    journal_text = (harness.run_dir / RunDir.JOURNAL).read_text()
    for secret in ("c2lnbmF0dXJlLXNlY3JldA", "eyJzdWIiOiJ0ZXN0In0"):
        assert secret not in journal_text
    assert [args[0] for args in harness.operations()] == ["up"]


def interrupted_journal(run_dir: Path) -> Journal:
    """The journal of a drctl that died while foundation.deploy (so `pulumi up`) was running."""
    from orchestrator.plan.recovery import plan_to_json

    journal = Journal.open(run_dir)
    journal.append(Event.RUN_STARTED, plan=plan_to_json(plan()), max_workers=4)
    journal.append(Event.STEP_STARTED, step="foundation.deploy", attempt=1, component="foundation", kind="deploy")
    journal.close()
    return Journal.open(run_dir)


@pytest.mark.parametrize("cause", ["journal", "pending-operations", "neither"])
def test_resume_after_an_interrupted_update_refreshes_first(harness, cause):
    everything = [fake.prelude(), *(e for c in RESOURCES for e in component_events(c)), fake.summary({"create": 8})]
    pending = [{"resource": {"urn": urn_of("lake", "lake-account"), "type": type_of("lake", "lake-account")},
                "type": "creating"}]
    harness.scenario(up=[{"events": everything}], refresh=[{"events": [fake.summary({"refresh": 8})]}],
                     stack={"pending_operations": pending if cause == "pending-operations" else []})
    from orchestrator.verbs.failover import update_interrupted

    journal = interrupted_journal(harness.run_dir) if cause == "journal" else None
    interrupted = update_interrupted(journal.state, plan()) if journal else False
    assert interrupted is (cause == "journal")

    session = harness.session(interrupted=interrupted)
    result, state = harness.run(session, journal=journal)

    assert result.outcome == Outcome.RECOVERED
    operations = harness.operations()
    if cause == "neither":
        assert [args[0] for args in operations] == ["up"]
        assert state.steps["foundation.deploy"].evidence["update"]["refresh_first"] is None
        return
    assert [args[0] for args in operations] == ["refresh", "up"]
    assert "--clear-pending-creates" in operations[0]
    refresh = state.steps["foundation.deploy"].evidence["update"]["refresh_first"]
    assert refresh["clear_pending_creates"] is True
    assert ("journal" in refresh["reason"]) is (cause == "journal")
    if cause == "journal":
        assert state.steps["foundation.deploy"].attempts == 2  # the attempt that died counts


def test_an_unknown_resource_is_placed_by_its_components_type_in_the_urn():
    index = ComponentIndex.from_graph(graph())
    assert index.component_of(urn_of("lake", "lake-raw")) == "lake"
    # Not in the preview graph (a resource the real program adds): its parent chain names the Lake.
    assert index.component_of(fake.urn(STACK, "azure-native:storage:ManagementPolicy", "lake-policy",
                                       (COMPONENTS["lake"],))) == "lake"
    assert index.component_of(fake.urn(STACK, "pulumi:providers:azure-native", "default_3_29_0")) is None
    assert index.expected("postgres") == {("azure-native:dbforpostgresql:Server", "postgres-server")}


def test_a_missing_cli_is_named_with_where_to_get_it(tmp_path, monkeypatch):
    monkeypatch.delenv(PULUMI_COMMAND_ENV, raising=False)
    with pytest.raises(PulumiCliMissing) as missing:
        find_pulumi(environ={"PATH": str(tmp_path)})
    assert str(missing.value).startswith("the Pulumi CLI is not installed: no `pulumi` on PATH")
    assert "https://www.pulumi.com/docs/install/" in str(missing.value) and "\n" not in str(missing.value)
    assert isinstance(missing.value, BadInput)

    with pytest.raises(PulumiCliMissing, match=PULUMI_COMMAND_ENV):
        find_pulumi(environ={PULUMI_COMMAND_ENV: str(tmp_path / "nowhere" / "bin" / "pulumi")})
    assert find_pulumi(environ={PULUMI_COMMAND_ENV: str(fake.FAKE_ROOT)}) == fake.FAKE_BIN

    # The CLI vanishing after the preconditions: the deploy step fails permanently, saying so.
    stack = PulumiStack(tmp_path, STACK, command=tmp_path / "gone" / "bin" / "pulumi")
    with pytest.raises(PermanentError, match="the Pulumi CLI is not installed"):
        stack.up()


REAL_CREDENTIALS = ("AZURE_CLIENT_ID", "AZURE_TENANT_ID", "AZURE_SUBSCRIPTION_ID")


def _real_run_missing() -> list[str]:
    missing = [] if shutil.which("pulumi") else ["the Pulumi CLI (no `pulumi` on PATH)"]
    missing += [name for name in REAL_CREDENTIALS if not os.environ.get(name)]
    if not (os.environ.get("AZURE_CLIENT_SECRET") or os.environ.get("AZURE_FEDERATED_TOKEN_FILE")):
        missing.append("AZURE_CLIENT_SECRET or AZURE_FEDERATED_TOKEN_FILE")
    return missing


@pytest.mark.skipif(bool(_real_run_missing()), reason="needs a real Pulumi CLI and Azure credentials; missing: "
                    + ", ".join(_real_run_missing()))
def test_real_pulumi_up(tmp_path):
    """The real Automation API and `pulumi` binary against a real subscription: one resource group,
    in a throwaway project and a local file backend, destroyed afterwards."""
    from pulumi import automation as auto

    location = os.environ.get("DRCTL_IT_LOCATION", "australiasoutheast")
    project = tmp_path / "project"
    project.mkdir()
    (project / "Pulumi.yaml").write_text(
        "name: drctl-it\nruntime: yaml\nresources:\n  foundation-rg-data:\n"
        "    type: azure-native:resources:ResourceGroup\n"
        f"    properties:\n      location: {location}\n"
    )
    (tmp_path / "state").mkdir()
    stack_name = f"it{uuid.uuid4().hex[:8]}"
    secret = os.environ.get("AZURE_CLIENT_SECRET", "")
    env = {
        "PULUMI_BACKEND_URL": f"file://{tmp_path / 'state'}", "PULUMI_CONFIG_PASSPHRASE": "drctl-it",
        # azure-native reads ARM_*; the rest of drctl reads AZURE_*.
        "ARM_CLIENT_ID": os.environ["AZURE_CLIENT_ID"], "ARM_TENANT_ID": os.environ["AZURE_TENANT_ID"],
        "ARM_SUBSCRIPTION_ID": os.environ["AZURE_SUBSCRIPTION_ID"],
        **({"ARM_CLIENT_SECRET": secret} if secret else {"ARM_USE_OIDC": "true",
                                                         "ARM_OIDC_TOKEN_FILE_PATH": os.environ.get("AZURE_FEDERATED_TOKEN_FILE", "")}),
    }
    rg_type = "azure-native:resources:ResourceGroup"
    real_graph = Graph(
        stack=stack_name, region=location,
        resources=[{"urn": "", "type": rg_type, "name": "foundation-rg-data", "physical_name": None,
                    "location": location, "component": "foundation"}],
        components=[{"urn": "", "type": COMPONENTS["foundation"], "name": "foundation", "component": None}],
    )
    stack = PulumiStack(project, stack_name, command=Path(shutil.which("pulumi")), env_vars=env)
    session = DeploymentSession(stack, ComponentIndex.from_graph(real_graph))
    try:
        outcome = session.deploy("foundation")
        record = outcome.evidence["resources"][0]
        assert record["type"] == rg_type and record["status"] == "done" and record["op"] == "create"
        assert outcome.outputs["resources"][0]["id"].startswith("/subscriptions/")
        assert session.stack_outputs() == {}
        assert session.summary()["updates"][0]["state"] == "succeeded"
    finally:
        real = auto.select_stack(stack_name, work_dir=str(project), opts=auto.LocalWorkspaceOptions(env_vars=env))
        real.destroy()
        real.workspace.remove_stack(stack_name)
    assert json.dumps(outcome.evidence)  # JSON-able, as the journal needs


def test_a_stack_that_does_not_exist_yet_is_created(harness):
    # The secondary stack may never have been deployed before the day: create_or_select makes it.
    fake.write_scenario(harness.dir, stacks={}, up=[{"events": [fake.prelude(), *component_events("foundation")]}])

    outcome = harness.session().deploy("foundation")

    assert {r["name"] for r in outcome.outputs["resources"]} == {"foundation-rg-data", "foundation-logs"}
    assert fake.calls(harness.dir)[:2] == [["stack", "select", "--stack", STACK], ["stack", "init", STACK]]


def test_the_owed_refresh_survives_a_locked_stack(harness):
    # The refresh itself meets another update's lock: retried, and still done before the up.
    everything = [fake.prelude(), *(e for c in RESOURCES for e in component_events(c)), fake.summary({"create": 8})]
    harness.scenario(up=[{"events": everything}],
                     refresh=[{"exit_code": 255, "stderr": fake.CONFLICT}, {"events": [fake.summary({"same": 8})]}])
    journal = interrupted_journal(harness.run_dir)

    result, state = harness.run(harness.session(interrupted=True), journal=journal)

    assert result.outcome == Outcome.RECOVERED
    assert [args[0] for args in harness.operations()] == ["refresh", "refresh", "up"]
    assert all("--clear-pending-creates" in args for args in harness.operations()[:2])
    assert state.steps["foundation.deploy"].evidence["update"]["generation"] == 2


def test_state_readable_selects_and_never_creates_the_stack(harness):
    harness.scenario(up=[], stack={})
    assert harness.stack().state_readable() is True
    # The secondary stack may never have been deployed before the day: the backend answered, and the
    # failover's create_or_select makes it. Not a reason to block the first failover.
    fake.write_scenario(harness.dir, stacks={}, up=[])
    (harness.dir / "fake_pulumi_state.json").unlink()
    check = check_state_readable(harness.stack().state_readable)
    assert (check.status, check.severity, check.blocks) == ("finding", "info", False)
    assert "will create" in check.message
    assert ["stack", "init", STACK] not in fake.calls(harness.dir)


def test_state_readable_blocks_a_self_managed_backend_without_its_passphrase(harness, monkeypatch):
    for name in ("PULUMI_CONFIG_PASSPHRASE", "PULUMI_CONFIG_PASSPHRASE_FILE"):
        monkeypatch.delenv(name, raising=False)
    harness.scenario(up=[], stack={})
    backend = {"PULUMI_BACKEND_URL": "azblob://state?storage_account=stdrstate"}
    stack = PulumiStack(REPO, STACK, command=fake.FAKE_BIN, env_vars={**harness.env(), **backend})

    check = check_state_readable(stack.state_readable)

    assert check.blocks
    assert check.message == ("reading the state failed: PULUMI_CONFIG_PASSPHRASE or PULUMI_CONFIG_PASSPHRASE_FILE "
                             "must be set: the state backend azblob://state is self-managed and stack 'secondary' "
                             "keeps its secrets encrypted with a passphrase")
    with_file = {**backend, "PULUMI_CONFIG_PASSPHRASE_FILE": str(harness.dir / "absent")}
    with pytest.raises(PermanentError, match=r"PULUMI_CONFIG_PASSPHRASE_FILE: .*absent cannot be read"):
        PulumiStack(REPO, STACK, command=fake.FAKE_BIN, env_vars={**harness.env(), **with_file}).state_readable()
    unlocked = {**harness.env(), **backend, "PULUMI_CONFIG_PASSPHRASE": ""}  # set, even empty, is a passphrase
    assert PulumiStack(REPO, STACK, command=fake.FAKE_BIN, env_vars=unlocked).state_readable() is True
