"""The stack exports what it deployed, by component, for the smoke checks run by hand."""

from __future__ import annotations

from typing import Any

from pulumi_mocks import PROJECT_DIR, deploy, stack_config

from stacks import outputs
from stacks.program import build


def exported_resources(stack: str) -> tuple[dict[str, list[dict[str, str]]], Any]:
    seen: dict[str, list[dict[str, str]]] = {}

    def program() -> None:
        build(stack_config(stack), PROJECT_DIR)[outputs.RESOURCES].apply(seen.update)

    return seen, deploy(program, stack=stack)


def test_every_custom_resource_is_exported_under_its_component_with_its_id():
    seen, run = exported_resources("secondary")
    assert {"foundation", "connectivity", "lake", "postgres", "event_hubs", "data_factory"} <= set(seen)
    exported = {(entry["type"], entry["id"]) for entries in seen.values() for entry in entries}
    declared = {(r.type, r.id) for r in run.resources if run.nearest_component(r) is not None}
    assert exported == declared
    lake_types = {entry["type"] for entry in seen["lake"]}
    assert "azure-native:storage:StorageAccount" in lake_types
    assert "azure-native:dbforpostgresql:Server" not in lake_types  # each resource under its own component
