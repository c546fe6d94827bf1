"""The runbook as data: its sections, paragraphs, tables and recovery steps, and what every section
builder reads (Context). Builders: sections.py, steps.py, checklists.py; rendering: render.py; the
whole document: document.py."""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property
from typing import TYPE_CHECKING, Any

from components.profile import DRProfile
from orchestrator.report.durations import human_duration
from orchestrator.runbook.contacts import AreaContact, Contacts, Person, RoleContact

if TYPE_CHECKING:
    from orchestrator.program.graph import Graph, GraphResource
    from stacks.config import StackConfig

# The seed's DR plan structure, in its order: the document's top-level sections.
SECTION_TITLES = (
    "Process Requirements",
    "Contact Listing",
    "Architecture Design",
    "Dependencies",
    "DR Prerequisites",
    "Technical Recovery - Step-by-Step Instructions",
    "Technical Recovery - Post Requisites",
    "Business Stakeholder Review and Approval",
    "Recovery Post Requisites",
)

RUN = "RUN"  # how the steps name the run: the directory `drctl failover` prints first (`run: <dir>`)


# -- the content model: a few block kinds every renderer knows -------------------------------------
# Text is plain; `backticks` mark commands, file names and step ids (code in either format).


@dataclass(frozen=True)
class Para:
    text: str


@dataclass(frozen=True)
class Bullets:
    items: tuple[str, ...]
    checklist: bool = False  # boxes to tick on a printed copy


@dataclass(frozen=True)
class Table:
    headers: tuple[str, ...]
    rows: tuple[tuple[str, ...], ...]


@dataclass(frozen=True)
class Fields:
    """Labelled entries; a label with several lines renders as a nested list."""

    items: tuple[tuple[str, tuple[str, ...]], ...]


@dataclass(frozen=True)
class Subsection:
    title: str
    blocks: tuple[Block, ...]
    anchor: str = ""


Block = Para | Bullets | Table | Fields | Subsection


@dataclass(frozen=True)
class Section:
    title: str
    blocks: tuple[Block, ...]


@dataclass(frozen=True)
class RecoveryStep:
    """One plan step as the runbook gives it to the executor."""

    number: int
    step_id: str
    kind: str
    component: str
    title: str
    prerequisites: tuple[str, ...]
    actions: tuple[str, ...]
    validation: tuple[str, ...]
    estimate_s: float
    estimate_source: str
    expected: str  # the estimate with contingency, in words
    on_failure: tuple[str, ...]
    escalation: tuple[str, ...]


@dataclass(frozen=True)
class Runbook:
    title: str
    stack: str
    intro: tuple[Block, ...]
    sections: tuple[Section, ...]
    steps: tuple[RecoveryStep, ...] = field(default=())


@dataclass(frozen=True)
class Context:
    """What every section reads: the plan document (plan_command's), the program's graph and
    config, the components' profiles by key, and the contacts."""

    stack: str
    config: StackConfig
    graph: Graph
    document: dict[str, Any]
    profiles: dict[str, DRProfile]
    contacts: Contacts
    preflight_checks: tuple[dict[str, Any], ...] = ()
    preflight_note: str | None = None

    @cached_property
    def numbers(self) -> dict[str, int]:
        return {step["id"]: n for n, step in enumerate(self.document["steps"], start=1)}

    def step_ref(self, step_id: str) -> str:
        return f"step {self.numbers[step_id]} (`{step_id}`)" if step_id in self.numbers else f"`{step_id}`"

    @cached_property
    def resources_by_key(self) -> dict[str, list[GraphResource]]:
        """The graph's resources grouped by the DR profile key of the component holding them."""
        names = {name: profile.key for name, profile in self.graph.component_profiles().items()}
        grouped: dict[str, list[GraphResource]] = {}
        for resource in self.graph.resources:
            key = names.get(resource["component"] or "")
            if key is not None:
                grouped.setdefault(key, []).append(resource)
        return grouped


# -- helpers the section modules share ---------------------------------------------------------------


def duration(seconds: float | None) -> str:
    # The very format `drctl plan` prints, so a reader can hold the two side by side.
    return human_duration(seconds)


def role_row(label: str, role: RoleContact) -> tuple[str, str, str, str]:
    return (label, role.primary.reach(), role.secondary.reach(), role.escalation.reach())


def area_label(entry: AreaContact) -> str:
    return f"{entry.area} (components: {', '.join(entry.components)})" if entry.components else entry.area


def chain(role: RoleContact, label: str, short: bool = False) -> str:
    """A role's escalation order on one line (`short`: a name and one number each)."""
    people = [(p.short() if short else p.reach()) for p in (role.primary, role.secondary, role.escalation)]
    return f"{label}: {people[0]}; if unreachable {people[1]}; escalate to {people[2]}"


def names(people: tuple[Person, ...]) -> str:
    return ", ".join(person.name for person in people)
