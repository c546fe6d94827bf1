"""The resources of one or more captured graphs, found by what an id or a name refers to.

The mock runtime gives resources ids of its own shape (`.../providers/storage/StorageAccount/<name>`)
while the program spells ids it cannot take from a resource (the primary's zones, seen from the
secondary) the way Azure does (`.../providers/Microsoft.Network/privateDnsZones/<name>`). Both name
the resource group and end in the resource's name, which is what a reference is matched on.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Any

from orchestrator.program.graph import Graph, GraphResource


@dataclass(frozen=True)
class Found:
    """A resource of a graph, with its inputs and the stack it belongs to."""

    stack: str
    resource: GraphResource
    inputs: dict[str, Any]

    @property
    def type(self) -> str:
        return self.resource["type"]

    @property
    def name(self) -> str:
        """Its Azure name (the logical name when Azure names it)."""
        return self.resource["physical_name"] or self.resource["name"]

    @property
    def group(self) -> str:
        return str(self.inputs.get("resourceGroupName") or "")

    @property
    def label(self) -> str:
        return f"{self.name} ({self.stack})"


def id_parts(resource_id: str) -> tuple[str, str]:
    """(resource group, name) of an ARM-shaped id, lower case; ('', '') when it is not one."""
    parts = [p for p in str(resource_id).split("/") if p]
    lowered = [p.lower() for p in parts]
    if "resourcegroups" not in lowered or len(parts) < 2:
        return "", ""
    group = parts[lowered.index("resourcegroups") + 1]
    return group.lower(), parts[-1].lower()


def subnet_of(subnet_id: str) -> tuple[str, str, str]:
    """(group, vnet, subnet) of a subnet id, lower case."""
    parts = [p for p in str(subnet_id).split("/") if p]
    lowered = [p.lower() for p in parts]
    if "subnets" not in lowered:
        return "", "", ""
    at = lowered.index("subnets")
    return id_parts("/".join(parts[:at]))[0], lowered[at - 1], lowered[at + 1]


class GraphIndex:
    """Every custom resource of the given graphs (a stack's own, and its pair's)."""

    def __init__(self, graphs: Iterable[Graph]) -> None:
        self.items: list[Found] = [
            Found(graph.stack, resource, graph.inputs.get(resource["urn"], {}))
            for graph in graphs for resource in graph.resources
        ]

    def of_type(self, *kinds: str) -> Iterator[Found]:
        """Resources whose type token ends in one of `kinds` (e.g. 'network:PrivateEndpoint')."""
        return (f for f in self.items if any(f.type.endswith(kind) for kind in kinds))

    def refers_to(self, resource_id: Any, target: Found) -> bool:
        group, name = id_parts(str(resource_id or ""))
        return bool(name) and name == target.name.lower() and group == target.group.lower()

    def referred(self, resource_id: Any, *kinds: str) -> Found | None:
        """The resource of one of `kinds` that `resource_id` names."""
        return next((f for f in self.of_type(*kinds) if self.refers_to(resource_id, f)), None)

    def first(self, stack: str, kind: str, component: str | None = None) -> Found | None:
        return next((f for f in self.of_type(kind) if f.stack == stack
                     and (component is None or f.resource["component"] == component)), None)
