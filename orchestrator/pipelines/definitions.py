"""The repository's pipelines and datasets, read by the program's own loader
(components/data_factory_pipelines.py: the same files, the same cross-checks, the same flattened
shape the program deploys), then checked against what the local pipeline runner implements.

Whatever the runner does not implement (a function, an activity type, a property, a dataset type,
a dependency condition) is refused here, at load time, with one line naming the file, the activity
and the thing: a pipeline is never half-run.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from components.data_factory_pipelines import (
    LAKE_LINKED_SERVICE,
    Definition,
    PipelineDefinitionError,
    load_factory_definitions,
)
from orchestrator.pipelines.activities.container import check_container
from orchestrator.pipelines.datasets import check_dataset, check_parameters
from orchestrator.pipelines.errors import PipelineError, where


@dataclass(frozen=True)
class Definitions:
    folder: Path
    pipelines: dict[str, Definition]
    datasets: dict[str, Definition]

    def pipeline(self, name: str) -> Definition:
        found = self.pipelines.get(name)
        if found is None:
            raise PipelineError(f"{self.folder}: no pipeline {name!r} (the repository has "
                                f"{', '.join(sorted(self.pipelines)) or 'none'})")
        return found

    def describe(self) -> dict[str, Any]:
        """What was loaded, for evidence: each pipeline with its file, parameters and activity types."""
        return {
            "folder": str(self.folder),
            "pipelines": [{"name": d.name, "file": str(d.path), "parameters": sorted(d.properties.get("parameters") or {}),
                           "activities": _types(d.properties["activities"])} for d in self.pipelines.values()],
            "datasets": [{"name": d.name, "file": str(d.path), "type": d.properties.get("type"),
                          "linked_service": d.properties["linkedServiceName"]["referenceName"]}
                         for d in self.datasets.values()],
        }


def _types(activities: list[dict[str, Any]]) -> list[str]:
    """Every activity's type, nested ones included, in declaration order."""
    found = []
    for activity in activities:
        found.append(activity["type"])
        for key in ("activities", "ifTrueActivities", "ifFalseActivities"):
            found += _types(activity.get(key) or [])
    return found


def load_definitions(folder: Path, linked_services: tuple[str, ...] = (LAKE_LINKED_SERVICE,)) -> Definitions:
    """Read and check every pipeline and dataset under `folder`; PipelineError or Unsupported naming the file."""
    try:
        loaded = load_factory_definitions(Path(folder), linked_services=linked_services)
    except PipelineDefinitionError as exc:
        raise PipelineError(str(exc)) from None
    for dataset in loaded.datasets:
        check_dataset(dataset)
    for pipeline in loaded.pipelines:
        with where(f"{pipeline.path}: pipeline {pipeline.name!r}"):
            check_parameters(pipeline.properties.get("parameters"), "pipeline")
            check_container(pipeline.properties["activities"], "")
    return Definitions(Path(folder), {d.name: d for d in loaded.pipelines}, {d.name: d for d in loaded.datasets})
