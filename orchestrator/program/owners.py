"""Which DR profile answers for a resource: the dr-profile rule of `drctl coverage` and of the policy pack.

A resource is owned by the DR profile of its nearest enclosing component that has one (a component
without a profile, a helper, hands its resources up to the component around it). A resource no
profile owns has no recovery anyone planned: a gap in coverage, a violation in the policy pack
(policy/), both worded by `unowned_line`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from components.registry import profile_for

if TYPE_CHECKING:
    from components.profile import DRProfile
    from orchestrator.program.graph import Graph, GraphResource


def owner(graph: Graph, component: str | None) -> DRProfile | None:
    """The DR profile of the nearest enclosing component, from `component` outwards, that has one."""
    nodes = {node["name"]: node for node in graph.components}
    seen: set[str] = set()
    while component is not None and component not in seen:
        seen.add(component)
        node = nodes.get(component)
        if node is None:
            return None
        profile = profile_for(node["type"])
        if profile is not None:
            return profile
        component = node["component"]
    return None


def unowned(graph: Graph) -> list[GraphResource]:
    """The resources of `graph` that no DR profile owns, in graph order."""
    return [resource for resource in graph.resources if owner(graph, resource["component"]) is None]


def unowned_line(resource: GraphResource) -> str:
    return f"{resource['type']} {resource['name']!r} belongs to no component with a DR profile"
