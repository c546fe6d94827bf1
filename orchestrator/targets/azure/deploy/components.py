"""Which component (DR profile key) each resource of an update belongs to, from the preview graph.

Matched by type and logical name (orchestrator/program/capture.py): the two runtimes build the
same names, but the mock runtime puts the root stack in a URN's type chain and the engine does
not. A resource the graph does not know is placed by the component type in its URN's parent chain.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from orchestrator.targets.azure.deploy.events import urn_parts

if TYPE_CHECKING:
    from orchestrator.program.graph import Graph

ResourceKey = tuple[str, str]  # (type token, logical name)


class ComponentIndex:
    """Which component (DR profile key) each resource belongs to, from the preview graph."""

    def __init__(self, expected: dict[str, set[ResourceKey]], component_types: dict[str, str]) -> None:
        self._expected = expected
        self._owner = {key: component for component, keys in expected.items() for key in keys}
        self._component_types = component_types
        self._cache: dict[str, str | None] = {}

    @classmethod
    def from_graph(cls, graph: Graph) -> ComponentIndex:
        profiles = graph.component_profiles()  # logical component name -> DR profile
        enclosing = {c["name"]: c["component"] for c in graph.components}

        def owner(name: str | None) -> str | None:
            # A nested component without a profile of its own belongs to the one around it.
            seen: set[str] = set()
            while name is not None and name not in profiles and name not in seen:
                seen.add(name)
                name = enclosing.get(name)
            return profiles[name].key if name in profiles else None

        expected: dict[str, set[ResourceKey]] = {profile.key: set() for profile in profiles.values()}
        for resource in graph.resources:
            key = owner(resource["component"])
            if key is not None:
                expected[key].add((resource["type"], resource["name"]))
        types: dict[str, str | None] = {}
        for component in graph.components:
            key = owner(component["name"])
            # The same component type owned by two profiles cannot place a resource: leave it out.
            types[component["type"]] = key if types.get(component["type"], key) == key else None
        return cls(expected, {t: k for t, k in types.items() if k is not None})

    def expected(self, component: str) -> set[ResourceKey]:
        return set(self._expected.get(component, set()))

    def component_of(self, urn: str) -> str | None:
        if urn not in self._cache:
            chain, name = urn_parts(urn)
            found = self._owner.get((chain[-1], name)) if chain else None
            for parent_type in reversed(chain[:-1]):
                if found is not None:
                    break
                found = self._component_types.get(parent_type)
            self._cache[urn] = found
        return self._cache[urn]
