"""Data Factory's checks through the real azure-mgmt-datafactory and azure-mgmt-resource clients:
the factory's GET, the run's creation and its polls answer with the REST API specs' examples
(Factories_Get, Pipelines_CreateRun, PipelineRuns_Get, with the status changed where a test says so).
Pipelines_ListByFactory has no example kept here: its answer is a thin double built from the
repository's own pipeline files, as a factory deployed from them answers."""

from __future__ import annotations

import copy
import json
import shutil
from pathlib import Path

import pytest

import smoke_tests.data_factory as checks
from components.data_factory import DataFactorySettings
from smoke_tests.check import PermanentError, TransientError
from tests.azure_fixtures import Route, example_body
from tests.smoke_tests.probe_support import arm_id, deployed, service_probe

EXAMPLES = "datafactory/resource-manager/Microsoft.DataFactory/DataFactory/stable/2018-06-01/examples/"
FACTORY = example_body(EXAMPLES + "Factories_Get.json")
CREATED = example_body(EXAMPLES + "Pipelines_CreateRun.json")
RUN = example_body(EXAMPLES + "PipelineRuns_Get.json")
FACTORY_ID = arm_id("Microsoft.DataFactory/factories", "exampleFactoryName")
REPOSITORY_PIPELINES = Path(__file__).resolve().parents[2] / "pipelines"


def as_listed(folder: Path) -> list[dict]:
    """Each pipeline file as the factory lists it once deployed: id, name, type around its properties."""
    listed = []
    for path in sorted(folder.glob("*.json")):
        document = json.loads(path.read_text(encoding="utf-8"))
        listed.append({"id": f"{FACTORY_ID}/pipelines/{document['name']}", "name": document["name"],
                       "type": "Microsoft.DataFactory/factories/pipelines", "etag": "0a00",
                       "properties": document["properties"]})
    return listed


def probe_with(*routes: Route, folder: Path = REPOSITORY_PIPELINES):
    settings = DataFactorySettings.model_validate({"pipelinesDir": folder.name})
    return service_probe("data_factory", list(routes), [deployed(checks.FACTORY_TYPE, FACTORY_ID, "2018-06-01")],
                         settings=settings, names={"project_dir": str(folder.parent)})


def listing(pipelines: list[dict]) -> Route:
    return Route("GET", f"(?i){FACTORY_ID}/pipelines", body={"value": pipelines})


def run_routes(*statuses: str) -> list[Route]:
    answers = [{**copy.deepcopy(RUN), "status": status, "pipelineName": "smoke"} for status in statuses]

    def respond(_request):
        return 200, answers.pop(0) if len(answers) > 1 else answers[0], {}

    return [Route("POST", f"(?i){FACTORY_ID}/pipelines/smoke/createRun", body=CREATED),
            Route("GET", f"(?i){FACTORY_ID}/pipelineruns/{RUN['runId']}", respond=respond)]


# -- factory-provisioned -------------------------------------------------------------------------------
def test_a_provisioned_factory_passes():
    probe, _ = probe_with(Route("GET", f"(?i){FACTORY_ID}", body=FACTORY))
    assert checks.factory_provisioned(probe)["provisioningState"] == "Succeeded"


def test_a_failed_factory_fails_naming_its_state():
    body = copy.deepcopy(FACTORY)
    body["properties"]["provisioningState"] = "Failed"
    probe, _ = probe_with(Route("GET", f"(?i){FACTORY_ID}", body=body))
    with pytest.raises(PermanentError, match="exampleFactoryName: provisioningState Failed"):
        checks.factory_provisioned(probe)


# -- pipeline-parity -------------------------------------------------------------------------------------
def test_a_factory_holding_the_repositorys_pipelines_passes():
    probe, transport = probe_with(listing(as_listed(REPOSITORY_PIPELINES)))
    evidence = checks.pipeline_parity(probe)
    assert evidence["repository"] == ["ingest_events", "smoke"]
    assert evidence["missing"] == [] and evidence["different"] == {}
    assert "api-version=2018-06-01" in transport.requests[0].url


def test_fields_the_service_adds_and_pipelines_of_its_own_are_not_differences():
    listed = as_listed(REPOSITORY_PIPELINES)
    smoke = next(p for p in listed if p["name"] == "smoke")
    smoke["properties"]["activities"][0]["policy"] = {"timeout": "0.12:00:00", "retry": 0}
    del smoke["properties"]["activities"][0]["userProperties"]  # empty in the file: not sent on deploy
    listed.append({**copy.deepcopy(smoke), "name": "hand_made"})
    evidence = checks.pipeline_parity(probe_with(listing(listed))[0])
    assert evidence["only_in_factory"] == ["hand_made"]


def test_a_pipeline_missing_from_the_factory_fails_naming_it():
    listed = [p for p in as_listed(REPOSITORY_PIPELINES) if p["name"] != "smoke"]
    with pytest.raises(PermanentError, match=r"exampleFactoryName: pipelines not as in the repository: missing: smoke$"):
        checks.pipeline_parity(probe_with(listing(listed))[0])


def test_a_pipeline_whose_activity_differs_fails_naming_the_pipeline_and_the_field():
    listed = as_listed(REPOSITORY_PIPELINES)
    smoke = next(p for p in listed if p["name"] == "smoke")
    smoke["properties"]["activities"][0]["typeProperties"]["waitTimeInSeconds"] = 500
    with pytest.raises(PermanentError, match=r"smoke differs \(WaitBriefly.typeProperties.waitTimeInSeconds "
                                             r"is 500, not \{'value'") as failure:
        checks.pipeline_parity(probe_with(listing(listed))[0])
    assert failure.value.evidence is not None and list(failure.value.evidence["different"]) == ["smoke"]


def test_a_field_the_repository_sets_and_the_factory_lacks_fails():
    listed = as_listed(REPOSITORY_PIPELINES)
    ingest = next(p for p in listed if p["name"] == "ingest_events")
    del ingest["properties"]["activities"][0]["typeProperties"]["items"]
    with pytest.raises(PermanentError, match=r"ingest_events differs \(EachEventHour.typeProperties.items missing"):
        checks.pipeline_parity(probe_with(listing(listed))[0])


def test_an_activity_added_or_renamed_in_the_factory_fails():
    listed = as_listed(REPOSITORY_PIPELINES)
    smoke = next(p for p in listed if p["name"] == "smoke")
    smoke["properties"]["activities"][0]["name"] = "WaitLonger"
    with pytest.raises(PermanentError, match="activity WaitBriefly missing from the factory and 1 more"):
        checks.pipeline_parity(probe_with(listing(listed))[0])


def test_an_unreadable_pipeline_file_fails_naming_the_file(tmp_path):
    folder = tmp_path / "pipelines"
    shutil.copytree(REPOSITORY_PIPELINES, folder)
    (folder / "smoke.json").write_text("{", encoding="utf-8")
    with pytest.raises(PermanentError, match=r"cannot be compared: .*smoke.json: not valid JSON"):
        checks.pipeline_parity(probe_with(listing([]), folder=folder)[0])


# -- smoke-pipeline-run -------------------------------------------------------------------------------
def test_a_succeeded_smoke_run_passes_with_the_run_as_evidence():
    probe, transport = probe_with(*run_routes("Succeeded"))
    evidence = checks.smoke_pipeline_run(probe)
    assert (evidence["run_id"], evidence["status"], evidence["pipeline"]) == (RUN["runId"], "Succeeded", "smoke")
    assert transport.requests[0].method == "POST" and transport.requests[0].url.split("?")[0].endswith("/smoke/createRun")


def test_a_run_is_polled_until_it_ends(monkeypatch):
    monkeypatch.setattr(checks, "POLL_INTERVAL_S", 0.0)
    probe, transport = probe_with(*run_routes("Queued", "InProgress", "Succeeded"))
    assert checks.smoke_pipeline_run(probe)["status"] == "Succeeded"
    assert sum(r.method == "GET" for r in transport.requests) == 3


@pytest.mark.parametrize("status", ["Failed", "Cancelled"])
def test_a_run_that_ends_badly_fails_naming_its_status(status):
    probe, _ = probe_with(*run_routes(status))
    with pytest.raises(PermanentError, match=f"pipeline smoke: run {RUN['runId']} ended {status}"):
        checks.smoke_pipeline_run(probe)


def test_a_run_still_going_at_the_bound_is_worth_another_attempt(monkeypatch):
    monkeypatch.setattr(checks, "POLL_INTERVAL_S", 0.0)
    monkeypatch.setattr(checks, "SMOKE_TIMEOUT_S", 0.0)
    with pytest.raises(TransientError, match="still InProgress after 0s"):
        checks.smoke_pipeline_run(probe_with(*run_routes("InProgress"))[0])


def test_a_repository_without_a_smoke_pipeline_fails_before_calling_azure(tmp_path):
    folder = tmp_path / "pipelines"
    shutil.copytree(REPOSITORY_PIPELINES, folder)
    (folder / "smoke.json").unlink()
    probe, transport = probe_with(*run_routes("Succeeded"), folder=folder)
    with pytest.raises(PermanentError, match="no smoke pipeline"):
        checks.smoke_pipeline_run(probe)
    assert transport.requests == []
