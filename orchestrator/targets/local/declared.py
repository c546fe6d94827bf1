"""What the program's graph declares for the secondary's lake and PostgreSQL: what the local deploy
steps build, and what each thing they build stands for.

The deploy steps read the same graph `drctl preview` prints (orchestrator/program/capture.py), not a
list of their own: a container, database or role the program adds is created by the next drill, and
each one names the graph resource (its URN) or stack output it comes from. What the graph declares
that an emulator cannot hold (private endpoints, DNS zone groups, network and SKU settings) is kept
with the reason, so the evidence lists it as not created instead of leaving it out.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from components.lake import TYPE_TOKEN as LAKE_COMPONENT
from components.postgres import DATABASES_OUTPUT
from components.postgres import TYPE_TOKEN as POSTGRES_COMPONENT

if TYPE_CHECKING:
    from orchestrator.program.graph import Graph

ACCOUNT = "azure-native:storage:StorageAccount"
CONTAINER = "azure-native:storage:BlobContainer"
SERVER = "azure-native:dbforpostgresql:Server"
DATABASE = "azure-native:dbforpostgresql:Database"
ENTRA_ADMIN = "azure-native:dbforpostgresql:AdministratorsMicrosoftEntra"

WHY_NOT_CREATED = {
    "azure-native:network:PrivateEndpoint": "no virtual network locally: the emulators listen on 127.0.0.1 only",
    "azure-native:network:PrivateDnsZoneGroup": "no private DNS zone locally: clients reach the emulators as "
                                                "127.0.0.1:<port>",
    "azure-native:monitor:DiagnosticSetting": "no Azure Monitor locally: no Log Analytics workspace to send resource logs to",
}


def why_not_created(type_token: str) -> str:
    return WHY_NOT_CREATED.get(type_token, f"no local emulator for {type_token}")


@dataclass(frozen=True)
class Declared:
    """One resource of the graph: its URN, type, the program's name and the Azure name it chose."""

    urn: str
    type: str
    name: str
    physical_name: str | None
    inputs: dict[str, Any] = field(default_factory=dict, compare=False)

    def ref(self) -> dict[str, Any]:
        """How evidence names it: enough to find it in `drctl preview --json`."""
        return {"urn": self.urn, "type": self.type, "name": self.name}


@dataclass(frozen=True)
class ComponentDeclarations:
    """The resources one component declares (those of components nested in it too), and the stack's outputs."""

    component: str
    resources: tuple[Declared, ...]
    outputs: dict[str, Any] = field(default_factory=dict, compare=False)

    def of_type(self, type_token: str) -> list[Declared]:
        return [r for r in self.resources if r.type == type_token]

    def one(self, type_token: str) -> Declared:
        found = self.of_type(type_token)
        if len(found) != 1:
            raise ValueError(f"the graph's {self.component} declares {len(found)} {type_token}, not one")
        return found[0]

    def others(self, handled: Iterable[str]) -> list[Declared]:
        """What the deploy step does not build: every resource whose type is not in `handled`."""
        kept = set(handled)
        return [r for r in self.resources if r.type not in kept]


def declared_for(graph: Graph, component_type: str) -> ComponentDeclarations:
    """The resources of the graph's components of `component_type` (none declared: an empty set)."""
    nodes = [c for c in graph.components if c["type"] == component_type]
    names = {c["name"] for c in nodes}
    # A component nested in one of these (by its enclosing component's name) belongs to it too.
    grew = True
    while grew:
        inner = {c["name"] for c in graph.components if c.get("component") in names} - names
        names |= inner
        grew = bool(inner)
    resources = tuple(
        Declared(urn=r["urn"], type=r["type"], name=r["name"], physical_name=r["physical_name"],
                 inputs=dict(graph.inputs.get(r["urn"], {})))
        for r in graph.resources if r["component"] in names)
    label = nodes[0]["name"] if nodes else component_type
    return ComponentDeclarations(label, resources, dict(graph.outputs))


@dataclass(frozen=True)
class SecondaryDeclarations:
    lake: ComponentDeclarations
    postgres: ComponentDeclarations

    @classmethod
    def from_graph(cls, graph: Graph) -> SecondaryDeclarations:
        return cls(declared_for(graph, LAKE_COMPONENT), declared_for(graph, POSTGRES_COMPONENT))


def lake_account_name(graph: Graph) -> str | None:
    """The lake's storage account as the program names it (not any other account of the stack)."""
    accounts = declared_for(graph, LAKE_COMPONENT).of_type(ACCOUNT)
    return accounts[0].physical_name if accounts else None


@dataclass(frozen=True)
class DatabaseDeclaration:
    name: str
    graph: dict[str, Any]
    note: str | None = None


def declared_databases(postgres: ComponentDeclarations) -> list[DatabaseDeclaration]:
    """The databases the program declares: its Database resources; on a secondary, whose
    geo-restore brings the primary's databases, the stack output that lists them instead."""
    resources = postgres.of_type(DATABASE)
    if resources:
        return [DatabaseDeclaration(r.physical_name or r.name, r.ref()) for r in resources]
    listed = postgres.outputs.get(DATABASES_OUTPUT) or []
    note = ("a geo-restore brings the primary's databases, so the program lists them as this stack output "
            "instead of declaring them as resources")
    return [DatabaseDeclaration(str(name), {"output": DATABASES_OUTPUT}, note) for name in listed]
