"""A stack as drctl knows it (StackModel, loaded once per command by load_stack), and the offline
verbs' documents: preview, plan, status and posture."""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING, NamedTuple

from components.profile import DRProfile
from orchestrator.errors import BadInput

if TYPE_CHECKING:  # at run time only where used: stacks.config costs pydantic, capture costs Pulumi
    from orchestrator.model import Plan
    from orchestrator.program.graph import Graph
    from stacks.config import StackConfig

_STACK_NAME = re.compile(r"^[A-Za-z0-9_.-]{1,100}$")

# The seeds' DR plan ends with people: a technical validation and sign-off, then the handover to
# solution teams with the data timestamps. Their time counts against the RTO like any step's.
GATE_ESTIMATE_S = 900
BUSINESS_GATE_ESTIMATE_S = 1800
HANDOVER_ESTIMATE_S = 300


def known_stacks(project_dir: Path) -> list[str]:
    return sorted(p.name[len("Pulumi.") : -len(".yaml")] for p in Path(project_dir).glob("Pulumi.*.yaml"))


def check_stack(project_dir: Path, stack: str) -> None:
    if not (Path(project_dir) / "Pulumi.yaml").is_file():
        raise BadInput(f"--project-dir: no Pulumi.yaml in {project_dir}")
    if not _STACK_NAME.match(stack) or not (Path(project_dir) / f"Pulumi.{stack}.yaml").is_file():
        stacks = ", ".join(known_stacks(project_dir)) or "none"
        raise BadInput(f"--stack: unknown stack {stack!r} (stacks here: {stacks})")


def capture(project_dir: Path, stack: str, config: StackConfig | None = None) -> Graph:
    """The stack's graph: the program under the mock runtime, or the graph it gave last time on
    byte-identical code and stack files (orchestrator/program/cache.py). `config`: the stack's,
    when the caller has read it already (the program runs on it instead of reading it again)."""
    from orchestrator.program.cache import cached_graph

    check_stack(project_dir, stack)

    def run_program() -> Graph:
        from orchestrator.program.capture import capture_graph  # imports Pulumi: only on a miss

        return capture_graph(Path(project_dir), stack, config)

    return cached_graph(Path(project_dir), stack, run_program)


def profiles_in(graph: Graph) -> list[DRProfile]:
    """The DR profile of every component the program registered, in registration order."""
    from components.registry import profile_for

    profiles: list[DRProfile] = []
    for component_type in graph.component_types():
        profile = profile_for(component_type)
        if profile is not None and profile not in profiles:
            profiles.append(profile)
    return profiles


def stack_profiles(graph: Graph, config: StackConfig) -> list[DRProfile]:
    """The SaaS and Microsoft-recovered services the stack relies on (readiness checks or a person's
    confirmation, before anything is deployed on them), then the program's components, then the
    services switched on that declare nothing on this stack's role but still have recovery work
    here (the secondary fails the primary's Event Hubs alias over)."""
    from components.catalog import catalog_profile
    from components.registry import SERVICES

    deployed = profiles_in(graph)
    elsewhere = [
        spec.profile
        for spec in SERVICES
        if config.enabled(spec.key) and config.role not in spec.roles and spec.profile not in deployed
    ]
    return [catalog_profile(key) for key in config.saas] + deployed + elsewhere


@dataclass(frozen=True, eq=False)
class StackModel:
    """One stack as drctl knows it: its validated config, the resource graph its program declares
    and the DR profiles of what it relies on. Loaded once per command at the CLI's edge (load_stack)
    and passed down, so nothing below reads the stack file or runs the program again.

    The graph, the profiles and the plan are had on first use, once: a command refused on the
    config alone (a stack of the wrong role) has then touched nothing, not even the graph cache."""

    project_dir: Path
    config: StackConfig

    @property
    def name(self) -> str:
        return self.config.stack

    @cached_property
    def graph(self) -> Graph:
        return capture(self.project_dir, self.name, self.config)

    @cached_property
    def profiles(self) -> tuple[DRProfile, ...]:
        return tuple(stack_profiles(self.graph, self.config))

    @property
    def profiles_by_key(self) -> dict[str, DRProfile]:
        return {profile.key: profile for profile in self.profiles}

    @cached_property
    def recovery_plan(self) -> Plan:
        """The plan `drctl plan` prints and a failover or drill into this stack runs."""
        from orchestrator.plan.recovery import build_plan
        from orchestrator.plan.zones import apply_zone_policies

        plan = build_plan(
            self.name,
            list(self.profiles),
            rto_target_s=self.config.recovery.rto_minutes * 60,
            rpo_target_s=self.config.recovery.rpo_minutes * 60,
            gate_estimate_s=GATE_ESTIMATE_S,
            business_gate_estimate_s=BUSINESS_GATE_ESTIMATE_S,
            handover_estimate_s=HANDOVER_ESTIMATE_S,
        )
        return apply_zone_policies(plan, self.config.lake) if self.config.enabled("lake") else plan


def load_stack(project_dir: Path, stack: str) -> StackModel:
    """The stack's model: its file read and validated (bad input names the file and key)."""
    from stacks.config import load_stack_config

    check_stack(project_dir, stack)
    return StackModel(Path(project_dir), load_stack_config(Path(project_dir), stack))


class StackPlan(NamedTuple):
    plan: Plan
    graph: Graph
    config: StackConfig


def build_stack_plan(project_dir: Path, stack: str) -> StackPlan:
    """The recovery plan of a stack with what it was built from, for callers that unpack the three."""
    model = load_stack(project_dir, stack)
    return StackPlan(model.recovery_plan, model.graph, model.config)
