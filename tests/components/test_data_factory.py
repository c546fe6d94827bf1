"""Data Factory under Pulumi's mock runtime: the way to a closed lake, the event-time window of the
ingestion pipeline, and the ingestion trigger (deployed stopped, started by drctl after handover)."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from pulumi_mocks import PROJECT_DIR, Deployment, deploy, stack_config

from components.data_factory import SERVICE, DataFactory, DataFactoryArgs, load_factory_definitions
from components.data_factory_network import INTEGRATION_RUNTIME, LAKE_ENDPOINTS, MANAGED_VNET
from components.data_factory_pipelines import PipelineDefinitionError
from components.data_factory_triggers import INGEST_LOOKBACK_HOURS, INGEST_PIPELINE, INGEST_TRIGGER
from orchestrator.program.capture import RecordingMonitor

SECONDARY = stack_config("secondary")
LAKE_ID = "/subscriptions/s/resourceGroups/rg/providers/Microsoft.Storage/storageAccounts/contosolakease"
DFS = "https://contosolakease.dfs.core.windows.net/"


def factory_run(folder: Path = PROJECT_DIR / "pipelines", with_lake: bool = True) -> Deployment:
    args = DataFactoryArgs(location=SECONDARY.region, prefix=SECONDARY.prefix, name_suffix=SECONDARY.name_suffix,
                           resource_group_name="rg-test", definitions=load_factory_definitions(folder),
                           lake_dfs_endpoint=DFS if with_lake else None, lake_account_id=LAKE_ID if with_lake else None)
    return deploy(lambda: DataFactory("data_factory", args), stack="secondary")


# -- 1. the lake through a managed virtual network -------------------------------------------------
def test_the_factory_reaches_the_lake_through_a_managed_vnet_runtime_and_private_endpoints():
    run = factory_run()
    (vnet,) = [r for r in run.of_type("azure-native:resources:Resource")
               if r.inputs["resourceType"] == "managedVirtualNetworks"]
    assert vnet.inputs["resourceProviderNamespace"] == "Microsoft.DataFactory"
    assert vnet.inputs["parentResourcePath"] == "factories/contoso-adf-ase"
    assert vnet.inputs["resourceName"] == MANAGED_VNET == "default" and vnet.inputs["properties"] == {}
    assert vnet.inputs["apiVersion"] == "2018-06-01"

    runtime = run.one("azure-native:datafactory:IntegrationRuntime").inputs
    assert runtime["integrationRuntimeName"] == INTEGRATION_RUNTIME
    assert runtime["properties"]["type"] == "Managed"
    assert runtime["properties"]["managedVirtualNetwork"] == {"referenceName": "default",
                                                               "type": "ManagedVirtualNetworkReference"}
    assert runtime["properties"]["computeProperties"] == {"location": SECONDARY.region}

    endpoints = {e.inputs["properties"]["groupId"]: e.inputs for e in
                 run.of_type("azure-native:datafactory:ManagedPrivateEndpoint")}
    assert set(endpoints) == {"blob", "dfs"}
    for group_id, endpoint in endpoints.items():
        assert endpoint["properties"]["privateLinkResourceId"] == LAKE_ID
        assert endpoint["managedVirtualNetworkName"] == "default"
        assert endpoint["managedPrivateEndpointName"] == LAKE_ENDPOINTS[group_id]

    link = run.one("azure-native:datafactory:LinkedService").inputs["properties"]
    assert link["connectVia"] == {"referenceName": INTEGRATION_RUNTIME, "type": "IntegrationRuntimeReference"}
    assert link["url"] == DFS


def test_the_managed_vnet_is_kept_by_pulumi_and_comes_before_what_refers_to_it(monkeypatch):
    requests: dict[str, tuple[bool, set[str]]] = {}
    register = RecordingMonitor.RegisterResource

    def spy(self, request):
        requests[request.name] = (bool(request.retainOnDelete), set(request.dependencies))
        return register(self, request)

    monkeypatch.setattr(RecordingMonitor, "RegisterResource", spy)
    run = factory_run()
    vnet = run.named("data_factory-managed-vnet")
    # The service offers no DELETE for it: deleting the factory deletes it, Pulumi only forgets it.
    assert requests[vnet.name][0]
    for child in ("data_factory-ir", "data_factory-mpe-lake-blob", "data_factory-mpe-lake-dfs"):
        assert vnet.urn in requests[child][1], child
    assert run.named("data_factory-ir").urn in requests["data_factory-ls-lake"][1]
    # Sub-resources without a location of their own, named by the inputs drctl reads them by.
    for kind in ("azure-native:resources:Resource", "azure-native:datafactory:IntegrationRuntime",
                 "azure-native:datafactory:ManagedPrivateEndpoint", "azure-native:datafactory:Trigger"):
        assert kind in SERVICE.subresources and SERVICE.physical_names[kind], kind


def test_without_a_lake_there_is_no_managed_network(tmp_path):
    shutil.copy(PROJECT_DIR / "pipelines" / "smoke.json", tmp_path / "smoke.json")  # touches no data
    run = factory_run(tmp_path, with_lake=False)
    assert run.of_type("azure-native:datafactory:Factory")
    assert not run.of_type("azure-native:datafactory:IntegrationRuntime")
    assert not run.of_type("azure-native:datafactory:ManagedPrivateEndpoint")
    assert not run.of_type("azure-native:resources:Resource")


# -- 2. the watermark is event time, carried in the blob names ------------------------------------------
def ingest_copy(run: Deployment) -> tuple[dict, dict]:
    pipeline = next(p.inputs for p in run.of_type("azure-native:datafactory:Pipeline")
                    if p.inputs["pipelineName"] == INGEST_PIPELINE)
    (each_hour,) = pipeline["activities"]
    landed, branch = each_hour["activities"]
    (copy,) = branch["ifTrueActivities"]
    return pipeline, {"each_hour": each_hour, "landed": landed, "branch": branch, "copy": copy}


def test_ingestion_copies_event_time_partitions_and_never_filters_on_last_modified():
    pipeline, parts = ingest_copy(factory_run())
    assert set(pipeline["parameters"]) == {"windowStart", "windowEnd"}
    text = json.dumps(pipeline)
    # Copy Blob resets Last-Modified: a rehydrated landing zone would look entirely new.
    assert "modifiedDatetime" not in text
    assert parts["each_hour"]["type"] == "ForEach"
    assert "startOfHour(pipeline().parameters.windowStart)" in parts["each_hour"]["items"]["value"]
    assert "pipeline().parameters.windowEnd" in parts["each_hour"]["items"]["value"]
    hour = "@formatDateTime(addHours(startOfHour(pipeline().parameters.windowStart), item()), 'yyyy/MM/dd/HH')"
    copy = parts["copy"]
    assert copy["inputs"][0]["parameters"]["hourPath"]["value"] == hour
    assert copy["outputs"][0]["parameters"]["hourPath"]["value"] == hour
    assert copy["sink"]["storeSettings"]["copyBehavior"] == "PreserveHierarchy"
    # An hour with no events is skipped rather than failing the run on a missing folder.
    assert parts["landed"]["type"] == "GetMetadata" and parts["landed"]["fieldList"] == ["exists"]
    assert parts["branch"]["expression"]["value"] == "@activity('HourLanded').output.exists"


def test_the_hour_partitions_are_the_same_path_under_landing_and_raw():
    run = factory_run()
    folders = {d.inputs["datasetName"]: d.inputs["properties"]["location"]["folderPath"]["value"]
               for d in run.of_type("azure-native:datafactory:Dataset")}
    assert folders == {"events_landing": "@concat('landing/events/', dataset().hourPath)",
                       "events_raw": "@concat('events/', dataset().hourPath)"}


# -- 4. the ingestion schedule, deployed stopped ----------------------------------------------------
def test_the_ingestion_trigger_runs_the_pipeline_hourly_over_the_lookback_window():
    run = factory_run()
    trigger = run.one("azure-native:datafactory:Trigger").inputs
    assert trigger["triggerName"] == INGEST_TRIGGER
    properties = trigger["properties"]
    assert properties["type"] == "ScheduleTrigger"
    assert properties["recurrence"]["frequency"] == "Hour" and properties["recurrence"]["interval"] == 1
    assert properties["recurrence"]["timeZone"] == "UTC"
    (target,) = properties["pipelines"]
    assert target["pipelineReference"] == {"referenceName": INGEST_PIPELINE, "type": "PipelineReference"}
    assert target["parameters"] == {"windowStart": f"@addHours(trigger().scheduledTime, -{INGEST_LOOKBACK_HOURS})",
                                    "windowEnd": "@trigger().scheduledTime"}
    # Nothing in the program starts it (runtimeState is read-only in ARM): drctl does after handover.
    assert "runtimeState" not in trigger and "runtimeState" not in properties
    assert SERVICE.physical_names["azure-native:datafactory:Trigger"] == "triggerName"


def test_no_ingestion_pipeline_no_trigger(tmp_path):
    folder = tmp_path / "pipelines"
    shutil.copytree(PROJECT_DIR / "pipelines", folder)
    (folder / "ingest_events.json").unlink()
    run = factory_run(folder)
    assert not run.of_type("azure-native:datafactory:Trigger")


def test_an_ingestion_pipeline_without_the_window_parameters_is_refused(tmp_path):
    folder = tmp_path / "pipelines"
    shutil.copytree(PROJECT_DIR / "pipelines", folder)
    path = folder / "ingest_events.json"
    document = json.loads(path.read_text())
    del document["properties"]["parameters"]["windowEnd"]
    path.write_text(json.dumps(document))
    errors: list[Exception] = []
    args = DataFactoryArgs(location=SECONDARY.region, prefix="contoso", name_suffix="ase", resource_group_name="rg",
                           definitions=load_factory_definitions(folder), lake_dfs_endpoint=DFS, lake_account_id=LAKE_ID)

    def program() -> None:
        try:
            DataFactory("data_factory", args)
        except PipelineDefinitionError as exc:
            errors.append(exc)

    deploy(program, stack="secondary")
    assert len(errors) == 1
    message = errors[0].message  # the key first in str(): the file, then what is wrong
    assert message.startswith(str(path)) and "does not declare windowEnd" in message


@pytest.mark.parametrize("stack", ["primary", "secondary"])
def test_the_program_declares_the_trigger_and_network_in_both_stacks(stack, repo_graphs):
    graph = repo_graphs.get(stack)
    names = {(r["type"], r["physical_name"]) for r in graph.resources}
    assert ("azure-native:datafactory:Trigger", INGEST_TRIGGER) in names
    assert ("azure-native:datafactory:IntegrationRuntime", INTEGRATION_RUNTIME) in names
    assert {("azure-native:datafactory:ManagedPrivateEndpoint", n) for n in LAKE_ENDPOINTS.values()} <= names
    assert ("azure-native:resources:Resource", MANAGED_VNET) in names
