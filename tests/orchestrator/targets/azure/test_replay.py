"""Replay on Azure: the Data Factory ingestion pipeline re-run over the event time a store is missing.

The management client runs for real through AzureSession; only the socket is replaced
(tests/azure_fixtures.ExampleTransport) and answers with the REST API specs' Pipelines_CreateRun
and PipelineRuns_Get examples (the latter with its status or parameters changed where a test says
so). The lake the RPO is read back from is real: Azurite, with hour partitions written by the test.
"""

from __future__ import annotations

import copy
import dataclasses
import json
from datetime import UTC, datetime
from pathlib import Path

import pytest
from azurite_support import azurite_in_tempdir

from components import naming
from components.data_factory_network import MANAGED_VNET
from orchestrator.model import PermanentError, Step, StepKind, TransientError
from orchestrator.program.graph import Graph
from orchestrator.report.handover import StepRecord
from orchestrator.report.run_summary import measured_rpo
from orchestrator.targets.azure.clients import AzureSession
from orchestrator.targets.azure.data_steps import REPLAY_NOT_YET, AzureDataSteps
from orchestrator.targets.azure.stores.replay import (
    PIPELINE,
    ReplayWindow,
    newest_event_hour,
    replay_window,
    run_pipeline,
)
from orchestrator.targets.local.servers.azurite import AzuriteServer, generate_account_key
from stacks.config import load_stack_config
from tests.azure_fixtures import SUBSCRIPTION, ExampleTransport, FakeCredential, Route, example, example_body

REPO = Path(__file__).resolve().parents[4]
EXAMPLES = "datafactory/resource-manager/Microsoft.DataFactory/DataFactory/stable/2018-06-01/examples/"
RUN = example_body(EXAMPLES + "PipelineRuns_Get.json")
CREATED = example_body(EXAMPLES + "Pipelines_CreateRun.json")
RUN_ID = RUN["runId"]
ENDPOINT_GET = "datafactory/resource-manager/Microsoft.DataFactory/stable/2018-06-01/examples/ManagedPrivateEndpoints_Get.json"
WATERMARK = "2018-06-16T00:30:00Z"
WINDOW = ReplayWindow("2018-06-15T22:30:00Z", "2018-06-16T01:30:00Z")
LAKE = naming.storage_account_name("contoso", "ase")


def test_the_examples_agree_on_the_run():
    assert CREATED["runId"] == RUN_ID  # one run: created by the one, polled by the other
    assert example(EXAMPLES + "Pipelines_CreateRun.json")["parameters"]["pipelineName"] == RUN["pipelineName"]


def factory_path(group: str = "rg", factory: str = "adf") -> str:
    return f"/subscriptions/{SUBSCRIPTION}/resourceGroups/{group}/providers/Microsoft.DataFactory/factories/{factory}"


def create_route(group: str = "rg", factory: str = "adf", **kwargs) -> Route:
    return Route("POST", f"{factory_path(group, factory)}/pipelines/{PIPELINE}/createRun",
                 **({"body": CREATED} | kwargs))


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
    return run_pipeline(s.datafactory(), "rg", "adf", PIPELINE, WINDOW.parameters(), poll_interval_s=10,
                        timeout_s=60, sleep=fake.sleep, clock=fake.clock, **kwargs)


# -- the window ------------------------------------------------------------------------------------------
def test_the_window_starts_the_ingestion_lookback_before_the_recovered_point_and_ends_now():
    now = datetime(2018, 6, 16, 1, 30, tzinfo=UTC)
    assert replay_window(WATERMARK, now) == WINDOW
    assert WINDOW.parameters() == {"windowStart": "2018-06-15T22:30:00Z", "windowEnd": "2018-06-16T01:30:00Z"}
    with pytest.raises(PermanentError, match="not before now"):
        replay_window("2018-06-16T02:00:00Z", now)


# -- the run ---------------------------------------------------------------------------------------------
def test_a_succeeded_run_is_the_evidence_and_the_window_is_the_pipelines_parameters():
    s, transport = session(create_route(), get_route(RUN))
    started = []
    evidence = replay(s, on_started=started.append)
    assert evidence["status"] == "Succeeded" and evidence["run_id"] == RUN_ID == started[0]
    assert evidence["run_start"] == "2018-06-16T00:37:44Z" and evidence["run_end"] == "2018-06-16T00:38:12Z"
    assert evidence["duration_ms"] == 28105 and evidence["parameters"] == WINDOW.parameters()
    create = transport.requests[0]
    # Event time, never a Last-Modified watermark: Copy Blob resets Last-Modified on rehydration.
    assert create.method == "POST" and json.loads(create.body) == WINDOW.parameters()
    assert "api-version=2018-06-01" in create.url
    only_arm(transport)


def test_the_evidence_holds_the_window_the_service_recorded():
    recorded = {"windowStart": "2018-06-15T23:00:00Z", "windowEnd": "2018-06-16T00:00:00Z"}
    s, _ = session(create_route(), get_route(run_with("Succeeded", parameters=recorded)))
    assert replay(s)["parameters"] == recorded


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
    message = "Operation on target CopyEventHour failed: ErrorCode=UserErrorFileNotFound"
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
@pytest.fixture(scope="module")
def azurite():
    make = lambda workdir: AzuriteServer(workdir / "azurite", {LAKE: generate_account_key()})  # noqa: E731
    with azurite_in_tempdir("drctl-replay-", make) as (server, _):
        yield server


@pytest.fixture
def lake(azurite):
    """The secondary's lake with an empty raw zone; `lake.land(*hours)` writes an event file per hour
    partition as the pipeline would (raw/events/yyyy/MM/dd/HH/)."""
    service = azurite.service_client(LAKE)
    raw = service.get_container_client("raw")
    if not raw.exists():
        raw.create_container()
    for blob in list(raw.list_blobs()):
        raw.delete_blob(blob.name)

    class Lake:
        def __init__(self) -> None:
            self.service = service

        def land(self, *hours: str) -> None:
            for hour in hours:
                raw.upload_blob(f"events/{hour}/events-0001.json", b'{"device": "d1"}\n', overwrite=True)

    return Lake()


class Context:
    def __init__(self, run_dir: Path, outputs: dict | None = None) -> None:
        self.run_dir, self.outputs = run_dir, outputs or {}

    def outputs_of(self, step_id: str) -> dict:
        return self.outputs.get(step_id, {})


NOW = datetime(2018, 6, 16, 1, 30, tzinfo=UTC)
DISASTER = "2018-06-16T01:00:00Z"
GROUP, FACTORY = naming.resource_group_name("contoso", "data", "ase"), naming.data_factory_name("contoso", "ase")


def steps(tmp_path: Path, lake, *routes: Route, data_factory: bool = True, endpoints: tuple[str, ...] = (),
          disaster_at: str | None = DISASTER) -> tuple[AzureDataSteps, ExampleTransport]:
    config = load_stack_config(REPO, "secondary")
    config = dataclasses.replace(config, switches={**config.switches, "dataFactory": data_factory})
    resources = [{"urn": f"urn:mpe:{e}", "type": "azure-native:datafactory:ManagedPrivateEndpoint", "name": e,
                  "physical_name": e, "location": None, "component": "data_factory"} for e in endpoints]
    graph = Graph(stack="secondary", region=config.region, resources=resources,
                  components=[{"urn": "urn:l", "type": "dataplatform:data:Lake", "name": "lake", "component": None},
                              {"urn": "urn:p", "type": "dataplatform:data:PostgresServer", "name": "postgres",
                               "component": None}])
    if disaster_at is not None:  # what `drctl failover` writes when the failover is declared
        (tmp_path / "run.json").write_text(json.dumps({"kind": "failover", "disaster_at": disaster_at}))
    s, transport = session(*routes)
    runner = AzureDataSteps(s, config, graph, tmp_path, poll_interval_s=0, now=lambda: NOW,
                            blob_service=lambda endpoint: lake.service if lake is not None else None)
    return runner, transport


def stack_routes(*bodies: dict) -> tuple[Route, Route]:
    return create_route(GROUP, FACTORY), get_route(*(bodies or (RUN,)), group=GROUP, factory=FACTORY)


def replay_step(component: str = "lake") -> Step:
    return Step(id=f"{component}.replay", component=component, kind=StepKind.REPLAY, depends_on=(), estimate_s=1)


def rehydrated(timestamp: str | None = WATERMARK) -> dict:
    return {"lake.rehydrate": {"watermark": 7, "recovered_data_timestamp": timestamp}}


def test_the_lake_replay_step_runs_the_stacks_pipeline_and_reads_the_rpo_back_from_the_lake(tmp_path, lake):
    lake.land("2018/06/15/23", "2018/06/16/00")  # the newest event hour the lake holds after the run: 00
    runner, transport = steps(tmp_path, lake, *stack_routes())
    context = Context(tmp_path, rehydrated())
    outcome = runner.run(replay_step(), context)
    assert outcome.exercised
    # Against the disaster (01:00): 30 min missing before; after, the lake's newest hour starts at
    # 00:00, earlier than the recovered 00:30, so nothing newer came back and 30 min stay missing.
    assert outcome.outputs["rpo_before_replay_s"] == 1800.0 and outcome.outputs["rpo_after_replay_s"] == 1800.0
    assert outcome.outputs["data_timestamp"] == WATERMARK
    assert outcome.evidence["newest_event_hour"] == "2018-06-16T00:00:00Z"
    assert outcome.evidence["rpo_reference"] == DISASTER and outcome.evidence["rpo_reference_is"] == "disaster_at"
    assert outcome.evidence["factory"] == "contoso-adf-ase" and not outcome.evidence["resumed_run"]
    assert json.loads(transport.requests[0].body) == {"windowStart": "2018-06-15T22:30:00Z",
                                                      "windowEnd": "2018-06-16T01:30:00Z"}
    assert f"/resourceGroups/{GROUP}/" in transport.requests[0].url
    only_arm(transport)
    # The report reads the RPO figures as it does locally.
    records = [StepRecord(id="lake.rehydrate", component="lake", kind=StepKind.REHYDRATE, state="succeeded",
                          attempts=1, duration_s=1, outputs=context.outputs["lake.rehydrate"], evidence={}),
               StepRecord(id="lake.replay", component="lake", kind=StepKind.REPLAY, state="succeeded", attempts=1,
                          duration_s=1, outputs=outcome.outputs, evidence=outcome.evidence)]
    assert measured_rpo(records) == {"rpo_s_before_replay": 1800.0, "rpo_s_after_replay": 1800.0}


@pytest.mark.parametrize(("hours", "after_s", "data_timestamp"), [
    (("2018/06/16/01",), 0.0, "2018-06-16T01:00:00Z"),      # the disaster's own hour came back
    (("2018/06/16/00", "2018/06/16/01"), 0.0, "2018-06-16T01:00:00Z"),
    ((), 1800.0, WATERMARK),                                 # nothing in the window: the recovered point stands
    (("2018/06/16/03",), 1800.0, WATERMARK),                 # past the window: not this run's
])
def test_the_after_replay_rpo_is_what_the_lake_holds_not_a_constant(tmp_path, lake, hours, after_s, data_timestamp):
    lake.land(*hours)
    runner, _ = steps(tmp_path, lake, *stack_routes())
    outcome = runner.run(replay_step(), Context(tmp_path, rehydrated()))
    assert outcome.outputs["rpo_after_replay_s"] == after_s and outcome.outputs["data_timestamp"] == data_timestamp


@pytest.mark.parametrize(("window", "newest"), [
    (ReplayWindow("2017-12-31T22:00:00Z", "2019-01-01T00:00:00Z"), datetime(2018, 6, 16, 0, tzinfo=UTC)),
    (ReplayWindow("2017-12-31T22:00:00Z", "2018-01-01T00:00:00Z"), datetime(2017, 12, 31, 23, tzinfo=UTC)),
    (ReplayWindow("2017-12-31T22:00:00Z", "2017-12-31T23:00:00Z"), None),  # the end is exclusive
    (ReplayWindow("2019-01-01T00:30:00Z", "2019-01-01T02:00:00Z"), datetime(2019, 1, 1, 0, tzinfo=UTC)),
])
def test_the_newest_hour_is_found_across_years_without_listing_every_hour(lake, window, newest):
    lake.land("2017/12/31/23", "2018/06/16/00", "2019/01/01/00")
    raw = lake.service.get_container_client("raw")
    assert newest_event_hour(raw, window) == newest


def test_the_lake_is_read_over_the_window_the_service_recorded(tmp_path, lake):
    lake.land("2018/06/16/01")
    recorded = {"windowStart": "2018-06-15T22:30:00Z", "windowEnd": "2018-06-16T01:00:00Z"}  # ends before hour 01
    runner, _ = steps(tmp_path, lake, *stack_routes(run_with("Succeeded", parameters=recorded)))
    outcome = runner.run(replay_step(), Context(tmp_path, rehydrated()))
    assert outcome.evidence["parameters"] == recorded and outcome.evidence["newest_event_hour"] is None
    assert outcome.outputs["rpo_after_replay_s"] == 1800.0


def test_without_a_disaster_time_the_rpo_is_measured_against_now(tmp_path, lake):
    runner, _ = steps(tmp_path, lake, *stack_routes(), disaster_at=None)
    outcome = runner.run(replay_step(), Context(tmp_path, rehydrated()))
    assert outcome.outputs["rpo_before_replay_s"] == 3600.0 and outcome.evidence["rpo_reference_is"] == "now"


def test_a_retried_replay_step_polls_the_run_it_created_over_the_same_window(tmp_path, lake):
    runner, transport = steps(tmp_path, lake, *stack_routes())
    context = Context(tmp_path, rehydrated())
    runner.run(replay_step(), context)
    assert json.loads((tmp_path / "replay" / "lake.json").read_text()) == {
        "run_id": RUN_ID, "watermark": WATERMARK, "window_start": WINDOW.start, "window_end": WINDOW.end}
    runner.now = lambda: datetime(2018, 6, 16, 5, 0, tzinfo=UTC)  # later: the recorded window still holds
    again = runner.run(replay_step(), context)
    assert again.evidence["resumed_run"] and again.outputs["pipeline_run_id"] == RUN_ID
    assert again.evidence["parameters"] == WINDOW.parameters()
    assert [r.method for r in transport.requests if "management.azure.com" in r.url] == ["POST", "GET", "GET"]


def test_a_record_of_the_last_modified_pipeline_is_not_resumed(tmp_path, lake):
    (tmp_path / "replay").mkdir()
    (tmp_path / "replay" / "lake.json").write_text(json.dumps({"run_id": "old-run", "watermark": WATERMARK}))
    runner, transport = steps(tmp_path, lake, *stack_routes())
    outcome = runner.run(replay_step(), Context(tmp_path, rehydrated()))
    assert not outcome.evidence["resumed_run"] and transport.requests[0].method == "POST"


def test_no_recovered_timestamp_fails_rather_than_replaying_everything(tmp_path, lake):
    runner, transport = steps(tmp_path, lake, *stack_routes())
    with pytest.raises(PermanentError, match="recorded no recovered data timestamp"):
        runner.run(replay_step(), Context(tmp_path, rehydrated(None)))
    assert transport.requests == []


def test_a_pending_endpoint_with_no_connection_to_approve_stops_the_replay_before_any_run(tmp_path, lake):
    pending = example_body(ENDPOINT_GET)  # connectionState Pending, as every new managed endpoint starts
    endpoint_path = f"{factory_path(GROUP, FACTORY)}/managedVirtualNetworks/{MANAGED_VNET}/managedPrivateEndpoints/lake-dfs"
    connections = f"/subscriptions/{SUBSCRIPTION}/resourceGroups/{GROUP}/providers/Microsoft.Storage/storageAccounts/" \
                  f"{LAKE}/privateEndpointConnections"
    storage_list = "storage/resource-manager/Microsoft.Storage/stable/2025-06-01/examples/" \
                   "StorageAccountListPrivateEndpointConnections.json"
    runner, transport = steps(tmp_path, lake, Route("GET", endpoint_path, body=pending),
                              Route("GET", connections, body=example_body(storage_list)), *stack_routes(),
                              endpoints=("lake-dfs",))
    with pytest.raises(PermanentError) as caught:
        runner.run(replay_step(), Context(tmp_path, rehydrated()))
    message = str(caught.value)
    assert "managed private endpoint lake-dfs of data factory contoso-adf-ase" in message and "Pending" in message
    assert "no connection from a private endpoint named contoso-adf-ase.lake-dfs" in message
    assert not [r for r in transport.requests if r.method in ("POST", "PUT")]


def test_replay_is_not_exercised_without_a_pipeline_a_factory_or_a_recovered_point(tmp_path, lake):
    recovered = {"lake.rehydrate": {"recovered_data_timestamp": WATERMARK},
                 "postgres.rehydrate": {"recovered_data_timestamp": WATERMARK}}
    runner, transport = steps(tmp_path, lake, *stack_routes(), data_factory=False)
    no_factory = runner.run(replay_step(), Context(tmp_path, recovered))
    assert not no_factory.exercised and no_factory.evidence["note"] == REPLAY_NOT_YET
    assert "Data Factory service is not in this stack" in no_factory.evidence["reason"]
    runner, transport = steps(tmp_path, lake, *stack_routes())
    postgres = runner.run(replay_step("postgres"), Context(tmp_path, recovered))
    assert not postgres.exercised and "no pipeline of the repository loads postgres" in postgres.evidence["reason"]
    nothing = runner.run(replay_step(), Context(tmp_path))
    assert not nothing.exercised and "recorded nothing" in nothing.evidence["reason"]
    assert transport.requests == []
