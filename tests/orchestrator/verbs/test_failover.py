"""`drctl failover`: preconditions first, a dry run that needs nothing, and a whole run through the
engine on the real project's plan with the fake `pulumi` CLI (tests/fake_pulumi) deploying it."""

from __future__ import annotations

import importlib.machinery
import json
import sys
import types
from pathlib import Path

import pytest
from azure.core.exceptions import ClientAuthenticationError
from azure.identity import CredentialUnavailableError
from crashed_runs import crashed_failover
from fake_pulumi import scenario as fake
from stack_loads import count_stack_loads

from orchestrator.atomic import write_json_atomic
from orchestrator.engine.journal import Journal
from orchestrator.engine.journal_state import Event
from orchestrator.engine.retry import RetryPolicy
from orchestrator.errors import BadInput
from orchestrator.model import Plan, Step, StepKind, StepOutcome
from orchestrator.plan.recovery import plan_from_json
from orchestrator.run.rundir import utc_now
from orchestrator.stack import capture, load_stack
from orchestrator.targets.azure import optional
from orchestrator.targets.azure.deploy.stack import PULUMI_COMMAND_ENV
from orchestrator.targets.azure.preconditions import Preconditions, check_azure_credentials
from orchestrator.verbs.failover import failover_command, resume_failover, update_interrupted
from orchestrator.verbs.plan import plan_command

PROJECT_DIR = Path(__file__).resolve().parents[3]
STACK = "secondary"


def never(*_args, **_kwargs):
    raise AssertionError("must not be called")


class Credential:
    def __init__(self, error: Exception | None = None) -> None:
        self.error, self.closed = error, False

    def get_token(self, *scopes: str, **_kwargs):
        assert scopes == ("https://management.azure.com/.default",)
        if self.error:
            raise self.error
        return object()

    def close(self) -> None:
        self.closed = True


def one_line(message: str) -> str:
    assert "\n" not in message
    return message


def preflight_passed() -> dict:
    return {"blocked": False, "checks": []}


# -- preconditions --------------------------------------------------------------------------------------


def test_no_pulumi_cli_is_bad_input_before_anything_runs(tmp_path, monkeypatch):
    monkeypatch.delenv(PULUMI_COMMAND_ENV, raising=False)
    monkeypatch.setenv("PATH", str(tmp_path / "empty"))
    with pytest.raises(BadInput) as bad:
        failover_command(load_stack(PROJECT_DIR, STACK), workdir=tmp_path / "work",
                         preconditions=Preconditions(check_credentials=never), data_steps=never)
    message = one_line(str(bad.value))
    assert message.startswith("the Pulumi CLI is not installed: no `pulumi` on PATH")
    assert "(https://www.pulumi.com/docs/install/)" in message
    assert not (tmp_path / "work").exists()  # no run directory: nothing ran


def test_no_azure_credentials_is_bad_input_before_anything_runs(tmp_path, monkeypatch):
    monkeypatch.setenv(PULUMI_COMMAND_ENV, str(fake.FAKE_BIN))
    credential = Credential(CredentialUnavailableError("EnvironmentCredential authentication unavailable."))

    def no_credentials() -> None:
        check_azure_credentials(lambda: credential, environ={})

    with pytest.raises(BadInput) as bad:
        failover_command(load_stack(PROJECT_DIR, STACK), workdir=tmp_path / "work",
                         preconditions=Preconditions(check_credentials=no_credentials), data_steps=never)
    assert one_line(str(bad.value)) == ("no Azure credentials: set AZURE_CLIENT_ID/AZURE_TENANT_ID/AZURE_CLIENT_SECRET, "
                                        "use workload identity, or az login")
    assert credential.closed and not (tmp_path / "work").exists()


CHAIN_FAILED = ("DefaultAzureCredential failed to retrieve a token from the included credentials.\n"
                "Attempted credentials:\n\tEnvironmentCredential: Authentication failed: AADSTS7000215: Invalid client "
                "secret provided.\n\tManagedIdentityCredential: unavailable\n"
                "To mitigate this issue, please refer to the troubleshooting guidelines")


@pytest.mark.parametrize("error, environ, expected", [
    (CredentialUnavailableError("unavailable"), {"AZURE_CLIENT_ID": "app", "AZURE_CLIENT_SECRET": "s3cr3t-value"},
     "no Azure credentials: AZURE_TENANT_ID not set (AZURE_CLIENT_ID, AZURE_CLIENT_SECRET are); set "),
    # The whole chain failing with nothing declared is a missing login, whatever the exception type.
    (ClientAuthenticationError(CHAIN_FAILED), {}, "no Azure credentials: set AZURE_CLIENT_ID/"),
    # A declared secret that Entra ID refuses: say so, with the refusing credential's line.
    (ClientAuthenticationError(CHAIN_FAILED), {"AZURE_CLIENT_ID": "a", "AZURE_TENANT_ID": "t", "AZURE_CLIENT_SECRET": "x"},
     "Azure credentials were refused: EnvironmentCredential: Authentication failed: AADSTS7000215"),
], ids=["partial-service-principal", "nothing-declared", "secret-refused"])
def test_credential_problems_are_named_in_one_line(error, environ, expected):
    with pytest.raises(BadInput) as bad:
        check_azure_credentials(lambda: Credential(error), environ=environ)
    assert one_line(str(bad.value)).startswith(expected)


def test_working_credentials_pass():
    credential = Credential()
    check_azure_credentials(lambda: credential, environ={})
    assert credential.closed


# -- dry run ---------------------------------------------------------------------------------------------


def test_dry_run_prints_the_plan_and_checks_without_cli_or_credentials(tmp_path, monkeypatch):
    planned = [{"id": "credentials", "title": "Credentials acquire a management token", "calls": "get_token"}]
    module = types.ModuleType(optional.PREFLIGHT_MODULE)
    module.__spec__ = importlib.machinery.ModuleSpec(optional.PREFLIGHT_MODULE, None)
    seen = []
    module.planned_checks = lambda config: seen.append(config.stack) or planned
    monkeypatch.setitem(sys.modules, optional.PREFLIGHT_MODULE, module)
    monkeypatch.setenv("PATH", str(tmp_path / "empty"))  # no CLI anywhere

    document = failover_command(load_stack(PROJECT_DIR, STACK), workdir=tmp_path / "work", dry_run=True,
                                preconditions=Preconditions(find_pulumi=never, check_credentials=never),
                                data_steps=never)

    assert document["dry_run"] is True and document["stack"] == STACK
    assert document["plan"] == plan_command(PROJECT_DIR, STACK, workdir=tmp_path / "work")
    assert document["plan"]["history"]["runs"] == 0  # read, never created: the workdir stays absent
    assert document["preflight_checks"] == planned and seen == [STACK] and document["preflight_note"] is None
    assert [c["check"] for c in document["preconditions"]] == ["pulumi-cli", "azure-credentials"]
    assert json.loads(json.dumps(document)) == document
    assert not (tmp_path / "work").exists()


def test_dry_run_without_a_preflight_module_says_so(monkeypatch):
    monkeypatch.setattr(optional.importlib.util, "find_spec", lambda name: None)
    checks, note = optional.planned_preflight(object())
    assert checks == [] and "planned_checks is not available" in note


def test_a_primary_stack_is_refused(tmp_path):
    with pytest.raises(BadInput, match="primary is a primary stack"):
        failover_command(load_stack(PROJECT_DIR, "primary"), workdir=tmp_path, dry_run=True)


# -- a whole run with the fake CLI ------------------------------------------------------------------------


def deploy_events(graph) -> list[dict]:
    """The update as the engine reports it: each component's resources in the plan's order."""
    order = [c["name"] for c in graph.components]
    events = [fake.prelude()]
    for component in order:
        for resource in graph.resources_of(component):
            arm_id = f"/subscriptions/0000/resourceGroups/rg/providers/x/{resource['name']}"
            events += fake.resource(resource["urn"], resource["type"], id_=arm_id,
                                    outputs={"name": resource["physical_name"] or resource["name"]})
    return [*events, fake.summary({"create": len(graph.resources)})]


class DataSteps:
    """Stands in for runner_data.AzureDataSteps: records what it ran and what deploy told it."""

    def __init__(self) -> None:
        self.ran: list[str] = []
        self.lake_resources: list[dict] = []
        self.closed = False

    def factory(self, run_dir, config, graph):
        assert run_dir.is_dir() and config.stack == STACK and graph.stack == STACK
        return self

    def __call__(self, step, context):
        self.ran.append(step.id)
        if step.id == "lake.rehydrate":
            self.lake_resources = context.outputs_of("lake.deploy")["resources"]
        if step.kind == StepKind.HANDOVER:
            return StepOutcome(outputs={"handover_at": utc_now()})
        return StepOutcome(evidence={"ran": step.id})

    def close(self) -> None:
        self.closed = True


@pytest.fixture(scope="module")
def secondary_graph():
    return capture(PROJECT_DIR, STACK)


def preconditions() -> Preconditions:
    return Preconditions(find_pulumi=lambda: fake.FAKE_BIN, check_credentials=lambda: None)


def test_failover_deploys_through_pulumi_and_reports(tmp_path, monkeypatch, secondary_graph):
    scenario = fake.write_scenario(tmp_path / "fake", stacks={STACK: {}},
                                   up=[{"events": deploy_events(secondary_graph), "outputs": {"region": "australiasoutheast"}}])
    for key, value in fake.fake_env(scenario).items():
        monkeypatch.setenv(key, value)
    steps = DataSteps()
    loads = count_stack_loads(monkeypatch)

    summary = failover_command(load_stack(PROJECT_DIR, STACK), workdir=tmp_path / "work", workers=4,
                               preconditions=preconditions(), data_steps=steps.factory,
                               retry=RetryPolicy(sleep=lambda _s: None), preflight=preflight_passed)

    assert summary["outcome"] == "recovered" and steps.closed
    assert loads == {STACK: 1}  # read once, at the start, for the whole run
    run_dir = Path(summary["run_dir"])
    run = json.loads((run_dir / "run.json").read_text())
    assert run["kind"] == "failover" and run["disaster_at"] == run["declared_at"]
    assert summary["rto_s"] is not None and summary["rto_s"] >= 0
    plan = plan_from_json(json.loads((run_dir / "plan.json").read_text()))
    deploys = [s.id for s in plan.steps if s.kind == StepKind.DEPLOY]
    assert set(steps.ran) == {s.id for s in plan.steps} - set(deploys)  # the rest went to the data steps
    assert [args[0] for args in fake.operations(tmp_path / "fake")] == ["up"]
    assert json.loads((run_dir / "preflight.json").read_text())["blocked"] is False  # kept as evidence

    state = Journal.open(run_dir).state
    for step_id in deploys:
        component = step_id.split(".")[0]
        recorded = {r["urn"] for r in state.steps[step_id].outputs["resources"]}
        nested = {c["name"] for c in secondary_graph.components if c["component"] == component}
        owned = [r for name in (component, *nested) for r in secondary_graph.resources_of(name)]
        assert recorded == {r["urn"] for r in owned}, step_id
        evidence = json.loads((run_dir / "evidence" / f"{step_id}.json").read_text())
        assert evidence["state"] == "succeeded" and evidence["evidence"]["resources"]
    # What the lake's data steps read from its deploy step: ARM ids and the account's name.
    assert {r["type"] for r in steps.lake_resources} >= {"azure-native:storage:StorageAccount"}
    assert all(r["id"].startswith("/subscriptions/") for r in steps.lake_resources)
    report = json.loads((run_dir / "report.json").read_text())
    assert report["deployment"]["updates"][0]["state"] == "succeeded"


def test_resume_refreshes_an_update_that_died_with_drctl(tmp_path, monkeypatch, secondary_graph):
    run_dir, plan_json = crashed_failover(tmp_path / "work", PROJECT_DIR, STACK)
    # The journal of a drctl killed while foundation.deploy, so `pulumi up`, was running.
    plan = plan_from_json(plan_json)
    foundation = plan.step("foundation.deploy")
    with Journal.open(run_dir) as journal:
        journal.append(Event.RUN_STARTED, plan=plan_json, max_workers=4)
        for dep in foundation.depends_on:
            journal.append(Event.STEP_STARTED, step=dep, attempt=1, component=dep.split(".")[0], kind="smoke")
            journal.append(Event.STEP_SUCCEEDED, step=dep, attempt=1, outputs={}, evidence={}, exercised=True,
                           duration_s=1.0)
        journal.append(Event.STEP_STARTED, step=foundation.id, attempt=1, component="foundation", kind="deploy")
    scenario = fake.write_scenario(tmp_path / "fake", stacks={STACK: {}}, up=[{"events": deploy_events(secondary_graph)}],
                                   refresh=[{"events": [fake.summary({"same": 3})]}])
    for key, value in fake.fake_env(scenario).items():
        monkeypatch.setenv(key, value)
    steps = DataSteps()

    summary = resume_failover(load_stack(PROJECT_DIR, STACK), run_dir, preconditions=preconditions(),
                              data_steps=steps.factory, retry=RetryPolicy(sleep=lambda _s: None))

    assert summary["outcome"] == "recovered"
    operations = fake.operations(tmp_path / "fake")
    assert [args[0] for args in operations] == ["refresh", "up"] and "--clear-pending-creates" in operations[0]
    assert not set(foundation.depends_on) & set(steps.ran)  # what had succeeded is not run again
    state = Journal.open(run_dir).state
    resumed = [e for e in state.events if e["event"] == Event.RUN_RESUMED]
    assert resumed and resumed[0]["reset"] == ["foundation.deploy"]
    assert "journal" in state.steps["foundation.deploy"].evidence["update"]["refresh_first"]["reason"]


def test_resume_refuses_a_drill_run(tmp_path):
    run_dir = tmp_path / "run"
    run_dir.mkdir()
    write_json_atomic(run_dir / "run.json", {"run_id": "x", "kind": "drill-local", "stack": STACK})
    with pytest.raises(BadInput, match="drill-local run, not a failover run"):
        resume_failover(load_stack(PROJECT_DIR, STACK), run_dir,
                        preconditions=Preconditions(find_pulumi=never, check_credentials=never))


def test_update_interrupted_reads_deploy_steps_only(tmp_path):
    plan = Plan("s", (Step("a.deploy", "a", StepKind.DEPLOY, (), 1.0), Step("a.smoke", "a", StepKind.SMOKE, ("a.deploy",), 1.0)),
                60, 60)
    from orchestrator.plan.recovery import plan_to_json

    with Journal.open(tmp_path) as journal:
        journal.append(Event.RUN_STARTED, plan=plan_to_json(plan), max_workers=1)
        assert not update_interrupted(journal.state, plan)  # nothing started yet
        journal.append(Event.STEP_STARTED, step="a.deploy", attempt=1)
        assert update_interrupted(journal.state, plan)  # running when the process died
        journal.append(Event.STEP_ABANDONED, step="a.deploy", reason="run interrupted")
        assert update_interrupted(journal.state, plan)  # Ctrl-C: put back to pending mid-update
        journal.append(Event.STEP_STARTED, step="a.deploy", attempt=2)
        journal.append(Event.STEP_SUCCEEDED, step="a.deploy", outputs={}, evidence={})
        journal.append(Event.STEP_STARTED, step="a.smoke", attempt=1)
        assert not update_interrupted(journal.state, plan)  # a data step running is not an update


def test_the_azure_data_steps_need_a_subscription_before_anything_runs(tmp_path, monkeypatch, secondary_graph):
    from stacks.config import load_stack_config

    for name in ("ARM_SUBSCRIPTION_ID", "AZURE_SUBSCRIPTION_ID"):
        monkeypatch.delenv(name, raising=False)
    with pytest.raises(BadInput, match="no Azure subscription for stack 'secondary'"):
        failover_command(load_stack(PROJECT_DIR, STACK), workdir=tmp_path / "work", preconditions=preconditions())
    assert not (tmp_path / "work").exists()

    monkeypatch.setenv("AZURE_SUBSCRIPTION_ID", "11111111-2222-3333-4444-555555555555")
    factory = optional.azure_data_steps(PROJECT_DIR, STACK)
    runner = factory(tmp_path, load_stack_config(PROJECT_DIR, STACK), secondary_graph)  # nothing contacted yet
    try:
        assert callable(runner) and runner._run.__self__.run_dir == tmp_path
    finally:
        runner.close()


def test_a_blocked_preflight_stops_the_failover_before_anything_is_deployed(tmp_path, monkeypatch):
    scenario = fake.write_scenario(tmp_path / "fake", stacks={STACK: {}}, up=[])
    for key, value in fake.fake_env(scenario).items():
        monkeypatch.setenv(key, value)
    blocked = {"blocked": True, "checks": [{"id": "readiness.lake", "status": "finding", "severity": "blocker"}]}

    summary = failover_command(load_stack(PROJECT_DIR, STACK), workdir=tmp_path / "work", preconditions=preconditions(),
                               data_steps=DataSteps().factory, preflight=lambda: blocked)

    assert summary == {"outcome": "blocked", "stack": STACK, "preflight": blocked}
    assert fake.operations(tmp_path / "fake") == []  # no pulumi up
    assert not (tmp_path / "work").exists()


def test_the_deploys_pulumi_cli_gets_arm_credentials_mapped_from_azure_ones(monkeypatch):
    from orchestrator.verbs import failover as verb

    for name in ("ARM_CLIENT_ID", "ARM_TENANT_ID", "ARM_CLIENT_SECRET", "ARM_SUBSCRIPTION_ID", "ARM_USE_OIDC",
                 "ARM_USE_MSI", "ARM_OIDC_TOKEN_FILE_PATH"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AZURE_CLIENT_ID", "client")
    monkeypatch.setenv("AZURE_TENANT_ID", "tenant")
    monkeypatch.setenv("AZURE_CLIENT_SECRET", "not-printed")
    seen: list[dict] = []

    class Recorder:
        def __init__(self, project_dir, name, *, command=None, env_vars=None, **_):
            seen.append(dict(env_vars or {}))
            self.state_readable = lambda: True

    monkeypatch.setattr(verb, "PulumiStack", Recorder)
    verb._real_preflight(load_stack(PROJECT_DIR, "secondary"), Path("pulumi"))
    # azure-native reads ARM_*, not AZURE_*: without the mapping it would fall back to `az login`.
    assert seen == [{"ARM_CLIENT_ID": "client", "ARM_TENANT_ID": "tenant", "ARM_CLIENT_SECRET": "not-printed"}]


# -- --recovery-point -------------------------------------------------------------------------------------


def test_a_recovery_point_is_kept_in_run_json_for_resume_and_in_the_report(tmp_path, monkeypatch, secondary_graph):
    from datetime import UTC, datetime

    scenario = fake.write_scenario(tmp_path / "fake", stacks={STACK: {}},
                                   up=[{"events": deploy_events(secondary_graph), "outputs": {"region": "australiasoutheast"}}])
    for key, value in fake.fake_env(scenario).items():
        monkeypatch.setenv(key, value)
    seen_in_run_json = []

    class PointSteps(DataSteps):  # the data steps read the point where the lake steps do: run.json
        def factory(self, run_dir, config, graph):
            self.run_dir = Path(run_dir)
            return super().factory(run_dir, config, graph)

        def __call__(self, step, context):
            seen_in_run_json.append(json.loads((self.run_dir / "run.json").read_text()).get("recovery_point"))
            return super().__call__(step, context)

    point = datetime(2026, 3, 1, 12, 30, tzinfo=UTC)
    summary = failover_command(load_stack(PROJECT_DIR, STACK), workdir=tmp_path / "work", workers=4,
                               preconditions=preconditions(), data_steps=PointSteps().factory,
                               retry=RetryPolicy(sleep=lambda _s: None), preflight=preflight_passed,
                               recovery_point=point)
    run_dir = Path(summary["run_dir"])
    assert json.loads((run_dir / "run.json").read_text())["recovery_point"] == "2026-03-01T12:30:00.000Z"
    assert seen_in_run_json and set(seen_in_run_json) == {"2026-03-01T12:30:00.000Z"}
    assert json.loads((run_dir / "report.json").read_text())["recovery_point"] == "2026-03-01T12:30:00.000Z"


def test_a_dry_run_echoes_the_recovery_point(tmp_path):
    from datetime import UTC, datetime

    document = failover_command(load_stack(PROJECT_DIR, STACK), workdir=tmp_path / "work", dry_run=True,
                                recovery_point=datetime(2026, 3, 1, tzinfo=UTC))
    assert document["recovery_point"] == "2026-03-01T00:00:00.000Z" and not (tmp_path / "work").exists()
