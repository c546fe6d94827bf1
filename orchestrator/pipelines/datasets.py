"""Datasets and linked services, resolved to a folder of an Azurite account.

The repository's datasets are Binary files in an ADLS Gen2 location (AzureBlobFSLocation: a file
system, which is a container, and a folder path) of the `lake` linked service, which the program
declares (components/data_factory.py: AzureBlobFS on the lake's dfs endpoint). Locally a linked
service name maps to the Azurite account that stands in for it; a folder is a blob name prefix
(Azurite has no hierarchical namespace, so a folder exists when a blob is under it).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from azure.storage.blob import BlobServiceClient

from components.data_factory_pipelines import Definition
from orchestrator.pipelines.errors import PipelineError, unsupported, where
from orchestrator.pipelines.expressions import Scope, check_supported, evaluate

DATASET_TYPES = frozenset({"Binary"})
LOCATION_TYPES = frozenset({"AzureBlobFSLocation"})
DATASET_KEYS = frozenset({"type", "linkedServiceName", "parameters", "annotations", "description", "folder", "location"})
LOCATION_KEYS = frozenset({"type", "fileSystem", "folderPath"})
PARAMETER_TYPES = frozenset({"String", "Int"})


@dataclass(frozen=True)
class Folder:
    """A dataset resolved for one activity: a folder of a container of a linked service's account."""

    service: BlobServiceClient
    linked_service: str
    container: str
    folder: str  # without leading or trailing slashes; "" is the container's root

    @property
    def prefix(self) -> str:
        return f"{self.folder}/" if self.folder else ""

    def describe(self) -> dict[str, str]:
        return {"linked_service": self.linked_service, "account": str(self.service.account_name),
                "container": self.container, "folder": self.folder}


def check_parameters(declared: Any, what: str) -> None:
    if declared is None:
        return
    if not isinstance(declared, dict):
        raise PipelineError(f"{what} parameters must be an object")
    for name, spec in declared.items():
        kind = spec.get("type") if isinstance(spec, dict) else None
        if kind not in PARAMETER_TYPES:
            raise unsupported(f"the {what} parameter {name!r} of type {kind!r}")


def check_dataset(definition: Definition) -> None:
    """Refuse, naming it, anything of a dataset the runner would not read as the service does."""
    properties = definition.properties
    with where(f"{definition.path}: dataset {definition.name!r}"):
        if properties.get("type") not in DATASET_TYPES:
            raise unsupported(f"the dataset type {properties.get('type')!r}")
        for key in sorted(set(properties) - DATASET_KEYS):
            raise unsupported(f"the dataset property {key!r}")
        location = properties.get("location")
        if not isinstance(location, dict) or location.get("type") not in LOCATION_TYPES:
            kind = location.get("type") if isinstance(location, dict) else location
            raise unsupported(f"the dataset location {kind!r}")
        for key in sorted(set(location) - LOCATION_KEYS):
            raise unsupported(f"the {location['type']} property {key!r}")
        check_parameters(properties.get("parameters"), "dataset")
        check_supported(location)


class Datasets:
    """The repository's datasets, resolved against the accounts that stand in for its linked services."""

    def __init__(self, definitions: Mapping[str, Definition], linked_services: Mapping[str, BlobServiceClient]):
        self.definitions, self.linked_services = dict(definitions), dict(linked_services)

    def resolve(self, reference: Any, scope: Scope) -> Folder:
        """The folder a DatasetReference designates, its parameters evaluated in the activity's scope."""
        if not isinstance(reference, dict) or reference.get("type") != "DatasetReference":
            raise PipelineError(f"expected a DatasetReference, got {reference!r}")
        name = reference.get("referenceName")
        definition = self.definitions.get(str(name))
        if definition is None:
            raise PipelineError(f"dataset {name!r} is not among the repository's datasets")
        properties = definition.properties
        declared = properties.get("parameters") or {}
        given = {key: evaluate(value, scope) for key, value in (reference.get("parameters") or {}).items()}
        undeclared = sorted(set(given) - set(declared))
        if undeclared:
            raise PipelineError(f"dataset {name!r} declares no parameter {', '.join(map(repr, undeclared))}")
        values = {}
        for key, spec in declared.items():
            if key not in given and "defaultValue" not in spec:
                raise PipelineError(f"dataset {name!r}: parameter {key!r} has no value and no default")
            values[key] = given.get(key, spec.get("defaultValue"))
        inner = scope.in_dataset(values)
        location = properties["location"]
        linked = properties["linkedServiceName"]["referenceName"]
        service = self.linked_services.get(linked)
        if service is None:
            raise PipelineError(f"dataset {name!r}: linked service {linked!r} has no local account to stand for it")
        container, folder = evaluate(location.get("fileSystem"), inner), evaluate(location.get("folderPath", ""), inner)
        if not isinstance(container, str) or not container or not isinstance(folder, str):
            raise PipelineError(f"dataset {name!r}: fileSystem {container!r} and folderPath {folder!r} must be strings")
        return Folder(service, linked, container, folder.strip("/"))
