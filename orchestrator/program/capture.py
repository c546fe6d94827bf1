"""`drctl preview`: the real stack program, run offline under Pulumi's mock runtime.

No Pulumi CLI, no credentials, no Azure: the stack's config file is validated exactly as `pulumi up`
would validate it, `stacks.platform.build` declares every resource, and a recording monitor keeps each
registration (type, names, inputs, parent). The result is the resource graph drctl plans from.
"""

from __future__ import annotations

import asyncio
import contextvars
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pulumi
import yaml
from pulumi.runtime import rpc
from pulumi.runtime.mocks import MockCallArgs, MockMonitor, MockResourceArgs, Mocks
from pulumi.runtime.stack import run_pulumi_func
from pulumi.runtime.sync_await import _sync_await

from components.registry import SERVICES, physical_name_inputs, subresource_types
from orchestrator.program.graph import STACK_TYPE, ComponentNode, Graph, GraphResource
from stacks.config import StackConfig, load_stack_config, read_stack_file, stack_file, to_pulumi_config

# Placeholders answered for azure-native:authorization:getClientConfig.
PLACEHOLDER_SUBSCRIPTION = "00000000-0000-0000-0000-000000000000"
PLACEHOLDER_TENANT = "00000000-0000-0000-0000-000000000001"
PLACEHOLDER_CLIENT = "00000000-0000-0000-0000-000000000002"
PLACEHOLDER_OBJECT = "00000000-0000-0000-0000-000000000003"

@dataclass(frozen=True)
class Registration:
    """One RegisterResource request as the mock monitor saw it."""

    urn: str
    type: str
    name: str
    custom: bool
    parent: str | None
    inputs: dict[str, Any]
    ignore_changes: tuple[str, ...]
    id: str | None


class AzureMocks(Mocks):
    """Echo the inputs, with `name` set to the Azure name the program chose (else the logical name)."""

    def new_resource(self, args: MockResourceArgs) -> tuple[str | None, dict[str, Any]]:
        if not args.custom:
            return None, {}
        name = physical_name(args.typ, args.inputs) or args.name
        group = args.inputs.get("resourceGroupName", "rg-mock")
        if args.typ == "azure-native:resources:ResourceGroup":
            resource_id = f"/subscriptions/{PLACEHOLDER_SUBSCRIPTION}/resourceGroups/{name}"
        else:
            module, kind = args.typ.split(":")[1:]
            resource_id = (
                f"/subscriptions/{PLACEHOLDER_SUBSCRIPTION}/resourceGroups/{group}/providers/{module}/{kind}/{name}"
            )
        state = {"name": name, **args.inputs}
        identity = state.get("identity")
        if isinstance(identity, dict) and isinstance(identity.get("userAssignedIdentities"), list):
            # azure-native takes user-assigned identity ids as a list and returns them as a map
            # keyed by id: echo the shape the provider would, or the SDK's output types reject it.
            state["identity"] = {**identity, "userAssignedIdentities": {i: {} for i in identity["userAssignedIdentities"]}}
        return resource_id, state

    # Pulumi's MockMonitor takes a plain dict from call() as well as the (outputs, failures) pair its
    # annotation names, and the pair's failures must then be a list: the annotation is narrower than the code.
    def call(self, args: MockCallArgs) -> dict[str, Any]:  # type: ignore[override]
        if args.token == "azure-native:authorization:getClientConfig":
            return {
                "clientId": PLACEHOLDER_CLIENT,
                "objectId": PLACEHOLDER_OBJECT,
                "subscriptionId": PLACEHOLDER_SUBSCRIPTION,
                "tenantId": PLACEHOLDER_TENANT,
            }
        # A new invoke in the program must be answered here on purpose, not silently with nothing.
        raise NotImplementedError(f"preview has no mock answer for invoke {args.token}")


class RecordingMonitor(MockMonitor):
    """MockMonitor that keeps every registration, components included, with its parent."""

    def __init__(self, mocks: Mocks) -> None:
        super().__init__(mocks)
        self.registrations: list[Registration] = []

    def RegisterResource(self, request):
        response = super().RegisterResource(request)  # also ensures the event loop deserializing needs
        inputs = rpc.deserialize_properties(request.object) if request.type != STACK_TYPE else {}
        self.registrations.append(
            Registration(
                urn=response.urn,
                type=request.type,
                name=request.name,
                custom=bool(request.custom),
                parent=request.parent or None,
                inputs=inputs,
                ignore_changes=tuple(request.ignoreChanges),
                id=response.id or None,
            )
        )
        return response


def physical_name(type_token: str, inputs: dict[str, Any]) -> str | None:
    key = physical_name_inputs().get(type_token)
    value = inputs.get(key) if key else None
    return value if isinstance(value, str) else None


def run_under_mocks(
    program: Callable[[], Any],
    *,
    project: str,
    stack: str,
    config: dict[str, str] | None = None,
    mocks: Mocks | None = None,
) -> list[Registration]:
    """Run `program` under Pulumi's mock runtime and return every registration, in order.

    Pulumi keeps its runtime settings (monitor, stack, project, config, the root stack resource) in
    context variables. Running in a copy of the caller's context saves all of them and restores them
    when done, whatever happens: so this can run repeatedly, primary then secondary, in one process.
    """

    def run() -> list[Registration]:
        monitor = RecordingMonitor(mocks or AzureMocks())
        pulumi.runtime.settings.ROOT.set(None)  # a fresh root stack resource for this run
        pulumi.runtime.set_mocks(monitor.mocks, project=project, stack=stack, preview=False, monitor=monitor)
        pulumi.runtime.set_all_config(config or {})
        _sync_await(run_pulumi_func(program))
        return monitor.registrations

    # An event loop of our own, closed when done: one left for the garbage collector at interpreter
    # exit can fail in its __del__ ("Invalid file descriptor") and print a traceback after drctl's
    # one-line error.
    loop = asyncio.new_event_loop()
    asyncio.set_event_loop(loop)
    try:
        return contextvars.copy_context().run(run)
    finally:
        # A program that raised leaves resource registrations pending: finish them off here, or
        # the next run in this process trips over tasks bound to a closed loop.
        pending = asyncio.all_tasks(loop)
        for task in pending:
            task.cancel()
        if pending:
            loop.run_until_complete(asyncio.gather(*pending, return_exceptions=True))
        loop.close()
        asyncio.set_event_loop(None)


def _project_name(project_dir: Path) -> str:
    try:
        document = yaml.safe_load((project_dir / "Pulumi.yaml").read_text(encoding="utf-8")) or {}
    except FileNotFoundError:
        return "dataplatform"
    return str(document.get("name") or "dataplatform")


def _location(registration: Registration) -> str | None:
    value = registration.inputs.get("location")
    if not isinstance(value, str) or value.lower() == "global":
        return None
    return value


def capture_graph(project_dir: Path, stack: str, config: StackConfig | None = None) -> Graph:
    """Run the real program for `stack` (on `config` when the caller has read it) offline and return
    its resource graph. A ConfigError propagates untouched: it is raised before any resource is declared.
    """
    from stacks.program import build  # the program itself, imported when needed (it is heavy)

    project_dir = Path(project_dir)
    config = config if config is not None else load_stack_config(project_dir, stack)
    values = to_pulumi_config(read_stack_file(stack_file(project_dir, stack)))
    exported: dict[str, Any] = {}

    def program() -> Any:
        # Returning the outputs' future makes the runtime wait until they have resolved.
        return pulumi.Output.from_input(build(config, project_dir)).apply(exported.update).future()

    registrations = run_under_mocks(program, project=_project_name(project_dir), stack=stack, config=values)
    resources, components = graph_nodes(registrations)
    # Registration order depends on when outputs resolve, so it is not used: resources are listed by
    # URN; components the core first, in the registry's (dependency) order, then the optional ones by URN.
    order = {spec.type_token: index for index, spec in enumerate(SERVICES) if spec.switch != "off"}
    return Graph(
        stack=stack,
        region=config.region,
        resources=sorted(resources, key=lambda r: r["urn"]),
        components=sorted(components, key=lambda c: (order.get(c["type"], len(order)), c["urn"])),
        outputs=exported,
        inputs={r.urn: r.inputs for r in registrations if r.custom},
    )


def graph_nodes(registrations: list[Registration]) -> tuple[list[GraphResource], list[ComponentNode]]:
    """The program's custom resources and its components, each with its nearest enclosing component."""
    by_urn = {r.urn: r for r in registrations}

    def enclosing_component(registration: Registration) -> str | None:
        parent = by_urn.get(registration.parent or "")
        while parent is not None and (parent.custom or parent.type == STACK_TYPE):
            if parent.type == STACK_TYPE:
                return None
            parent = by_urn.get(parent.parent or "")
        return parent.name if parent is not None else None

    resources: list[GraphResource] = []
    components: list[ComponentNode] = []
    subresources = subresource_types()
    for registration in registrations:
        if registration.type == STACK_TYPE:
            continue
        if not registration.custom:
            components.append(ComponentNode(urn=registration.urn, type=registration.type, name=registration.name,
                                            component=enclosing_component(registration)))
            continue
        resources.append(
            GraphResource(
                urn=registration.urn,
                type=registration.type,
                name=registration.name,
                physical_name=physical_name(registration.type, registration.inputs),
                location=None if registration.type in subresources else _location(registration),
                component=enclosing_component(registration),
            )
        )
    return resources, components
