"""Loading the repository's pipelines into the local pipeline runner: the program's own loader, then
everything the runner must implement checked before any run, each refusal one line naming the file,
the activity and the thing."""

from __future__ import annotations

import json
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from orchestrator.pipelines.definitions import load_definitions
from orchestrator.pipelines.errors import PipelineError, Unsupported

REPO = Path(__file__).resolve().parents[3]


def pipelines_copy(tmp_path: Path, edit: Callable[[dict[str, Any]], None] | None = None,
                   file: str = "ingest_events.json") -> Path:
    """The repository's pipelines folder, copied, with `edit` applied to one file's JSON."""
    folder = tmp_path / "pipelines"
    shutil.copytree(REPO / "pipelines", folder)
    if edit is not None:
        path = folder / file
        document = json.loads(path.read_text())
        edit(document)
        path.write_text(json.dumps(document, indent=2))
    return folder


def copy_activity(document: dict[str, Any]) -> dict[str, Any]:
    if_landed = document["properties"]["activities"][0]["typeProperties"]["activities"][1]
    return if_landed["typeProperties"]["ifTrueActivities"][0]


def test_the_repositorys_pipelines_and_datasets_load_with_what_they_use():
    loaded = load_definitions(REPO / "pipelines")
    described = loaded.describe()
    assert {p["name"]: p["activities"] for p in described["pipelines"]} == {
        "ingest_events": ["ForEach", "GetMetadata", "IfCondition", "Copy"], "smoke": ["Wait"]}
    assert {p["name"]: p["parameters"] for p in described["pipelines"]} == {
        "ingest_events": ["windowEnd", "windowStart"], "smoke": ["waitSeconds"]}
    assert {d["name"]: d["linked_service"] for d in described["datasets"]} == {"events_landing": "lake",
                                                                               "events_raw": "lake"}
    with pytest.raises(PipelineError, match=r"no pipeline 'ingest' \(the repository has ingest_events, smoke\)"):
        loaded.pipeline("ingest")


def _use_utc_now(document):
    hour_landed = document["properties"]["activities"][0]["typeProperties"]["activities"][0]
    hour_landed["typeProperties"]["dataset"]["parameters"]["hourPath"]["value"] = \
        "@formatDateTime(utcNow(), 'yyyy/MM/dd/HH')"


def _set_variable(document):
    document["properties"]["activities"].append(
        {"name": "Remember", "type": "SetVariable", "typeProperties": {"variableName": "x", "value": "1"}})


def _last_modified_filter(document):
    copy_activity(document)["typeProperties"]["source"]["storeSettings"]["modifiedDatetimeStart"] = {
        "value": "@pipeline().parameters.windowStart", "type": "Expression"}


def _on_failure(document):
    if_landed = document["properties"]["activities"][0]["typeProperties"]["activities"][1]
    if_landed["dependsOn"][0]["dependencyConditions"] = ["Failed"]


def _flatten(document):
    copy_activity(document)["typeProperties"]["sink"]["storeSettings"]["copyBehavior"] = "FlattenHierarchy"


def _lookup_field(document):
    hour_landed = document["properties"]["activities"][0]["typeProperties"]["activities"][0]
    hour_landed["typeProperties"]["fieldList"] = ["exists", "childItems"]


def _translator(document):
    copy_activity(document)["typeProperties"]["parallelCopies"] = 4


@pytest.mark.parametrize(("edit", "named"), [
    (_use_utc_now, "activity EachEventHour/HourLanded: the function 'utcNow'"),
    (_set_variable, "activity Remember: the activity type 'SetVariable'"),
    (_last_modified_filter, "activity EachEventHour/IfHourLanded/ifTrueActivities/CopyEventHour: "
                            "the AzureBlobFSReadSettings setting 'modifiedDatetimeStart'"),
    (_on_failure, "activity EachEventHour/IfHourLanded: the dependency condition 'Failed'"),
    (_flatten, "the copyBehavior 'FlattenHierarchy'"),
    (_lookup_field, "the GetMetadata field 'childItems'"),
    (_translator, "the Copy property 'parallelCopies'"),
])
def test_a_pipeline_using_what_the_runner_lacks_is_refused_at_load_in_one_line(tmp_path, edit, named):
    folder = pipelines_copy(tmp_path, edit)
    with pytest.raises(Unsupported) as refused:
        load_definitions(folder)
    message = str(refused.value)
    assert message.startswith(f"{folder / 'ingest_events.json'}: pipeline 'ingest_events': ")
    assert named in message and message.endswith("is not supported by the local pipeline runner")
    assert "\n" not in message


def _file_name(document):
    document["properties"]["typeProperties"]["location"]["fileName"] = "events.jsonl"


def _parquet(document):
    document["properties"]["type"] = "Parquet"


@pytest.mark.parametrize(("edit", "named"), [
    (_file_name, "the AzureBlobFSLocation property 'fileName'"),
    (_parquet, "the dataset type 'Parquet'"),
])
def test_a_dataset_the_runner_cannot_read_is_refused_at_load(tmp_path, edit, named):
    folder = pipelines_copy(tmp_path, edit, file="datasets/events_raw.json")
    with pytest.raises(Unsupported, match=rf"events_raw.json: dataset 'events_raw': {named} is not supported"):
        load_definitions(folder)


def test_the_programs_own_cross_checks_run_first(tmp_path):
    folder = pipelines_copy(tmp_path)
    (folder / "datasets" / "events_raw.json").unlink()
    with pytest.raises(PipelineError, match=r"ingest_events.json: refers to dataset 'events_raw', which is not deployed"):
        load_definitions(folder)
    with pytest.raises(PipelineError, match=r"the pipelines folder does not exist"):
        load_definitions(tmp_path / "nowhere")


def test_activities_that_depend_on_one_missing_are_refused(tmp_path):
    def depend_on_nothing(document):
        document["properties"]["activities"][0]["dependsOn"] = [
            {"activity": "Ghost", "dependencyConditions": ["Succeeded"]}]

    with pytest.raises(PipelineError, match=r"activities EachEventHour depend on Ghost, which is not in their container"):
        load_definitions(pipelines_copy(tmp_path, depend_on_nothing))
