"""Data Factory in a local drill: there is no factory here, and nothing says there is. What stands
in is the local pipeline runner (orchestrator/pipelines/), which runs the repository's own pipeline
definitions against the recovered region's Azurite.

- deploy: load and check the repository's pipelines and datasets into the runner (the program's own
  loader, then everything the runner must implement), and match each one to what the program's graph
  declares for the factory (its Pipeline, Dataset and LinkedService resources): a definition the
  graph lacks, or the other way round, fails the step.
- smoke: the probe below runs the smoke pipeline (pipelines/smoke.json) through the runner and checks
  the runner's pipelines against the repository and the graph; `smoke_pipeline_run` and
  `pipeline_parity` are the functions a local Check calls with it.
- the lake's replay runs `ingest_events` through the same runner (orchestrator/data/pipeline_replay.py).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from components.data_factory_pipelines import LAKE_LINKED_SERVICE
from orchestrator.data.errors import azure_errors
from orchestrator.model import PermanentError, StepOutcome
from orchestrator.pipelines import RUNNER
from orchestrator.pipelines.definitions import Definitions, load_definitions
from orchestrator.pipelines.runner import PipelineRunner
from orchestrator.targets.local.stores.run import LocalRun

# The repository's smoke pipeline (components/data_factory.py exports it as smokePipeline).
SMOKE_PIPELINE = "smoke"
# The program's factory resources, by the key the evidence lists them under.
GRAPH_TYPES = {
    "pipelines": "azure-native:datafactory:Pipeline",
    "datasets": "azure-native:datafactory:Dataset",
    "linked_services": "azure-native:datafactory:LinkedService",
    "factory": "azure-native:datafactory:Factory",
}
NOTE = (f"no Data Factory runs locally: the {RUNNER} runs the repository's pipeline definitions, which the "
        "program's factory deploys on Azure, against the recovered region's Azurite")


def graph_names(resources: Sequence[Mapping[str, Any]], key: str) -> dict[str, str]:
    """The program's factory resources of one kind: physical name -> URN."""
    return {str(r["physical_name"]): str(r["urn"]) for r in resources
            if r["type"] == GRAPH_TYPES[key] and r.get("physical_name")}


def correspondence(definitions: Definitions, resources: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
    """Each loaded pipeline and dataset with the graph resource it is; PermanentError naming any that
    is on one side only (the graph is the program's for this stack, the definitions the repository's)."""
    found: dict[str, Any] = {}
    problems = []
    for key, loaded in (("pipelines", definitions.pipelines), ("datasets", definitions.datasets)):
        declared = graph_names(resources, key)
        found[key] = {name: declared.get(name) for name in sorted(loaded)}
        problems += [f"{key[:-1]} {name} is in the repository and not in the program's graph"
                     for name in sorted(set(loaded) - set(declared))]
        problems += [f"{key[:-1]} {name} is in the program's graph and not in the repository"
                     for name in sorted(set(declared) - set(loaded))]
    found["linked_services"] = graph_names(resources, "linked_services")
    found["factory"] = next(iter(graph_names(resources, "factory").items()), None)
    if problems:
        raise PermanentError(f"data factory: the {RUNNER}'s pipelines do not match the program's graph: "
                             + "; ".join(problems), {"graph": found})
    return found


@dataclass(frozen=True)
class LocalFactoryProbe:
    """What Data Factory's local checks run against: the runner, bound to the recovered lake, with the
    definitions it loaded and the program's factory resources."""

    runner: PipelineRunner
    definitions: Definitions
    graph: Sequence[Mapping[str, Any]]

    # The checks (smoke_tests/data_factory.py) call these on a local probe, so they need not import the target.
    def smoke_pipeline_run(self) -> dict[str, Any]:
        return smoke_pipeline_run(self)

    def pipeline_parity(self) -> dict[str, Any]:
        return pipeline_parity(self)


def smoke_pipeline_run(probe: LocalFactoryProbe) -> dict[str, Any]:
    """The repository's smoke pipeline, with its own default parameters, run to Succeeded by the runner."""
    run = probe.runner.run(SMOKE_PIPELINE)
    ok = run["status"] == "Succeeded"
    return {"ok": ok, "runner": RUNNER, "run": run,
            "checks": [{"check": f"pipeline {SMOKE_PIPELINE} run by the {RUNNER}: {run['status']}", "ok": ok}]}


def pipeline_parity(probe: LocalFactoryProbe) -> dict[str, Any]:
    """The runner holds every pipeline of the repository's folder, and the program's graph declares each."""
    on_disk = sorted(p.stem for p in Path(probe.definitions.folder).glob("*.json"))
    loaded, declared = sorted(probe.definitions.pipelines), sorted(graph_names(probe.graph, "pipelines"))
    checks = [{"check": f"the {RUNNER} holds every pipeline file of {probe.definitions.folder}", "ok": loaded == on_disk},
              {"check": "the program's graph declares every pipeline the runner holds", "ok": loaded == declared}]
    return {"ok": all(c["ok"] for c in checks), "runner": RUNNER, "repository": on_disk, "runner_pipelines": loaded,
            "graph_pipelines": declared, "checks": checks}


def errors(what: str) -> AbstractContextManager[None]:
    return azure_errors(f"data factory (the {RUNNER}) {what}")


class DataFactoryStore:
    def __init__(self, run: LocalRun, graph: Sequence[Mapping[str, Any]], pipelines_dir: Path) -> None:
        self.run, self.pair, self.graph, self.pipelines_dir = run, run.pair, list(graph), Path(pipelines_dir)

    errors = staticmethod(errors)

    def _definitions(self) -> Definitions:
        return load_definitions(self.pipelines_dir)

    def probe(self) -> LocalFactoryProbe:
        definitions = self._definitions()
        return LocalFactoryProbe(PipelineRunner(definitions, {LAKE_LINKED_SERVICE: self.pair.secondary_lake()}),
                                 definitions, self.graph)

    def deploy(self) -> StepOutcome:
        definitions = self._definitions()
        graph = correspondence(definitions, self.graph)
        account = self.pair.secondary_account
        linked = {LAKE_LINKED_SERVICE: {"resolves_to": f"Azurite account {account} (the recovered region's lake)",
                                        "graph": graph["linked_services"].get(LAKE_LINKED_SERVICE)}}
        return StepOutcome(
            outputs={"runner": RUNNER, "pipelines": sorted(definitions.pipelines),
                     "datasets": sorted(definitions.datasets)},
            evidence={"runner": RUNNER, "note": NOTE, "loaded": definitions.describe(), "graph": graph,
                      "linked_services": linked},
        )
