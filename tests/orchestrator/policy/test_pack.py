"""The policy pack's policies (orchestrator/policy/pack.py), called with pulumi-policy's own argument
objects built from the mock runtime's graph of the repository's stacks (tests/policy_args.py).

What holds: every resource of the primary, secondary and reference stacks passes; a resource that
breaks a rule is reported, once, with the line `drctl coverage` prints for it; the pack has a
policy for every rule of the baseline's tables, a rule added there later included; the justified
exceptions are shown, not failed; the DR-profile rule reports what coverage reports.
"""

from __future__ import annotations

import copy
import dataclasses

import pytest
from policy_args import run_pack

from components.registry import physical_name_inputs
from orchestrator.policy.pack import ACROSS_RESOURCES, DR_PROFILE, EXCEPTIONS, OTHER_RULES, policies, policy_name
from orchestrator.program import baseline
from orchestrator.program.baseline import KEY_VAULT, NSG, PRIVATE_DATA, PUBLIC_BLOB, TLS, Expect
from orchestrator.program.owners import unowned, unowned_line


def coverage_lines(graph) -> list[tuple[str, str]]:
    """(URN, line) of every violation `drctl coverage` reports as a gap for this graph."""
    return sorted((v.urn, v.line()) for v in baseline.check_graph(graph, baseline.EXCEPTIONS))


def reported(reports) -> list[tuple[str, str]]:
    return sorted((urn, message) for _, urn, message in reports.mandatory)


def changed(graph, name: str, change):
    """A copy of `graph` in which `change` edits the inputs of the resource called `name`."""
    graph = copy.deepcopy(graph)
    (urn,) = [r["urn"] for r in graph.resources if r["name"] == name]
    change(graph.inputs[urn])
    return graph


def first(graph, resource_type: str) -> str:
    return next(r["name"] for r in graph.resources if r["type"] == f"azure-native:{resource_type}")


# -- the repository's stacks --------------------------------------------------------------------------------


@pytest.mark.parametrize("stack", ["primary", "secondary", "reference"])
def test_every_resource_of_the_stack_passes_and_the_exceptions_are_shown(graphs, stack):
    graph = graphs[stack]
    reports = run_pack(policies(), graph)
    assert reports.mandatory == []
    excepted = sorted((v.urn, v.line()) for v in baseline.assess_graph(graph) if v.excepted)
    assert sorted((urn, message) for name, urn, message in reports.advisory if name == EXCEPTIONS) == excepted
    assert {name for name, _, _ in reports.advisory} <= {EXCEPTIONS}
    if stack == "reference":  # every service on: where the listed exceptions apply
        assert excepted and all("; excepted: " in line for _, line in excepted)


def test_without_the_exceptions_the_excepted_resources_fail(graphs, monkeypatch):
    listed = baseline.EXCEPTIONS
    monkeypatch.setattr(baseline, "EXCEPTIONS", ())
    graph = graphs["reference"]
    reports = run_pack(policies(), graph)
    excepted = [dataclasses.replace(v, excepted=None) for v in baseline.assess_graph(graph, listed) if v.excepted]
    assert excepted and reported(reports) == sorted((v.urn, v.line()) for v in excepted) == coverage_lines(graph)
    assert {name for name, _, _ in reports.mandatory} == {policy_name(v.rule) for v in excepted}
    assert not [name for name, _, _ in reports.advisory]


# -- a broken rule: reported once, as coverage words it ----------------------------------------------------


def _open_nsg(inputs):
    inputs["securityRules"].append({"name": "open", "direction": "Inbound", "access": "Allow", "priority": 100,
                                    "protocol": "*", "sourceAddressPrefix": "Internet", "destinationPortRange": "*"})


BROKEN = {
    "public-blob": ("secondary", "storage:StorageAccount", lambda i: i.update(allowBlobPublicAccess=True),
                    policy_name(PUBLIC_BLOB)),
    "tls-1.0": ("primary", "storage:StorageAccount", lambda i: i.update(minimumTlsVersion="TLS1_0"), policy_name(TLS)),
    "no-purge-protection": ("reference", "keyvault:Vault", lambda i: i["properties"].update(enablePurgeProtection=False),
                            policy_name(KEY_VAULT)),
    "open-nsg": ("reference", "network:NetworkSecurityGroup", _open_nsg, policy_name(NSG)),
    # Rules that read across resources: the stack policy reports them.
    "public-behind-private-endpoint": ("reference", "lake-account", lambda i: i.update(publicNetworkAccess="Enabled"),
                                       ACROSS_RESOURCES),
    "mysql-tls-1.1": ("reference", "mysql-param-tls_version", lambda i: i.update(value="TLSv1.1,TLSv1.2"),
                      ACROSS_RESOURCES),
}


@pytest.mark.parametrize("case", list(BROKEN))
def test_a_broken_rule_is_reported_once_with_the_line_coverage_prints(graphs, case):
    stack, target, change, policy = BROKEN[case]
    graph = graphs[stack]
    name = first(graph, target) if ":" in target else target
    broken = changed(graph, name, change)
    expected = coverage_lines(broken)
    assert expected, "the change breaks no rule: the case tests nothing"
    reports = run_pack(policies(), broken)
    assert reported(reports) == expected  # each violation once, in coverage's words
    assert policy in {name for name, _, _ in reports.mandatory}


def test_a_public_storage_account_is_reported_with_the_rules_message(graphs):
    graph = graphs["secondary"]
    name = first(graph, "storage:StorageAccount")
    reports = run_pack(policies(), changed(graph, name, lambda i: i.update(allowBlobPublicAccess=True)))
    assert [(policy, message) for policy, _, message in reports.mandatory] == [(
        "baseline-no-public-blob-access",
        f"no public blob access: storage:StorageAccount {name!r} allowBlobPublicAccess is True, wants False",
    )]


# -- the rules come from the baseline's tables ---------------------------------------------------------------


def test_every_rule_check_resource_applies_has_a_policy_of_its_own(graphs):
    names = [p.name for p in policies()]
    assert len(names) == len(set(names))
    assert {OTHER_RULES, ACROSS_RESOURCES, DR_PROFILE, EXCEPTIONS} <= set(names)
    # With nothing set, a resource breaks about every rule of its type: the rules check_resource
    # applies to the reference stack's types (every service on), whatever table they sit in.
    applied = {rule for r in graphs["reference"].resources for rule, _ in baseline.check_resource(r["type"], {})}
    assert {TLS, PUBLIC_BLOB, KEY_VAULT, NSG} <= applied
    assert {policy_name(rule) for rule in applied} <= set(names)
    assert policy_name("TLS 1.2 or later") == "baseline-tls-1-2-or-later"


def test_a_rule_added_to_the_table_is_a_policy_without_a_change_to_the_pack(graphs, monkeypatch):
    later = Expect("azure-native:storage:StorageAccount", "kind", frozenset({"BlobStorage"}), "a rule added later")
    # The table as the baseline exports it, and as check_resource reads it, in the module it is defined in.
    monkeypatch.setattr(baseline, "RULES", (*baseline.RULES, later))
    if baseline.check_resource.__globals__ is not vars(baseline):
        monkeypatch.setitem(baseline.check_resource.__globals__, "RULES", baseline.RULES)
    graph = graphs["secondary"]
    reports = run_pack(policies(), graph)
    accounts = [r["name"] for r in graph.resources if r["type"] == later.type]
    assert sorted(message.split("'")[1] for name, _, message in reports.mandatory
                  if name == "baseline-a-rule-added-later") == sorted(accounts)
    assert reported(reports) == coverage_lines(graph)


def test_a_finding_under_a_rule_no_table_names_is_reported_by_the_catch_all(graphs, monkeypatch):
    # A thin double: check_resource with a finding from a table the pack does not know, as a rule
    # table added to the baseline later would give.
    real = baseline.check_resource

    def with_another_table(type_, inputs, only=None):
        extra = [("a rule in no table", "has a finding")] if type_.endswith("StorageAccount") else []
        return real(type_, inputs, only) + [f for f in extra if only in (None, f[0])]

    monkeypatch.setattr(baseline, "check_resource", with_another_table)
    graph = graphs["secondary"]
    reports = run_pack(policies(), graph)
    assert {name for name, _, _ in reports.mandatory} == {OTHER_RULES}
    assert reported(reports) == coverage_lines(graph)  # once each: the stack policy leaves it to the catch-all


# -- the DR-profile rule ---------------------------------------------------------------------------------------


def test_a_resource_outside_any_profiled_component_is_reported_as_coverage_reports_it(graphs):
    graph = graphs["secondary"]
    template = next(r for r in graph.resources if r["type"] == "azure-native:network:VirtualNetwork")
    stray = {**template, "urn": "urn:stray", "name": "stray-vnet", "component": None}
    helper = {"urn": "urn:helper", "type": "dataplatform:misc:Helper", "name": "helper", "component": None}
    inside = {**template, "urn": "urn:inside", "name": "helper-vnet", "component": "helper"}
    key = physical_name_inputs()[template["type"]]  # an Azure name of their own: two resources are not one
    inputs = {**graph.inputs, **{r["urn"]: {**graph.inputs[template["urn"]], key: r["name"]} for r in (stray, inside)}}
    gapped = dataclasses.replace(graph, resources=[*graph.resources, stray, inside],
                                 components=[*graph.components, helper], inputs=inputs)
    reports = run_pack(policies(), gapped)
    found = sorted(report for report in reports.mandatory if report[0] == DR_PROFILE)
    assert found == sorted((DR_PROFILE, r["urn"], unowned_line(r)) for r in unowned(gapped))
    assert [message for _, _, message in found] == [
        "azure-native:network:VirtualNetwork 'helper-vnet' belongs to no component with a DR profile",
        "azure-native:network:VirtualNetwork 'stray-vnet' belongs to no component with a DR profile",
    ]


# -- what a stack policy reads -------------------------------------------------------------------------------


def test_the_stack_policies_read_the_inputs_the_resource_policies_were_given(graphs):
    """azure-native's outputs lack the inputs that are URL path parameters: read from outputs alone,
    a MySQL server's parameters cannot be matched to it."""
    graph = graphs["reference"]
    outputs = {r["urn"]: {k: v for k, v in graph.inputs[r["urn"]].items() if k not in ("serverName", "configurationName")}
               for r in graph.resources if r["type"].startswith("azure-native:dbformysql:")}
    assert outputs
    misled = run_pack(policies(), graph, props=outputs, resource_policies=False)
    assert [name for name, _, message in misled.mandatory if "aad_auth_only is unset" in message] == [ACROSS_RESOURCES]
    assert run_pack(policies(), graph, props=outputs).mandatory == []


def test_private_data_rule_names_the_endpoints(graphs):
    broken = changed(graphs["reference"], "lake-account", lambda i: i.update(publicNetworkAccess="Enabled"))
    reports = run_pack(policies(), broken)
    [(urn, message)] = [(urn, m) for name, urn, m in reports.mandatory if name == ACROSS_RESOURCES]
    assert message.startswith(f"{PRIVATE_DATA}: storage:StorageAccount 'lake-account' is reached through private endpoint")
    assert urn == next(r["urn"] for r in broken.resources if r["name"] == "lake-account")
