"""Shared helpers for tests that run components under Pulumi's mock runtime.

The mocks and the recording monitor are drctl's own (orchestrator/program/capture.py), so the tests and
`drctl preview` see resources the same way. Each run happens in a copy of the Pulumi context, so
tests do not leak settings into each other.
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from components.registry import subresource_types
from orchestrator.program.capture import Registration, run_under_mocks
from orchestrator.program.graph import STACK_TYPE
from stacks.config import StackConfig, config_from_mapping, read_stack_file, stack_file, to_pulumi_config

PROJECT_DIR = Path(__file__).resolve().parent.parent
PROJECT = "dataplatform"


@dataclass(frozen=True)
class Deployment:
    """What one mock run registered, with the queries the tests need."""

    stack: str
    registrations: list[Registration]

    @property
    def resources(self) -> list[Registration]:
        return [r for r in self.registrations if r.custom]

    @property
    def components(self) -> list[Registration]:
        return [r for r in self.registrations if not r.custom and r.type != STACK_TYPE]

    def of_type(self, type_token: str) -> list[Registration]:
        return [r for r in self.registrations if r.type == type_token]

    def one(self, type_token: str) -> Registration:
        found = self.of_type(type_token)
        assert len(found) == 1, f"expected one {type_token}, found {len(found)}"
        return found[0]

    def named(self, logical_name: str) -> Registration:
        found = [r for r in self.registrations if r.name == logical_name]
        assert len(found) == 1, f"expected one resource named {logical_name}, found {len(found)}"
        return found[0]

    def types(self) -> set[str]:
        return {r.type for r in self.resources}

    def nearest_component(self, registration: Registration) -> Registration | None:
        """Walk up the parent chain to the first ComponentResource (None if it reaches the stack)."""
        by_urn = {r.urn: r for r in self.registrations}
        parent = by_urn.get(registration.parent or "")
        while parent is not None and parent.custom:
            parent = by_urn.get(parent.parent or "")
        if parent is None or parent.type == STACK_TYPE:
            return None
        return parent

    def regional(self) -> list[Registration]:
        """Custom resources that Azure places in a region (not sub-resources, not 'Global' ones)."""
        return [
            r
            for r in self.resources
            if r.type not in subresource_types() and str(r.inputs.get("location", "")).lower() != "global"
        ]


def stack_values(stack: str, project_dir: Path = PROJECT_DIR) -> dict[str, Any]:
    """A stack file's config mapping (a deep copy, safe to modify)."""
    return copy.deepcopy(read_stack_file(stack_file(project_dir, stack)))


def stack_config(stack: str, changes: dict[str, Any] | None = None, project_dir: Path = PROJECT_DIR) -> StackConfig:
    """The validated config of a real stack file, with `changes` ({"namespace:key": value}) applied."""
    values = stack_values(stack, project_dir)
    values.update(changes or {})
    paired = stack_values(str(values["dataplatform:pairedStack"]), project_dir)
    return config_from_mapping(stack, values, f"Pulumi.{stack}.yaml", paired)


def deploy(
    program: Callable[[], Any],
    *,
    stack: str = "primary",
    config: dict[str, Any] | None = None,
) -> Deployment:
    """Run `program` (which declares resources) under mocks; `config` is a stack file mapping."""
    registrations = run_under_mocks(
        program, project=PROJECT, stack=stack, config=to_pulumi_config(config or {})
    )
    return Deployment(stack=stack, registrations=registrations)
