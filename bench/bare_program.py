"""The floor for `drctl preview`: a bare Pulumi program under the same mock runtime.

    python -m bench.bare_program SPEC.json

SPEC is `{"resources": [{"type": ..., "inputs": {...}}, ...], "components": N}`: each resource is
declared through its azure-native SDK class with the inputs the real program gave it (read from
the graph drctl captured), under N component resources, with the mock runtime set up as
orchestrator/program/capture.py sets it up (`set_mocks`, a monitor that echoes inputs). Nothing else
happens: no config, no stack file, no components' logic, no DR profiles, no graph. What this
costs is Pulumi's, and drctl's preview cannot take less. With resource groups and no inputs it is
the issue's "N trivial resources" instead.
"""

from __future__ import annotations

import asyncio
import contextvars
import importlib
import json
import re
import sys
from pathlib import Path
from typing import Any

import pulumi
from pulumi.runtime.mocks import MockMonitor, Mocks
from pulumi.runtime.stack import run_pulumi_func
from pulumi.runtime.sync_await import _sync_await


class EchoMocks(Mocks):
    def new_resource(self, args) -> tuple[str, dict[str, Any]]:
        state = dict(args.inputs)
        identity = state.get("identity")
        if isinstance(identity, dict) and isinstance(identity.get("userAssignedIdentities"), list):
            # the provider answers a list of identity ids with a map keyed by id; the SDK's output
            # types insist (orchestrator/program/capture.py's mocks do the same)
            state["identity"] = {**identity, "userAssignedIdentities": {i: {} for i in identity["userAssignedIdentities"]}}
        return f"/subscriptions/0/resourceGroups/rg/providers/{args.typ}/{args.name}", state

    def call(self, args) -> dict[str, Any]:
        return {}


def sdk_class(type_token: str) -> type:
    """The SDK class of an azure-native type token (azure-native:storage:StorageAccount ->
    pulumi_azure_native.storage.StorageAccount): the azure-native modules load their classes
    lazily, on first access, as the real program's do."""
    _, module, kind = type_token.split(":")
    return getattr(importlib.import_module(f"pulumi_azure_native.{module.lower()}"), kind)


_MISSING = re.compile(r"Missing required property '([a-z0-9_]+)'")
# a keyword the class does not take, or one that is its own first parameter (a property called
# resourceName against the class's resource_name)
_UNEXPECTED = re.compile(r"(?:unexpected keyword argument|multiple values for argument) '([A-Za-z0-9_]+)'")


def python_name(wire_name: str) -> str:
    """resourceGroupName -> resource_group_name: the SDK's keyword for a property's wire name."""
    return re.sub(r"(?<!^)(?=[A-Z])", "_", wire_name).lower()


def declare(cls: type, name: str, parent: pulumi.Resource, inputs: dict[str, Any]) -> None:
    """One instance of `cls` with `inputs` (the program's own, keyed as the SDK's keywords; nested
    values as they went over the wire); a required property they lack gets a trivial value, a
    keyword the class does not take is dropped. The class's own work (input types, aliases) and
    the serialising of real inputs are part of the floor."""
    kwargs = {python_name(key): value for key, value in inputs.items()}
    while True:
        try:
            cls(name, **kwargs, opts=pulumi.ResourceOptions(parent=parent))
            return
        except TypeError as exc:
            missing, unexpected = _MISSING.search(str(exc)), _UNEXPECTED.search(str(exc))
            if missing is not None and missing.group(1) not in kwargs:
                kwargs[missing.group(1)] = "floor"
            elif unexpected is not None and unexpected.group(1) in kwargs:
                del kwargs[unexpected.group(1)]
            else:
                raise


def program(resources: list[dict[str, Any]], components: int) -> None:
    parents = [pulumi.ComponentResource("bench:floor:Component", f"component-{n}") for n in range(max(components, 1))]
    for n, resource in enumerate(resources):
        declare(sdk_class(resource["type"]), f"resource-{n}", parents[n % len(parents)], resource.get("inputs", {}))


def run(resources: list[dict[str, Any]], components: int) -> None:
    def under_mocks() -> None:
        mocks = EchoMocks()
        pulumi.runtime.set_mocks(mocks, project="floor", stack="floor", preview=False, monitor=MockMonitor(mocks))
        _sync_await(run_pulumi_func(lambda: program(resources, components)))

    loop = asyncio.new_event_loop()
    asyncio.set_event_loop(loop)
    try:
        contextvars.copy_context().run(under_mocks)
    finally:
        loop.close()


if __name__ == "__main__":
    spec = json.loads(Path(sys.argv[1]).read_text())
    run(spec["resources"], int(spec.get("components", 0)))
