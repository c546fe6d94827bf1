"""The policies of the drctl-coverage policy pack: the security baseline and the DR-profile rule of
`drctl coverage`, for a pipeline that runs `pulumi preview --policy-pack policy/` (policy/__main__.py).

The rules are not restated here. Each policy calls the code coverage calls:

- one resource policy per rule of the baseline's tables (baseline.RULES and CUSTOM, read when the
  pack starts, so a rule added there is a policy without a change here), each reporting
  check_resource's findings for its rule, before the resource is created or changed;
- `baseline-other-rules`, for any finding check_resource makes under a rule no table names;
- `baseline-across-resources`, the rules that read more than one resource (what a private
  endpoint reaches, ...): assess_graph over the whole stack, less what the resource policies report;
- `dr-profile`: every resource belongs to a component with a DR profile (owners.py);
- `baseline-exceptions`, advisory: each violation a justified exception (baseline.EXCEPTIONS)
  covers, with its reason, so that it is shown and never silently passed.

Every message is the line `drctl coverage` prints for the same finding. Rules that need the paired
stack (counterpart, data-path) or the stack files cannot run on one stack's preview: policy/README.md.
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable, Iterable, Mapping
from typing import Any

from pulumi_policy import (
    EnforcementLevel,
    Policy,
    ReportViolation,
    ResourceValidationArgs,
    ResourceValidationPolicy,
    StackValidationArgs,
    StackValidationPolicy,
)

from orchestrator.policy.stack_graph import Inputs, graph_of
from orchestrator.program import baseline, owners
from orchestrator.program.graph import Graph

PACK_NAME = "drctl-coverage"
DESCRIPTION = "drctl's DR coverage rules and security baseline, enforced on a Pulumi preview"
# A violation fails the preview, as a gap fails `drctl coverage`; the exceptions policy is advisory.
ENFORCEMENT = EnforcementLevel.MANDATORY
OTHER_RULES = "baseline-other-rules"
ACROSS_RESOURCES = "baseline-across-resources"
DR_PROFILE = "dr-profile"
EXCEPTIONS = "baseline-exceptions"


def policy_name(rule: str) -> str:
    """The policy of a baseline rule: "TLS 1.2 or later" -> "baseline-tls-1-2-or-later"."""
    return "baseline-" + re.sub(r"[^a-z0-9]+", "-", rule.lower()).strip("-")


def table_rules() -> list[str]:
    """Every rule the baseline's per-resource tables name, in table order. A CUSTOM entry is read for
    its rule whether it is a (rule, check) pair by type or an entry that carries its `.rule`."""
    customs: Iterable[Any] = baseline.CUSTOM.values() if isinstance(baseline.CUSTOM, Mapping) else baseline.CUSTOM
    rules = [expect.rule for expect in baseline.RULES] + [getattr(entry, "rule", None) or entry[0] for entry in customs]
    return list(dict.fromkeys(rules))


def policies() -> list[Policy]:
    """The pack's policies, sharing one record of the inputs the resource policies were given."""
    inputs = Inputs()
    named = table_rules()
    per_rule: list[Policy] = [
        ResourceValidationPolicy(
            name=policy_name(rule),
            description=f"Security baseline: {rule} (orchestrator/program/baseline.py, as drctl coverage checks it).",
            validate=_resource_check(inputs, rule, {rule}.__contains__),
        )
        for rule in named
    ]
    return [
        *per_rule,
        ResourceValidationPolicy(
            name=OTHER_RULES,
            description="Security baseline: a rule check_resource applies that no rule table names.",
            validate=_resource_check(inputs, None, lambda found: found not in named),
        ),
        StackValidationPolicy(
            name=ACROSS_RESOURCES,
            description="Security baseline: the rules that read across resources (e.g. a store behind a private "
                        "endpoint takes no public traffic).",
            validate=lambda args, report: _across_resources(inputs, args, report),
        ),
        StackValidationPolicy(
            name=DR_PROFILE,
            description="Every resource belongs to a component with a DR profile (drctl coverage's dr-profile).",
            validate=lambda args, report: _dr_profile(inputs, args, report),
        ),
        StackValidationPolicy(
            name=EXCEPTIONS,
            description="A justified exception to the security baseline (baseline.EXCEPTIONS), shown with its reason.",
            enforcement_level=EnforcementLevel.ADVISORY,
            validate=lambda args, report: _exceptions(inputs, args, report),
        ),
    ]


def _resource_check(inputs: Inputs, only: str | None,
                    applies: Callable[[str], bool]) -> Callable[[ResourceValidationArgs, ReportViolation], None]:
    """check_resource on the resource's inputs (the `only` rule, or all), reporting the rules `applies` to."""

    def validate(args: ResourceValidationArgs, report: ReportViolation) -> None:
        given = inputs.record(args.urn, args.props)
        for rule, detail in baseline.check_resource(args.resource_type, given, only):
            if not applies(rule):
                continue
            violation = baseline.Violation(args.urn, args.resource_type, args.name, None, rule, detail)
            if not any(exception.matches(violation) for exception in baseline.EXCEPTIONS):
                report(violation.line(), None)

    return validate


def _stack(inputs: Inputs, args: StackValidationArgs) -> Graph:
    return graph_of(args.resources, inputs, os.environ.get("PULUMI_STACK", ""))


def _across_resources(inputs: Inputs, args: StackValidationArgs, report: ReportViolation) -> None:
    graph = _stack(inputs, args)
    types = {resource["urn"]: resource["type"] for resource in graph.resources}
    for violation in baseline.assess_graph(graph, baseline.EXCEPTIONS):
        if violation.excepted:
            continue
        # What check_resource finds on one resource, its resource policy has reported already.
        if (violation.rule, violation.detail) not in baseline.check_resource(types[violation.urn], graph.inputs[violation.urn]):
            report(violation.line(), violation.urn)


def _exceptions(inputs: Inputs, args: StackValidationArgs, report: ReportViolation) -> None:
    for violation in baseline.assess_graph(_stack(inputs, args), baseline.EXCEPTIONS):
        if violation.excepted:
            report(violation.line(), violation.urn)


def _dr_profile(inputs: Inputs, args: StackValidationArgs, report: ReportViolation) -> None:
    for resource in owners.unowned(_stack(inputs, args)):
        report(owners.unowned_line(resource), resource["urn"])
