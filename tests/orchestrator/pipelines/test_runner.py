"""Running pipelines with the local pipeline runner, for the activities that touch no storage: Wait,
ForEach, IfCondition, dependency order, parameters, and what a failed run records. GetMetadata and
Copy run against Azurite in tests/integration/test_local_pipeline_runner.py."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from orchestrator.pipelines import RUNNER
from orchestrator.pipelines.definitions import load_definitions
from orchestrator.pipelines.errors import PipelineError
from orchestrator.pipelines.runner import PipelineRunner

REPO = Path(__file__).resolve().parents[3]


def wait(name: str, seconds: Any, after: tuple[str, ...] = ()) -> dict[str, Any]:
    return {"name": name, "type": "Wait",
            "dependsOn": [{"activity": a, "dependencyConditions": ["Succeeded"]} for a in after],
            "typeProperties": {"waitTimeInSeconds": seconds}}


def runner_for(tmp_path: Path, activities: list[dict[str, Any]], parameters: dict[str, Any] | None = None):
    folder = tmp_path / "pipelines"
    folder.mkdir()
    (folder / "p.json").write_text(json.dumps({"name": "p", "properties": {
        "activities": activities, "parameters": parameters or {}}}))
    slept: list[float] = []
    return PipelineRunner(load_definitions(folder), {}, sleep=slept.append), slept


def test_the_repositorys_smoke_pipeline_runs_with_its_default_and_says_who_ran_it():
    slept: list[float] = []
    runner = PipelineRunner(load_definitions(REPO / "pipelines"), {}, sleep=slept.append)
    run = runner.run("smoke")
    assert slept == [5]  # pipelines/smoke.json's waitSeconds default
    assert run["runner"] == RUNNER == "local pipeline runner"
    assert run["status"] == "Succeeded" and run["pipeline"] == "smoke" and run["parameters"] == {"waitSeconds": 5}
    assert [(a["activity"], a["status"]) for a in run["activity_runs"]] == [("WaitBriefly", "Succeeded")]
    assert runner.run("smoke", {"waitSeconds": 0})["parameters"] == {"waitSeconds": 0} and slept == [5, 0]


@pytest.mark.parametrize(("parameters", "problem"), [
    ({"waitSeconds": "5"}, r"parameter 'waitSeconds' is a Int, got '5'"),
    ({"waitSeconds": True}, r"parameter 'waitSeconds' is a Int, got True"),
    ({"waitseconds": 1}, r"declares no parameter 'waitseconds'"),
])
def test_parameters_are_held_to_the_pipelines_declarations(parameters, problem):
    runner = PipelineRunner(load_definitions(REPO / "pipelines"), {}, sleep=lambda s: None)
    with pytest.raises(PipelineError, match=problem) as failed:
        runner.run("smoke", parameters)
    assert failed.value.evidence["status"] == "Failed"


def test_a_parameter_without_value_or_default_fails_the_run_before_any_activity(tmp_path):
    runner, slept = runner_for(tmp_path, [wait("W", 1)], {"windowStart": {"type": "String"}})
    with pytest.raises(PipelineError, match=r"parameter 'windowStart' has no value and no default"):
        runner.run("p")
    assert slept == []


def test_activities_run_after_what_they_depend_on_whatever_their_order_in_the_file(tmp_path):
    runner, slept = runner_for(tmp_path, [wait("Last", 3, after=("Second",)), wait("Second", 2, after=("First",)),
                                          wait("First", 1)])
    run = runner.run("p")
    assert slept == [1, 2, 3]
    assert [a["activity"] for a in run["activity_runs"]] == ["First", "Second", "Last"]


def test_for_each_runs_its_activities_once_per_item_with_item_bound(tmp_path):
    for_each = {"name": "Each", "type": "ForEach", "typeProperties": {
        "items": {"value": "@range(1, pipeline().parameters.n)", "type": "Expression"}, "isSequential": False,
        "batchCount": 4, "activities": [wait("Sleep", {"value": "@item()", "type": "Expression"})]}}
    runner, slept = runner_for(tmp_path, [for_each], {"n": {"type": "Int", "defaultValue": 3}})
    run = runner.run("p")
    assert slept == [1, 2, 3]
    assert [(a["activity"], a.get("item")) for a in run["activity_runs"]] == [
        ("Each[0]/Sleep", 1), ("Each[1]/Sleep", 2), ("Each[2]/Sleep", 3), ("Each", None)]
    assert run["activity_runs"][-1]["items"] == [1, 2, 3]


def test_an_if_condition_needs_a_boolean(tmp_path):
    condition = {"name": "If", "type": "IfCondition", "typeProperties": {
        "expression": {"value": "@pipeline().parameters.n", "type": "Expression"},
        "ifTrueActivities": [wait("Never", 1)]}}
    runner, slept = runner_for(tmp_path, [condition], {"n": {"type": "Int", "defaultValue": 1}})
    with pytest.raises(PipelineError, match=r"activity If: the expression must evaluate to a boolean, got 1"):
        runner.run("p")
    assert slept == []


def test_a_failed_activity_fails_the_run_in_one_line_and_its_dependents_do_not_run(tmp_path):
    runner, slept = runner_for(tmp_path, [wait("Bad", {"value": "@sub(0, 1)", "type": "Expression"}),
                                          wait("After", 1, after=("Bad",))])
    with pytest.raises(PipelineError) as failed:
        runner.run("p")
    message = str(failed.value)
    assert message == ("p (run by the local pipeline runner) failed: activity Bad: waitTimeInSeconds must be an "
                       "integer from 0 to 86400, got -1")
    record = failed.value.evidence
    assert record["status"] == "Failed" and record["message"].startswith("activity Bad:")
    assert [(a["activity"], a["status"]) for a in record["activity_runs"]] == [("Bad", "Failed")]
    assert slept == []


def test_an_error_inside_a_for_each_names_the_iteration_once(tmp_path):
    for_each = {"name": "Each", "type": "ForEach", "typeProperties": {
        "items": {"value": "@range(0, 2)", "type": "Expression"},
        "activities": [wait("Sleep", {"value": "@sub(item(), 1)", "type": "Expression"})]}}
    runner, _ = runner_for(tmp_path, [for_each])
    with pytest.raises(PipelineError) as failed:
        runner.run("p")
    assert str(failed.value).endswith("failed: activity Each[0]/Sleep: waitTimeInSeconds must be an integer from 0 "
                                      "to 86400, got -1")
