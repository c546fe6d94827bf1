"""Replay on Azure: the Data Factory ingestion pipeline re-run from the store's recovered data timestamp.

The management client runs for real through AzureSession; only the socket is replaced
(tests/azure_fixtures.ExampleTransport) and answers with the REST API specs' PipelineRuns_Get
example. The specs' Pipelines_CreateRun.json example is not among the shared fixtures
(INDEX.md lists Factories_Get and PipelineRuns_Get only), so the createRun answer is built here:
its documented body is just {"runId": ...}.
"""

from __future__ import annotations

import copy
import dataclasses
import json
from datetime import UTC, datetime
from pathlib import Path

import pytest

from components import naming
from orchestrator.model import PermanentError, Step, StepKind, TransientError
from orchestrator.program.capture import Graph
from orchestrator.report.handover import StepRecord
from orchestrator.report.run_summary import measured_rpo
from orchestrator.targets.azure.clients import AzureSession
from orchestrator.targets.azure.data_steps import REPLAY_NOT_YET, AzureDataSteps
from orchestrator.targets.azure.stores.replay import PIPELINE, replay_from_watermark
from stacks.config import load_stack_config
from tests.azure_fixtures import SUBSCRIPTION, ExampleTransport, FakeCredential, Route, example_body

REPO = Path(__file__).resolve().parents[4]
RUN_GET = ("datafactory/resource-manager/Microsoft.DataFactory/DataFactory/stable/2018-06-01/examples/"
           "PipelineRuns_Get.json")
RUN = example_body(RUN_GET)
RUN_ID = RUN["runId"]
WATERMARK = "2018-06-16T00:30:00Z"


def factory_path(group: str = "rg", factory: str = "adf") -> str:
    return f"/subscriptions/{SUBSCRIPTION}/resourceGroups/{group}/providers/Microsoft.DataFactory/factories/{factory}"


def create_route(group: str = "rg", factory: str = "adf", **kwargs) -> Route:
    return Route("POST", f"{factory_path(group, factory)}/pipelines/{PIPELINE}/createRun",
                 **({"body": {"runId": RUN_ID}} | kwargs))


def get_route(*bodies: dict, group: str = "rg", factory: str = "adf") -> Route:
    """Answers the run's polls with `bodies` in turn, the last one from then on."""
    answers = list(bodies)

    def respond(_request):
        return 200, answers.pop(0) if len(answers) > 1 else answers[0], {}

    return Route("GET", f"{factory_path(group, factory)}/pipelineruns/{RUN_ID}", respond=respond)


def run_with(status: str, **changes) -> dict:
    body = copy.deepcopy(RUN)
    body.update(status=status, **changes)
    return body


def session(*routes: Route) -> tuple[AzureSession, ExampleTransport]:
    transport = ExampleTransport(list(routes))
    # retry_total=0: the engine retries whole steps; an SDK retry would hide what the step decides.
    return AzureSession(FakeCredential(), SUBSCRIPTION, transport=transport, retry_total=0), transport


def only_arm(transport: ExampleTransport) -> None:
    assert {r.url.split("/")[2] for r in transport.requests} == {"management.azure.com"}


class FakeTime:
    def __init__(self) -> None:
        self.now, self.sleeps = 0.0, []

    def clock(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds


def replay(s: AzureSession, fake: FakeTime | None = None, **kwargs) -> dict:
    fake = fake or FakeTime()
    return replay_from_watermark(s.datafactory(), "rg", "adf", PIPELINE, WATERMARK, poll_interval_s=10,
                                 timeout_s=60, sleep=fake.sleep, clock=fake.clock, **kwargs)


def test_a_succeeded_run_is_the_evidence_and_the_watermark_is_the_pipeline_parameter():
    s, transport = session(create_route(), get_route(RUN))
    started = []
    evidence = replay(s, on_started=started.append)
    assert evidence["status"] == "Succeeded" and evidence["run_id"] == RUN_ID == started[0]
    assert evidence["run_start"] == "2018-06-16T00:37:44Z" and evidence["run_end"] == "2018-06-16T00:38:12Z"
    assert evidence["duration_ms"] == 28105 and evidence["watermark"] == WATERMARK
    create = transport.requests[0]
    assert create.method == "POST" and json.loads(create.body) == {"watermark": WATERMARK}
    assert "api-version=2018-06-01" in create.url
    only_arm(transport)


def test_a_running_run_is_polled_until_it_succeeds():
    fake = FakeTime()
    s, transport = session(create_route(), get_route(run_with("Queued"), run_with("InProgress"), RUN))
    assert replay(s, fake)["status"] == "Succeeded"
    assert fake.sleeps == [10, 10]
    assert [r.method for r in transport.requests] == ["POST", "GET", "GET", "GET"]


def test_a_run_still_running_after_the_budget_is_transient_and_creates_no_second_run():
    fake = FakeTime()
    s, transport = session(create_route(), get_route(run_with("InProgress")))
    with pytest.raises(TransientError, match="still InProgress after 60s"):
        replay(s, fake)
    assert sum(fake.sleeps) == 60
    assert [r.method for r in transport.requests].count("POST") == 1


def test_a_failed_run_is_permanent_with_its_message():
    message = "Operation on target CopyLandingToRaw failed: ErrorCode=UserErrorFileNotFound"
    s, _ = session(create_route(), get_route(run_with("Failed", message=message)))
    with pytest.raises(PermanentError, match="ended Failed: Operation on target") as caught:
        replay(s)
    assert caught.value.evidence["message"] == message and caught.value.evidence["run_id"] == RUN_ID


def test_a_cancelled_run_is_permanent():
    s, _ = session(create_route(), get_route(run_with("Cancelled")))
    with pytest.raises(PermanentError, match="ended Cancelled"):
        replay(s)


def test_throttling_is_transient_with_retry_after():
    throttled = create_route(status=429, headers={"Retry-After": "17"},
                             body={"error": {"code": "TooManyRequests", "message": "Rate limit exceeded."}})
    s, transport = session(throttled)
    with pytest.raises(TransientError) as caught:
        replay(s)
    assert caught.value.retry_after_s == 17
    assert len(transport.requests) == 1
    only_arm(transport)


def test_a_missing_pipeline_is_permanent_with_the_service_code():
    missing = create_route(status=404, body={"error": {"code": "PipelineNotFound", "message": "Pipeline not found."}})
    s, _ = session(missing)
    with pytest.raises(PermanentError) as caught:
        replay(s)
    assert caught.value.evidence["error_code"] == "PipelineNotFound"


# -- the replay step of AzureDataSteps --------------------------------------------------------------
class Context:
    def __init__(self, run_dir: Path, outputs: dict | None = None) -> None:
        self.run_dir, self.outputs = run_dir, outputs or {}

    def outputs_of(self, step_id: str) -> dict:
        return self.outputs.get(step_id, {})


NOW = datetime(2018, 6, 16, 1, 30, tzinfo=UTC)


def steps(tmp_path: Path, *routes: Route, data_factory: bool = True) -> tuple[AzureDataSteps, ExampleTransport]:
    config = load_stack_config(REPO, "secondary")
    config = dataclasses.replace(config, switches={**config.switches, "dataFactory": data_factory})
    graph = Graph(stack="secondary", region=config.region, resources=[],
                  components=[{"urn": "urn:l", "type": "dataplatform:data:Lake", "name": "lake", "component": None},
                              {"urn": "urn:p", "type": "dataplatform:data:PostgresServer", "name": "postgres",
                               "component": None}])
    s, transport = session(*routes)
    return AzureDataSteps(s, config, graph, tmp_path, poll_interval_s=0, now=lambda: NOW), transport


def stack_routes() -> tuple[Route, Route]:
    group, factory = naming.resource_group_name("contoso", "data", "ase"), naming.data_factory_name("contoso", "ase")
    return create_route(group, factory), get_route(RUN, group=group, factory=factory)


def replay_step(component: str = "lake") -> Step:
    return Step(id=f"{component}.replay", component=component, kind=StepKind.REPLAY, depends_on=(), estimate_s=1)


def test_the_lake_replay_step_runs_the_stacks_pipeline_and_reports_rpo(tmp_path):
    runner, transport = steps(tmp_path, *stack_routes())
    context = Context(tmp_path, {"lake.rehydrate": {"watermark": 7, "recovered_data_timestamp": WATERMARK}})
    outcome = runner.run(replay_step(), context)
    assert outcome.exercised
    assert outcome.outputs["rpo_before_replay_s"] == 3600.0 and outcome.outputs["rpo_after_replay_s"] == 0.0
    assert outcome.outputs["data_timestamp"] == "2018-06-16T00:37:44Z"
    assert outcome.evidence["factory"] == "contoso-adf-ase" and not outcome.evidence["resumed_run"]
    assert json.loads(transport.requests[0].body) == {"watermark": WATERMARK}
    assert f"/resourceGroups/{naming.resource_group_name('contoso', 'data', 'ase')}/" in transport.requests[0].url
    only_arm(transport)
    # The report reads the RPO figures as it does locally.
    records = [StepRecord(id="lake.rehydrate", component="lake", kind=StepKind.REHYDRATE, state="succeeded",
                          attempts=1, duration_s=1, outputs=context.outputs["lake.rehydrate"], evidence={}),
               StepRecord(id="lake.replay", component="lake", kind=StepKind.REPLAY, state="succeeded", attempts=1,
                          duration_s=1, outputs=outcome.outputs, evidence=outcome.evidence)]
    assert measured_rpo(records) == {"rpo_s_before_replay": 3600.0, "rpo_s_after_replay": 0.0}


def test_a_retried_replay_step_polls_the_run_it_created(tmp_path):
    runner, transport = steps(tmp_path, *stack_routes())
    context = Context(tmp_path, {"lake.rehydrate": {"recovered_data_timestamp": WATERMARK}})
    runner.run(replay_step(), context)
    assert json.loads((tmp_path / "replay" / "lake.json").read_text()) == {"run_id": RUN_ID, "watermark": WATERMARK}
    again = runner.run(replay_step(), context)
    assert again.evidence["resumed_run"] and again.outputs["pipeline_run_id"] == RUN_ID
    assert [r.method for r in transport.requests] == ["POST", "GET", "GET"]


def test_no_recovered_timestamp_fails_rather_than_replaying_everything(tmp_path):
    runner, transport = steps(tmp_path, *stack_routes())
    context = Context(tmp_path, {"lake.rehydrate": {"watermark": 7, "recovered_data_timestamp": None}})
    with pytest.raises(PermanentError, match="recorded no recovered data timestamp"):
        runner.run(replay_step(), context)
    assert transport.requests == []


def test_replay_is_not_exercised_without_a_pipeline_a_factory_or_a_recovered_point(tmp_path):
    recovered = {"lake.rehydrate": {"recovered_data_timestamp": WATERMARK},
                 "postgres.rehydrate": {"recovered_data_timestamp": WATERMARK}}
    runner, transport = steps(tmp_path, *stack_routes(), data_factory=False)
    no_factory = runner.run(replay_step(), Context(tmp_path, recovered))
    assert not no_factory.exercised and no_factory.evidence["note"] == REPLAY_NOT_YET
    assert "Data Factory service is not in this stack" in no_factory.evidence["reason"]
    runner, transport = steps(tmp_path, *stack_routes())
    postgres = runner.run(replay_step("postgres"), Context(tmp_path, recovered))
    assert not postgres.exercised and "no pipeline of the repository loads postgres" in postgres.evidence["reason"]
    nothing = runner.run(replay_step(), Context(tmp_path))
    assert not nothing.exercised and "recorded nothing" in nothing.evidence["reason"]
    assert transport.requests == []
