"""The repository's Data Factory definitions: pipelines and datasets in ADF's own JSON shape.

`{"name", "properties": {...}}`, as ADF's Git integration writes them: `<pipelinesDir>/*.json` are
pipelines, `<pipelinesDir>/datasets/*.json` datasets. They are read and cross-checked before anything
is deployed (components/data_factory.py deploys them), so a bad file stops the program with nothing
declared and an error naming the file.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from dataclasses import dataclass
from graphlib import CycleError, TopologicalSorter
from pathlib import Path
from typing import Any

from components.errors import ConfigError

LAKE_LINKED_SERVICE = "lake"

# ADF object names: no . + ? / < > * % & : \ and at most 140 characters.
_ADF_NAME = re.compile(r"[A-Za-z0-9_][^.+?/<>*%&:\\]{0,139}")
# Pipeline `properties` keys and the Pipeline argument each one becomes; lastPublishTime is written
# by ADF's Git integration and has no meaning on deploy.
PIPELINE_FIELDS = {
    "activities": "activities",
    "parameters": "parameters",
    "variables": "variables",
    "annotations": "annotations",
    "description": "description",
    "concurrency": "concurrency",
    "folder": "folder",
    "runDimensions": "run_dimensions",
    "policy": "policy",
}
_IGNORED_FIELDS = {"lastPublishTime"}
_NESTED_ACTIVITY_KEYS = ("activities", "ifTrueActivities", "ifFalseActivities", "defaultActivities")
_REFERENCE_KINDS = {
    "DatasetReference": "dataset",
    "PipelineReference": "pipeline",
    "LinkedServiceReference": "linked service",
}


class PipelineDefinitionError(ConfigError, ValueError):
    """A pipeline or dataset file that cannot be deployed (or no pipelines folder): bad input like any
    other of the stack's, reported in one line naming the key and the file (exit 2)."""

    def __init__(self, message: str) -> None:
        super().__init__("dataplatform:dataFactory", "pipelinesDir", message)


@dataclass(frozen=True)
class Definition:
    kind: str  # "pipeline" or "dataset"
    name: str
    path: Path
    properties: dict[str, Any]  # as ADF JSON, typeProperties already flattened (Pulumi's shape)


@dataclass(frozen=True)
class FactoryDefinitions:
    pipelines: tuple[Definition, ...]
    datasets: tuple[Definition, ...]


def _flatten(node: dict[str, Any]) -> dict[str, Any]:
    """ADF's JSON nests type-specific fields under typeProperties; azure-native flattens them."""
    flat = {key: value for key, value in node.items() if key != "typeProperties"}
    flat.update(node.get("typeProperties") or {})
    for key in _NESTED_ACTIVITY_KEYS:  # ForEach, Until, IfCondition, Switch hold activities
        if isinstance(flat.get(key), list):
            flat[key] = [_flatten(a) if isinstance(a, dict) else a for a in flat[key]]
    if isinstance(flat.get("cases"), list):
        flat["cases"] = [
            {**case, "activities": [_flatten(a) for a in case.get("activities", [])]} for case in flat["cases"]
        ]
    return flat


def _read(path: Path, kind: str) -> Definition:
    try:
        document = json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as exc:
        where = f"line {exc.lineno}, column {exc.colno}"
        raise PipelineDefinitionError(f"{path}: not valid JSON ({where}: {exc.msg})") from None
    except UnicodeDecodeError:
        raise PipelineDefinitionError(f"{path}: not UTF-8 text") from None
    if not isinstance(document, dict) or not isinstance(document.get("properties"), dict):
        raise PipelineDefinitionError(f'{path}: expected ADF\'s shape {{"name": ..., "properties": {{...}}}}')
    name = document.get("name")
    if not isinstance(name, str) or _ADF_NAME.fullmatch(name) is None:
        raise PipelineDefinitionError(f"{path}: 'name' {name!r} is not a valid Data Factory name")
    if name != path.stem:
        raise PipelineDefinitionError(f"{path}: 'name' is {name!r} but the file is {path.name}; they must match")
    properties = document["properties"]
    if kind == "pipeline":
        unknown = set(properties) - set(PIPELINE_FIELDS) - _IGNORED_FIELDS
        if unknown:
            raise PipelineDefinitionError(f"{path}: unknown pipeline properties: {', '.join(sorted(unknown))}")
        activities = properties.get("activities")
        if not isinstance(activities, list) or not activities:
            raise PipelineDefinitionError(f"{path}: properties.activities must be a non-empty list")
        for index, activity in enumerate(activities):
            if not isinstance(activity, dict) or not activity.get("name") or not activity.get("type"):
                raise PipelineDefinitionError(f"{path}: activity #{index + 1} needs a 'name' and a 'type'")
        flat = {k: v for k, v in properties.items() if k not in _IGNORED_FIELDS}
        flat["activities"] = [_flatten(a) for a in activities]
    else:
        if not isinstance(properties.get("type"), str) or not isinstance(properties.get("linkedServiceName"), dict):
            raise PipelineDefinitionError(f"{path}: a dataset needs properties.type and properties.linkedServiceName")
        flat = _flatten(properties)
    return Definition(kind=kind, name=name, path=path, properties=flat)


def references(node: Any) -> Iterator[tuple[str, str]]:
    """Every (kind, name) a definition points at: datasets, pipelines, linked services."""
    if isinstance(node, dict):
        kind = _REFERENCE_KINDS.get(node.get("type"))  # type: ignore[arg-type]
        if kind and isinstance(node.get("referenceName"), str):
            yield kind, node["referenceName"]
        for value in node.values():
            yield from references(value)
    elif isinstance(node, list):
        for value in node:
            yield from references(value)


def load_factory_definitions(
    folder: Path, linked_services: tuple[str, ...] = (LAKE_LINKED_SERVICE,)
) -> FactoryDefinitions:
    """Read and cross-check every pipeline and dataset file; raise PipelineDefinitionError naming the file.

    `linked_services` are those the component will deploy; a reference to any other is an error.
    """
    folder = Path(folder)
    if not folder.is_dir():
        raise PipelineDefinitionError(f"{folder}: the pipelines folder does not exist")
    pipelines = tuple(_read(p, "pipeline") for p in sorted(folder.glob("*.json")))
    dataset_folder = folder / "datasets"
    dataset_files = sorted(dataset_folder.glob("*.json")) if dataset_folder.is_dir() else []
    datasets = tuple(_read(p, "dataset") for p in dataset_files)
    known = {
        "pipeline": {d.name for d in pipelines},
        "dataset": {d.name for d in datasets},
        "linked service": set(linked_services),
    }
    for definition in pipelines + datasets:
        for kind, name in references(definition.properties):
            if name not in known[kind]:
                raise PipelineDefinitionError(f"{definition.path}: refers to {kind} '{name}', which is not deployed")
    return FactoryDefinitions(pipelines=pipelines, datasets=datasets)


def pipeline_order(definitions: FactoryDefinitions) -> list[Definition]:
    by_name = {d.name: d for d in definitions.pipelines}
    graph = {d.name: {n for k, n in references(d.properties) if k == "pipeline"} for d in definitions.pipelines}
    try:
        return [by_name[name] for name in TopologicalSorter(graph).static_order()]
    except CycleError as exc:
        raise PipelineDefinitionError(f"pipelines call each other in a cycle: {exc.args[1]}") from None
