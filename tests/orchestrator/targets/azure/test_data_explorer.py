"""Data Explorer on Azure: re-ingestion of the recovered lake, its validation, replay and smoke.

The lake is real (Azurite, seeded by drctl's own ingestion); the cluster is a test double at the
HTTP boundary (tests/kusto_double.py: the specs hold no Kusto data-plane examples). The steps
run through AzureDataSteps as `drctl failover` runs them.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from azurite_support import azurite_in_tempdir

from orchestrator.data.ingest import LakeSink
from orchestrator.data.replay import catch_up
from orchestrator.data.source import SourceSystem
from orchestrator.model import PermanentError, Step, StepKind, TransientError
from orchestrator.program.graph import Graph
from orchestrator.targets.azure.clients import AzureSession
from orchestrator.targets.azure.data_steps import AzureDataSteps
from orchestrator.targets.azure.stores import data_explorer as explorer
from orchestrator.targets.azure.stores.kusto import KustoClient, first_table, quoted
from orchestrator.targets.local.servers.azurite import AzuriteServer, generate_account_key
from stacks.config import load_stack_config
from tests.azure_fixtures import SUBSCRIPTION, ExampleTransport, FakeCredential, Route
from tests.kusto_double import KustoDouble

LAKE = "contosolakease"  # the secondary's lake (components/naming.py)
CLUSTER_URI = "https://contosoadxase.australiasoutheast.kusto.windows.net"
BATCHES = 4


@pytest.fixture(scope="module")
def lake():
    make = lambda workdir: AzuriteServer(workdir / "azurite", {LAKE: generate_account_key()})  # noqa: E731
    with azurite_in_tempdir("drctl-explorer-", make) as (server, workdir):
        # one device: a batch lands as one event file, an hour a batch
        source = SourceSystem(workdir / "source", batch_size=15, seed=11, interval_s=3600, devices=1)
        source.produce(BATCHES)
        catch_up([LakeSink(server.service_client(LAKE))], source)
        yield {"server": server, "source": source,
               "credential": {"account_name": LAKE, "account_key": server.account_key(LAKE)}}


class Context:
    def __init__(self, run_dir: Path, outputs: dict[str, dict] | None = None) -> None:
        self.run_dir, self.outputs = run_dir, outputs or {}

    def outputs_of(self, step_id: str) -> dict:
        if step_id not in self.outputs:
            raise KeyError(step_id)
        return self.outputs[step_id]


def steps_for(lake, double: KustoDouble, run_dir: Path, arm_routes: list[Route] = ()) -> AzureDataSteps:
    base = load_stack_config(Path(__file__).resolve().parents[4], "secondary")
    config = base.with_services({"dataExplorer": _settings()})
    graph = Graph(stack="secondary", region=config.region, resources=[], components=[
        {"urn": "urn:adx", "type": "dataplatform:analytics:DataExplorer", "name": "data-explorer", "component": None}])
    session = AzureSession(FakeCredential(), SUBSCRIPTION, transport=ExampleTransport(list(arm_routes)), retry_total=0)
    asked: list[str] = []

    def kusto(uri: str) -> KustoClient:
        asked.append(uri)
        return KustoClient(uri, FakeCredential(), transport=double.transport(), retry_total=0)

    steps = AzureDataSteps(session, config, graph, run_dir, poll_interval_s=0.0, kusto=kusto,
                           blob_service=lambda endpoint: lake["server"].service_client(LAKE))
    steps.asked_clusters = asked
    return steps


def _settings():
    from components.data_explorer import DataExplorerSettings

    return DataExplorerSettings(sku="Standard_E2ads_v5", capacity=2)


def run(steps: AzureDataSteps, kind: StepKind, context: Context):
    return steps.run(Step(id=f"data_explorer.{kind}", component="data_explorer", kind=kind, depends_on=(),
                          estimate_s=1), context)


def test_the_lake_is_reingested_server_side_then_validated_exactly(lake, tmp_path):
    double = KustoDouble(lake["credential"])
    steps = steps_for(lake, double, tmp_path)
    rehydrated = run(steps, StepKind.REHYDRATE, Context(tmp_path))
    events = [e for k in range(BATCHES) for e in lake["source"].batch(k).events]
    assert rehydrated.outputs == {"recovered_data_timestamp": max(e["ts"] for e in events), "rows": len(events)}
    assert rehydrated.evidence["files_in_lake"] == BATCHES and rehydrated.evidence["ingested"] == BATCHES
    assert steps.asked_clusters[0] == CLUSTER_URI
    assert all(a == "Bearer fake-token-for-tests" for a in double.auth)
    ingests = [c for c in double.commands if c.startswith(".ingest")]
    # The cluster reads each file as its own identity; drctl sends the URL, never a key or SAS.
    assert len(ingests) == BATCHES and all(";managed_identity=system'" in c and "sig=" not in c for c in ingests)
    assert run(steps, StepKind.VALIDATE, Context(tmp_path)).outputs == {"exact": True}


def test_a_second_run_ingests_nothing_twice_and_replay_takes_only_new_lake_files(lake, tmp_path):
    double = KustoDouble(lake["credential"])
    steps = steps_for(lake, double, tmp_path)
    first = run(steps, StepKind.REHYDRATE, Context(tmp_path))
    again = run(steps, StepKind.REHYDRATE, Context(tmp_path))  # a retried or resumed step
    assert again.evidence["already_held"] == BATCHES and again.evidence["ingested"] == 0
    assert len([c for c in double.commands if c.startswith(".ingest")]) == BATCHES

    # A batch lands in the lake after the rehydration (the lake's replay went on); replay takes it.
    source = lake["source"]
    source.produce(1)
    catch_up([LakeSink(lake["server"].service_client(LAKE))], source)
    outputs = {"data_explorer.rehydrate": first.outputs, "lake.replay": {"rpo_after_replay_s": 0.0}}
    replayed = run(steps, StepKind.REPLAY, Context(tmp_path, outputs))
    assert replayed.evidence["ingested"] == 1 and replayed.evidence["already_held"] == BATCHES
    assert replayed.outputs["rows"] == first.outputs["rows"] + len(source.batch(BATCHES).events)
    assert replayed.outputs["rpo_after_replay_s"] == 0.0 and replayed.outputs["rpo_before_replay_s"] > 0
    assert run(steps, StepKind.VALIDATE, Context(tmp_path)).outputs == {"exact": True}


def test_replay_leaves_the_rpo_unknown_when_the_lake_replay_measured_none(lake, tmp_path):
    steps = steps_for(lake, KustoDouble(lake["credential"]), tmp_path)
    first = run(steps, StepKind.REHYDRATE, Context(tmp_path))
    replayed = run(steps, StepKind.REPLAY, Context(tmp_path, {"data_explorer.rehydrate": first.outputs}))
    assert "rpo_after_replay_s" not in replayed.outputs and replayed.outputs["data_timestamp"]


def test_throttled_files_are_resubmitted_and_in_flight_ingestions_are_bounded(lake, tmp_path):
    files = [f"raw/events/2026/01/01/{k:02d}/batch-{k:06d}-dev-0000.jsonl" for k in range(BATCHES)]  # an hour a batch
    double = KustoDouble(lake["credential"], throttle_once={files[1]})
    client = KustoClient(CLUSTER_URI, FakeCredential(), transport=double.transport(), retry_total=0)
    in_lake = explorer.lake_event_files(lake["server"].service_client(LAKE))
    evidence = explorer.reingest(client, "platform", in_lake, max_in_flight=2, poll_interval_s=0, sleep=lambda s: None)
    assert evidence["resubmitted_after_throttling"] == 1 and evidence["ingested"] == len(in_lake) >= BATCHES
    assert double.max_in_flight_seen == 2


def test_a_file_the_cluster_cannot_ingest_fails_the_step_naming_it(lake, tmp_path):
    double = KustoDouble(lake["credential"], fail={"raw/events/2026/01/01/02/batch-000002-dev-0000.jsonl"})
    steps = steps_for(lake, double, tmp_path)
    with pytest.raises(PermanentError, match=r"batch-000002") as caught:
        run(steps, StepKind.REHYDRATE, Context(tmp_path))
    assert caught.value.evidence["failed"][0]["state"] == "Failed"
    assert "Mapping error" in caught.value.evidence["failed"][0]["status"]
    # ...and validation says which file the table lacks.
    with pytest.raises(PermanentError, match=r"not ingested, first raw/events/2026/01/01/02/batch-000002-dev-0000.jsonl"):
        run(steps, StepKind.VALIDATE, Context(tmp_path))


def test_ingestion_still_running_at_the_budget_is_transient(lake):
    class Clock:
        now = 0.0

        def __call__(self):
            self.now += 10
            return self.now

    double = KustoDouble(lake["credential"])
    double._advance = lambda op_id: [op_id, "InProgress", ""]  # the cluster never finishes
    client = KustoClient(CLUSTER_URI, FakeCredential(), transport=double.transport(), retry_total=0)
    with pytest.raises(TransientError, match=r"still ingesting after 25s"):
        explorer.reingest(client, "platform", explorer.lake_event_files(lake["server"].service_client(LAKE)),
                          timeout_s=25, sleep=lambda s: None, clock=Clock())


def test_smoke_checks_the_cluster_state_through_arm_and_a_query(lake, tmp_path):
    cluster_id = (f"/subscriptions/{SUBSCRIPTION}/resourceGroups/rg-contoso-data-ase/providers/Microsoft.Kusto/"
                  "clusters/contosoadxase")
    state = {"value": "Running"}
    arm = [Route("GET", cluster_id, respond=lambda r: (200, {
        "id": cluster_id, "name": "contosoadxase", "type": "Microsoft.Kusto/Clusters", "location": "australiasoutheast",
        "properties": {"provisioningState": "Succeeded", "state": state["value"]}}, {}))]
    steps = steps_for(lake, KustoDouble(lake["credential"]), tmp_path, arm)
    deployed = [{"urn": "urn:adx-cluster", "type": "azure-native:kusto:Cluster", "id": cluster_id,
                 "api_version": "2024-04-13"}]
    steps.graph.resources.append({"urn": "urn:adx-cluster", "type": "azure-native:kusto:Cluster",
                                  "component": "data-explorer"})
    context = Context(tmp_path, {"data_explorer.deploy": {"resources": deployed}})
    smoke = run(steps, StepKind.SMOKE, context)
    assert smoke.evidence["data_plane"]["kql-print-1"]["ok"] is True
    assert smoke.evidence["management_checks"]["cluster-running"]["state"] == "Running"
    state["value"] = "Stopped"
    with pytest.raises(PermanentError, match=r"contosoadxase is Stopped, not Running"):
        run(steps, StepKind.SMOKE, context)


def test_kusto_errors_are_classified_and_responses_parsed_strictly():
    throttled = ExampleTransport([Route("POST", "/v1/rest/query", status=429, headers={"Retry-After": "7"},
                                        body={"error": {"code": "TooManyRequests", "message": "slow down"}})])
    client = KustoClient(CLUSTER_URI, FakeCredential(), transport=throttled, retry_total=0)
    with pytest.raises(TransientError):
        client.query("platform", "print 1")
    bad = ExampleTransport([Route("POST", "/v1/rest/mgmt", status=400,
                                  body={"error": {"code": "BadRequest_SyntaxError", "message": "no"}})])
    with pytest.raises(PermanentError) as caught:
        KustoClient(CLUSTER_URI, FakeCredential(), transport=bad, retry_total=0).management("platform", ".x")
    assert caught.value.evidence["error_code"] == "BadRequest_SyntaxError"
    with pytest.raises(PermanentError, match=r"not a Kusto v1 response"):
        first_table({"Tables": []}, "cluster")
    assert quoted("it's a \\ test") == "'it\\'s a \\\\ test'"


def test_a_blob_name_unsafe_for_kql_is_refused(lake):
    service = lake["server"].service_client(LAKE)
    service.get_blob_client("raw", "events/bad'name.jsonl").upload_blob(b"{}\n", overwrite=True)
    try:
        with pytest.raises(PermanentError, match=r"will not put in a KQL command"):
            explorer.lake_event_files(service)
    finally:
        service.get_blob_client("raw", "events/bad'name.jsonl").delete_blob()
