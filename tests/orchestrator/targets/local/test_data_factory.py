"""Data Factory's local store: the repository's definitions matched to what the program's graph
declares for the factory, and the probe its local checks run against (the smoke pipeline, run by
the local pipeline runner)."""

from __future__ import annotations

import json
import shutil
from dataclasses import replace
from pathlib import Path

import pytest

from components.data_factory import PROFILE
from orchestrator.model import PermanentError
from orchestrator.pipelines.definitions import load_definitions
from orchestrator.pipelines.runner import PipelineRunner
from orchestrator.stack import load_stack
from orchestrator.targets.local.checks import run_smoke
from orchestrator.targets.local.stores.data_factory import (
    LocalFactoryProbe,
    correspondence,
    errors,
    pipeline_parity,
    smoke_pipeline_run,
)
from smoke_tests.check import Target, smoke

REPO = Path(__file__).resolve().parents[4]


@pytest.fixture(scope="module")
def graph():
    return load_stack(REPO, "secondary").graph.resources


def probe(graph, folder: Path = REPO / "pipelines") -> tuple[LocalFactoryProbe, list[float]]:
    slept: list[float] = []
    definitions = load_definitions(folder)
    return LocalFactoryProbe(PipelineRunner(definitions, {}, sleep=slept.append), definitions, graph), slept


def test_every_definition_is_matched_to_the_resource_the_program_declares_for_it(graph):
    found = correspondence(load_definitions(REPO / "pipelines"), graph)
    assert found["pipelines"]["ingest_events"].endswith("azure-native:datafactory:Pipeline::data_factory-pipeline-ingest_events")
    assert found["datasets"]["events_raw"].endswith("azure-native:datafactory:Dataset::data_factory-dataset-events_raw")
    assert found["linked_services"]["lake"].endswith("azure-native:datafactory:LinkedService::data_factory-ls-lake")
    assert found["factory"][0] == "contoso-adf-ase"


def test_a_pipeline_the_graph_does_not_declare_fails_the_deploy_naming_it(graph, tmp_path):
    folder = tmp_path / "pipelines"
    shutil.copytree(REPO / "pipelines", folder)
    smoke_file = json.loads((folder / "smoke.json").read_text())
    smoke_file["name"] = "smoke_again"
    (folder / "smoke_again.json").write_text(json.dumps(smoke_file))
    with pytest.raises(PermanentError, match=r"pipeline smoke_again is in the repository and not in the program's graph"):
        correspondence(load_definitions(folder), graph)
    (folder / "smoke.json").unlink()
    (folder / "smoke_again.json").unlink()
    with pytest.raises(PermanentError, match=r"pipeline smoke is in the program's graph and not in the repository"):
        correspondence(load_definitions(folder), graph)


def test_the_smoke_pipeline_runs_through_the_runner_as_a_local_check_would_run_it(graph):
    """The Check a local smoke step needs (smoke_tests/data_factory.py is another change's: this is the
    shape the integrator gives it), run through run_smoke exactly as the local target runs it."""
    local = smoke(PROFILE.key, "smoke-pipeline-run", smoke_pipeline_run, frozenset({Target.LOCAL}))
    parity = smoke(PROFILE.key, "pipeline-parity", pipeline_parity, frozenset({Target.LOCAL}))
    profile = replace(PROFILE, checks=(local, parity))
    made, slept = probe(graph)
    outcome = run_smoke(profile, lambda: made, errors)
    assert outcome.exercised is True
    ran = outcome.evidence["data_plane"]["smoke-pipeline-run"]
    assert ran["runner"] == "local pipeline runner" and ran["run"]["pipeline"] == "smoke" and ran["ok"] is True
    assert slept == [5]  # pipelines/smoke.json's Wait, with its default waitSeconds
    assert outcome.evidence["data_plane"]["pipeline-parity"]["graph_pipelines"] == ["ingest_events", "smoke"]


def test_parity_fails_when_the_graph_lacks_a_pipeline_the_runner_holds(graph):
    without_smoke = [r for r in graph if r.get("physical_name") != "smoke"]
    result = pipeline_parity(probe(without_smoke)[0])
    assert result["ok"] is False
    assert [c["ok"] for c in result["checks"]] == [True, False]
