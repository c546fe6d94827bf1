"""A captured graph (orchestrator/program/capture.py) handed to the policy pack's policies the way the
Pulumi engine hands a preview to a policy pack, with pulumi-policy's own argument objects. No tests here.

The engine calls each resource policy with each resource's inputs as it is registered, then each stack
policy once with every resource of the stack (the stack itself, the components, the custom resources
with their provider) and each one's parent. pulumi-policy wraps the properties in its unknown-checking
proxy first (its Analyze and AnalyzeStack): so do these helpers. The mock runtime records no default
provider, so every custom resource gets the same stand-in for azure-native's.

The last helpers build the engine's gRPC requests instead, for pulumi-policy's own server code: what
it does with a value unknown during preview, and with each policy's enforcement level.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass, field
from typing import Any

from google.protobuf import json_format, struct_pb2
from pulumi.runtime import proto
from pulumi_policy import (
    EnforcementLevel,
    Policy,
    PolicyCustomTimeouts,
    PolicyProviderResource,
    PolicyResource,
    PolicyResourceOptions,
    ResourceValidationArgs,
    ResourceValidationPolicy,
    StackValidationArgs,
    StackValidationPolicy,
)
from pulumi_policy.proxy import unknown_checking_proxy

from orchestrator.policy.pack import ENFORCEMENT, PACK_NAME
from orchestrator.program.graph import STACK_TYPE, Graph

STACK_URN = "urn:pulumi:test::dataplatform::pulumi:pulumi:Stack::dataplatform-test"
PROVIDER = PolicyProviderResource("pulumi:providers:azure-native", {},
                                  "urn:pulumi:test::dataplatform::pulumi:providers:azure-native::default", "default")


def options(parent: str | None = None) -> PolicyResourceOptions:
    return PolicyResourceOptions(False, [], None, [], PolicyCustomTimeouts(0, 0, 0), [], parent)


def proxied(props: dict[str, Any]) -> Any:
    return unknown_checking_proxy(copy.deepcopy(props))


def _parent_urn(graph: Graph, component: str | None) -> str:
    return next((c["urn"] for c in graph.components if c["name"] == component), STACK_URN)


def resource_args(graph: Graph, resource: dict[str, Any]) -> ResourceValidationArgs:
    return ResourceValidationArgs(resource["type"], proxied(graph.inputs[resource["urn"]]), resource["urn"],
                                  resource["name"], options(_parent_urn(graph, resource["component"])), PROVIDER)


def stack_resources(graph: Graph, props: dict[str, dict[str, Any]] | None = None) -> list[PolicyResource]:
    """The stack, its components and its custom resources, each with its parent; a custom resource's
    properties are `props[urn]` where given (outputs, say), else its inputs."""
    stack = PolicyResource(STACK_TYPE, {}, STACK_URN, "dataplatform-test", options(), None, None, [], {})
    found: dict[str, PolicyResource] = {STACK_URN: stack}
    for node in graph.components:
        found[node["urn"]] = PolicyResource(node["type"], {}, node["urn"], node["name"], options(), None, None, [], {})
    for node in graph.components:
        parent = _parent_urn(graph, node["component"])
        found[node["urn"]].parent, found[node["urn"]].opts = found[parent], options(parent)
    for r in graph.resources:
        given = (props or {}).get(r["urn"], graph.inputs[r["urn"]])
        parent = _parent_urn(graph, r["component"])
        found[r["urn"]] = PolicyResource(r["type"], proxied(given), r["urn"], r["name"], options(parent), PROVIDER,
                                         found[parent], [], {})
    return list(found.values())


@dataclass
class Reports:
    """What the policies reported: (policy, URN, message), split by the policy's enforcement level
    (a policy without its own level has the pack's, ENFORCEMENT)."""

    mandatory: list[tuple[str, str, str]] = field(default_factory=list)
    advisory: list[tuple[str, str, str]] = field(default_factory=list)

    def reporter(self, policy: Policy, urn: str):
        level = policy.enforcement_level or ENFORCEMENT
        into = self.advisory if level == EnforcementLevel.ADVISORY else self.mandatory

        def report(message: str, at: str | None = None) -> None:
            into.append((policy.name, at or urn, message))

        return report


def run_pack(policies: list[Policy], graph: Graph, props: dict[str, dict[str, Any]] | None = None,
             resource_policies: bool = True) -> Reports:
    """Every resource policy on every custom resource, then every stack policy on the stack: a preview."""
    reports = Reports()
    if resource_policies:
        for resource in graph.resources:
            for policy in policies:
                if isinstance(policy, ResourceValidationPolicy):
                    policy.validate(resource_args(graph, resource), reports.reporter(policy, resource["urn"]))
    stack = StackValidationArgs(stack_resources(graph, props))
    for policy in policies:
        if isinstance(policy, StackValidationPolicy):
            policy.validate(stack, reports.reporter(policy, ""))
    return reports


# -- the engine's requests, for pulumi-policy's own server (its Analyze and AnalyzeStack) ---------------------


def _struct(props: dict[str, Any]) -> struct_pb2.Struct:
    struct = struct_pb2.Struct()
    json_format.ParseDict(props, struct)
    return struct


def _provider() -> proto.AnalyzerProviderResource:
    return proto.AnalyzerProviderResource(type=PROVIDER.resource_type, urn=PROVIDER.urn, name=PROVIDER.name)


def analyze_request(resource_type: str, urn: str, name: str, props: dict[str, Any]) -> proto.AnalyzeRequest:
    return proto.AnalyzeRequest(type=resource_type, properties=_struct(props), urn=urn, name=name, provider=_provider())


def analyze_stack_request(graph: Graph) -> proto.AnalyzeStackRequest:
    resources = [proto.AnalyzerResource(type=STACK_TYPE, urn=STACK_URN, name="dataplatform-test")]
    for node in graph.components:
        parent = _parent_urn(graph, node["component"])
        resources.append(proto.AnalyzerResource(type=node["type"], urn=node["urn"], name=node["name"], parent=parent,
                                                options=proto.AnalyzerResourceOptions(parent=parent)))
    for r in graph.resources:
        parent = _parent_urn(graph, r["component"])
        resources.append(proto.AnalyzerResource(type=r["type"], urn=r["urn"], name=r["name"], parent=parent,
                                                properties=_struct(graph.inputs[r["urn"]]), provider=_provider(),
                                                options=proto.AnalyzerResourceOptions(parent=parent)))
    return proto.AnalyzeStackRequest(resources=resources)


def policy_server(policies: list[Policy]) -> Any:
    """pulumi-policy's gRPC servicer for the pack, called in-process (PolicyPack would start a server)."""
    from pulumi_policy.policy import _PolicyAnalyzerServicer

    return _PolicyAnalyzerServicer(PACK_NAME, "0.1.0", policies, ENFORCEMENT)
