"""The resource graph a stack's program declares, as drctl plans from it.

Kept apart from orchestrator/program/capture.py, which runs the program and so imports Pulumi and
every service: a graph read back from the cache, or built by a test, needs neither, and the offline
verbs answered from the cache (posture, coverage) stay fast only if they do not import them.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, TypedDict

if TYPE_CHECKING:
    from components.profile import DRProfile

STACK_TYPE = "pulumi:pulumi:Stack"


class GraphResource(TypedDict):
    urn: str
    type: str
    name: str
    physical_name: str | None
    location: str | None
    component: str | None


class ComponentNode(TypedDict):
    urn: str
    type: str
    name: str
    component: str | None  # the enclosing component, if nested


@dataclass(frozen=True)
class Graph:
    stack: str
    region: str
    resources: list[GraphResource]
    components: list[ComponentNode] = field(default_factory=list)
    outputs: dict[str, Any] = field(default_factory=dict)
    # URN -> the inputs the program gave each custom resource: what the security baseline reads.
    inputs: dict[str, dict[str, Any]] = field(default_factory=dict)

    def component_types(self) -> list[str]:
        """Type token of every component, in the program's dependency order."""
        return [c["type"] for c in self.components]

    def component_profiles(self) -> dict[str, DRProfile]:
        """Logical component name -> its DR profile (components without one are left out)."""
        from components.registry import profile_for

        found = {c["name"]: profile_for(c["type"]) for c in self.components}
        return {name: profile for name, profile in found.items() if profile is not None}

    def resources_of(self, component: str) -> list[GraphResource]:
        return [r for r in self.resources if r["component"] == component]


def graph_to_json(graph: Graph) -> dict[str, Any]:
    """The graph as `drctl preview --json` prints it."""
    return {
        "stack": graph.stack,
        "region": graph.region,
        "resources": [
            {
                "urn": r["urn"],
                "type": r["type"],
                "name": r["name"],
                "physical_name": r["physical_name"],
                "location": r["location"],
                "component": r["component"],
            }
            for r in graph.resources
        ],
    }
