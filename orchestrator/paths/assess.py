"""Every path of a stack's plans, assessed over its graph and its pair's (mock runtime, offline)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from orchestrator.paths.graph_index import Found, GraphIndex
from orchestrator.paths.identity import identity
from orchestrator.paths.model import Link, Operation, PathResult
from orchestrator.paths.operations import plan_operations
from orchestrator.paths.resolve import factory_network, runner_network, storage_service_network
from orchestrator.program.graph import Graph
from stacks.config import StackConfig

if TYPE_CHECKING:
    from orchestrator.stack import StackModel

RUNNER_KEY = "dataplatform:runner"


def _target(index: GraphIndex, operation: Operation) -> Found | None:
    if not operation.target_type:
        return None
    return index.first(operation.stack, operation.target_type, operation.target_component)


def _endpoint(operation: Operation, target: Found | None) -> str:
    if operation.fqdn or target is None:
        return operation.endpoint or "-"
    return operation.endpoint.format(name=target.name, region=target.resource["location"] or "")


def assess_paths(config: StackConfig, graph: Graph, paired: Graph | None) -> list[PathResult]:
    """The path of every operation of `config`'s plans; without a runner, every one names the key."""
    index = GraphIndex([graph, *([paired] if paired is not None else [])])
    hub = index.first(config.stack, "network:VirtualNetwork", "connectivity")
    hub_vnet_id = f"/resourceGroups/{hub.group}/providers/x/{hub.name}" if hub is not None else None
    runner = config.runner
    results = []
    for operation in plan_operations(config, graph.component_profiles()):
        target = _target(index, operation)
        if runner is None:
            absent = Link(False, missing=[f"{RUNNER_KEY} (who runs drctl on the day, and from which network)"])
            network, who = absent, Link(False, missing=[f"{RUNNER_KEY}.objectId"])
        else:
            if operation.actor == "data_factory":
                network = factory_network(index, operation, target)
            elif operation.actor == "storage_service":
                network = storage_service_network(operation, target)
            else:
                network = runner_network(index, runner, operation, target, config.stack, hub_vnet_id)
            who = (Link(True, via="a user-delegation SAS the runner signs") if operation.actor == "storage_service"
                   else identity(index, operation, target, runner))
        results.append(PathResult(
            operation=operation.name, actor=operation.actor,
            target=target.label if target else (operation.fqdn or operation.target_component),
            endpoint=_endpoint(operation, target), network=network, identity=who,
            component=operation.component,
            target_ref={"stack": target.stack, "type": target.type, "group": target.group, "name": target.name}
            if target else {},
            private_endpoint=network.through, role_definition=who.through))
    return results


def stack_paths(stack: StackModel) -> list[PathResult]:
    """The paths of a loaded stack, its pair's graph captured as coverage does."""
    from orchestrator.stack import load_stack

    paired = load_stack(stack.project_dir, stack.config.paired_stack)
    return assess_paths(stack.config, stack.graph, paired.graph)
