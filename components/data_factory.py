"""Data Factory: the factory, and the pipelines and datasets held in the repository's pipelines folder.

The seeds class ADF pipelines as stateless: they are redeployed from source control. So the
definitions live in the repository in ADF's own JSON shape (`{"name", "properties": {...}}`, as ADF's
Git integration writes them): `<pipelinesDir>/*.json` are pipelines, `<pipelinesDir>/datasets/*.json`
datasets. They are read and checked before anything is deployed.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from graphlib import CycleError, TopologicalSorter
from pathlib import Path
from typing import Any, Iterator

import pulumi
from pulumi_azure_native import authorization, datafactory

from components import naming, roles
from components.profile import (
    Dependency,
    DRProfile,
    Estimates,
    RecoveryAction,
    Responsibility,
    SeedFacts,
    register,
)

TYPE_TOKEN = "dataplatform:data:DataFactory"

PROFILE = register(
    TYPE_TOKEN,
    DRProfile(
        key="data_factory",
        title="Azure Data Factory and the repository's pipelines",
        stateful=False,
        recovery_action=RecoveryAction.REDEPLOY,
        smoke_checks=("factory-provisioned", "pipeline-parity", "smoke-pipeline-run"),
        data_checks=(),
        depends_on=(
            Dependency("foundation", "the factory lives in the data resource group"),
            Dependency("connectivity", "its private endpoint zone (privatelink.datafactory) is in the hub"),
            Dependency("lake", "the lake linked service and the pipelines' datasets point at the lake"),
            Dependency("postgres", "pipelines load into and read from the relational store"),
            Dependency("event_hubs", "replay re-runs ingestion, which must find the hubs in place"),
        ),
        priority=4,
        # Factory, linked service, datasets and pipelines: a couple of minutes; smoke = one short run.
        estimates=Estimates(deploy=120, smoke=120),
        seed=(
            SeedFacts(
                service="Microsoft Fabric: Data Factory",
                component_responsibility=Responsibility.MICROSOFT,
                workload_responsibility=Responsibility.CUSTOMER,
                sku_selected="Fabric Capacity",
                uplift_options=("Cross-region pipeline deployment (pipelines redeployed through CI/CD)",),
            ),
        ),
        notes=(
            "Implemented with Azure Data Factory, which the seeds allow as the physical ELT service and "
            "class as stateless: redeployed from source control, then smoke-tested.",
            "Run history and trigger state stay in the primary; triggers are restarted after handover.",
        ),
    ),
)

LAKE_LINKED_SERVICE = "lake"

# ADF object names: no . + ? / < > * % & : \ and at most 140 characters.
_ADF_NAME = re.compile(r"[A-Za-z0-9_][^.+?/<>*%&:\\]{0,139}")
# Pipeline `properties` keys and the Pipeline argument each one becomes; lastPublishTime is written
# by ADF's Git integration and has no meaning on deploy.
_PIPELINE_FIELDS = {
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


class PipelineDefinitionError(ValueError):
    """A pipeline or dataset file that cannot be deployed; the message starts with the file."""


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
        unknown = set(properties) - set(_PIPELINE_FIELDS) - _IGNORED_FIELDS
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


def _references(node: Any) -> Iterator[tuple[str, str]]:
    """Every (kind, name) a definition points at: datasets, pipelines, linked services."""
    if isinstance(node, dict):
        kind = _REFERENCE_KINDS.get(node.get("type"))  # type: ignore[arg-type]
        if kind and isinstance(node.get("referenceName"), str):
            yield kind, node["referenceName"]
        for value in node.values():
            yield from _references(value)
    elif isinstance(node, list):
        for value in node:
            yield from _references(value)


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
        for kind, name in _references(definition.properties):
            if name not in known[kind]:
                raise PipelineDefinitionError(f"{definition.path}: refers to {kind} '{name}', which is not deployed")
    return FactoryDefinitions(pipelines=pipelines, datasets=datasets)


def _pipeline_order(definitions: FactoryDefinitions) -> list[Definition]:
    by_name = {d.name: d for d in definitions.pipelines}
    graph = {d.name: {n for k, n in _references(d.properties) if k == "pipeline"} for d in definitions.pipelines}
    try:
        return [by_name[name] for name in TopologicalSorter(graph).static_order()]
    except CycleError as exc:
        raise PipelineDefinitionError(f"pipelines call each other in a cycle: {exc.args[1]}") from None


@dataclass(frozen=True)
class DataFactoryArgs:
    location: str
    prefix: str
    name_suffix: str
    resource_group_name: pulumi.Input[str]
    definitions: FactoryDefinitions
    # The lake's dfs endpoint and id: the linked service's URL and the role assignment's scope.
    lake_dfs_endpoint: pulumi.Input[str] | None = None
    lake_account_id: pulumi.Input[str] | None = None


class DataFactory(pulumi.ComponentResource):
    """Factory with a system-assigned identity, the lake linked service, datasets and pipelines."""

    def __init__(self, name: str, args: DataFactoryArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__(TYPE_TOKEN, name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        group = args.resource_group_name

        self.factory = datafactory.Factory(
            f"{name}-factory",
            factory_name=naming.data_factory_name(args.prefix, args.name_suffix),
            resource_group_name=group,
            location=args.location,
            # The factory reaches the lake with its own identity: no keys in linked services.
            identity=datafactory.FactoryIdentityArgs(type="SystemAssigned"),
            public_network_access="Disabled",
            opts=child,
        )

        self.linked_services: list[datafactory.LinkedService] = []
        if args.lake_dfs_endpoint is not None:
            self.linked_services.append(self._lake_access(name, args, child))
        deployed = {LAKE_LINKED_SERVICE} if self.linked_services else set()
        for d in args.definitions.datasets:
            missing = {n for k, n in _references(d.properties) if k == "linked service"} - deployed
            if missing:
                raise PipelineDefinitionError(f"{d.path}: refers to linked service {sorted(missing)}, not deployed")

        # Definitions refer to each other by name only, so the order is made explicit.
        after_links = pulumi.ResourceOptions(parent=self, depends_on=self.linked_services)
        self.datasets = {
            d.name: datafactory.Dataset(
                f"{name}-dataset-{d.name}",
                dataset_name=d.name,
                factory_name=self.factory.name,
                resource_group_name=group,
                properties=d.properties,
                opts=after_links,
            )
            for d in args.definitions.datasets
        }
        self.pipelines: dict[str, datafactory.Pipeline] = {}
        for d in _pipeline_order(args.definitions):
            called = [self.pipelines[n] for k, n in _references(d.properties) if k == "pipeline"]
            fields = {_PIPELINE_FIELDS[key]: value for key, value in d.properties.items()}
            self.pipelines[d.name] = datafactory.Pipeline(
                f"{name}-pipeline-{d.name}",
                pipeline_name=d.name,
                factory_name=self.factory.name,
                resource_group_name=group,
                **fields,
                opts=pulumi.ResourceOptions(parent=self, depends_on=[*self.datasets.values(), *called]),
            )

        self.factory_name: pulumi.Output[str] = self.factory.name
        self.pipeline_names: list[str] = sorted(self.pipelines)
        self.smoke_pipeline: str | None = "smoke" if "smoke" in self.pipelines else None
        self.register_outputs(
            {
                "factory_name": self.factory_name,
                "pipeline_names": self.pipeline_names,
                "smoke_pipeline": self.smoke_pipeline,
            }
        )

    def _lake_access(
        self, name: str, args: DataFactoryArgs, child: pulumi.ResourceOptions
    ) -> datafactory.LinkedService:
        if args.lake_account_id is not None:
            client = authorization.get_client_config_output(opts=pulumi.InvokeOutputOptions(parent=self))
            roles.grant(
                f"{name}-lake-access",
                seed=None,
                scope=args.lake_account_id,
                subscription_id=client.subscription_id,
                role=roles.STORAGE_BLOB_DATA_CONTRIBUTOR,
                principal_id=roles.principal_of(self.factory),
                opts=child,
            )
        # ADLS Gen2 with only a URL means: authenticate as the factory's system-assigned identity.
        return datafactory.LinkedService(
            f"{name}-ls-{LAKE_LINKED_SERVICE}",
            linked_service_name=LAKE_LINKED_SERVICE,
            factory_name=self.factory.name,
            resource_group_name=args.resource_group_name,
            properties=datafactory.AzureBlobFSLinkedServiceArgs(type="AzureBlobFS", url=args.lake_dfs_endpoint),
            opts=child,
        )
