"""The security baseline (orchestrator/program/baseline.py) over the mock-runtime graph of every stack file.

`drctl coverage` reports the same violations as gaps; here the rules themselves are held to
account: each one must match resources the program really declares (a mistyped type or input path
would otherwise pass forever), the repository's stacks must keep all of them, and a resource
that breaks one must be caught. The justified exceptions too: each must still cover a violation
of the reference stack (every service on), and is reported as excepted, never passed silently.
"""

from __future__ import annotations

import copy
from dataclasses import replace
from pathlib import Path
from types import SimpleNamespace

import pytest

from orchestrator.program.baseline import (
    CUSTOM,
    EXCEPTIONS,
    HTTPS,
    IDENTITY,
    KEY_VAULT,
    MISSING,
    NSG,
    PRIVATE_DATA,
    PUBLIC_BLOB,
    RULES,
    TLS,
    Excepted,
    _lookup,
    assess_graph,
    check_graph,
    check_resource,
    stale_exceptions,
)
from orchestrator.program.capture import capture_graph

REPO = Path(__file__).resolve().parents[3]


@pytest.fixture(scope="module")
def graphs():
    return {stack: capture_graph(REPO, stack) for stack in ("primary", "secondary", "reference")}


def test_every_stack_of_the_repository_keeps_the_baseline(graphs):
    for stack, graph in graphs.items():
        assert [v.line() for v in check_graph(graph)] == [], stack


def test_every_rule_reads_an_input_the_program_sets(graphs):
    """The reference stack switches every service on: each rule's type is deployed there, and its
    input is set on at least one resource unless the rule accepts it unset."""
    reference = graphs["reference"]
    for expect in RULES:
        of_type = [r for r in reference.resources if r["type"] == expect.type]
        assert of_type, f"no {expect.type} in the reference stack: is the type mistyped?"
        # A resource a listed exception covers need not set the input: that is what it is excepted from.
        inputs = [reference.inputs[r["urn"]] for r in of_type if not any(
            e.type == r["type"] and e.rule == expect.rule and e.matches(_violation(r, expect.rule)) for e in EXCEPTIONS)]
        if MISSING not in expect.allowed:
            assert all(_lookup(i, expect.path) != MISSING for i in inputs), f"{expect.type} {expect.path}"


def test_the_rules_cover_the_baseline_of_the_design():
    rules = {e.rule for e in RULES} | {rule for rule, _ in CUSTOM.values()}
    assert rules == {HTTPS, TLS, PUBLIC_BLOB, KEY_VAULT, PRIVATE_DATA, NSG, IDENTITY}


GOOD_ACCOUNT = {
    "enableHttpsTrafficOnly": True,
    "minimumTlsVersion": "TLS1_2",
    "allowBlobPublicAccess": False,
    "allowSharedKeyAccess": False,
}
DENY_ALL = {
    "name": "deny-all-inbound", "direction": "Inbound", "access": "Deny", "priority": 4096,
    "protocol": "*", "sourceAddressPrefix": "*", "destinationAddressPrefix": "*",
    "sourcePortRange": "*", "destinationPortRange": "*",
}


@pytest.mark.parametrize(
    "kind, inputs, rule, words",
    [
        ("storage:StorageAccount", {**GOOD_ACCOUNT, "minimumTlsVersion": "TLS1_0"}, TLS, "'TLS1_0'"),
        ("storage:StorageAccount", {k: v for k, v in GOOD_ACCOUNT.items() if k != "minimumTlsVersion"}, TLS, "unset"),
        ("storage:StorageAccount", {**GOOD_ACCOUNT, "enableHttpsTrafficOnly": False}, HTTPS, "False"),
        # A value of the wrong type is not the value: "false" (a string) is not False.
        ("storage:StorageAccount", {**GOOD_ACCOUNT, "allowBlobPublicAccess": "false"}, PUBLIC_BLOB, "'false'"),
        # Unset is Azure's default: shared keys allowed.
        ("storage:StorageAccount", {k: v for k, v in GOOD_ACCOUNT.items() if k != "allowSharedKeyAccess"}, IDENTITY,
         "allowSharedKeyAccess is unset"),
        ("storage:BlobContainer", {"publicAccess": "Blob"}, PUBLIC_BLOB, "publicAccess"),
        ("keyvault:Vault", {"properties": {"enableRbacAuthorization": True}}, KEY_VAULT, "enablePurgeProtection"),
        ("dbforpostgresql:Server", {"network": {"publicNetworkAccess": "Enabled"},
                                    "authConfig": {"passwordAuth": "Disabled"}}, PRIVATE_DATA, "'Enabled'"),
        ("dbforpostgresql:Server", {"network": {"publicNetworkAccess": "Disabled"},
                                    "authConfig": {"passwordAuth": "Enabled"}}, IDENTITY, "passwordAuth"),
        ("eventhub:Namespace", {"minimumTlsVersion": "1.2", "disableLocalAuth": False}, IDENTITY, "disableLocalAuth"),
        ("network:NetworkSecurityGroup", {"securityRules": []}, NSG, "no deny-all inbound rule"),
        ("network:NetworkSecurityGroup", {"securityRules": [
            DENY_ALL, {**DENY_ALL, "name": "open", "access": "Allow", "priority": 100, "sourceAddressPrefix": "Internet"},
        ]}, NSG, "'open' allows inbound from anywhere"),
    ],
    ids=["tls-1.0", "tls-unset", "http", "string-false", "shared-key", "public-container", "no-purge-protection",
         "public-postgres", "password-postgres", "event-hubs-keys", "nsg-no-deny", "nsg-open"],
)
def test_a_resource_that_breaks_a_rule_is_caught(kind, inputs, rule, words):
    found = check_resource(f"azure-native:{kind}", inputs)
    assert len(found) == 1, found
    assert found[0][0] == rule and words in found[0][1]


def test_a_compliant_resource_and_an_unlisted_type_pass():
    assert check_resource("azure-native:storage:StorageAccount", GOOD_ACCOUNT) == []
    assert check_resource("azure-native:storage:BlobContainer", {}) == []  # private is Azure's default
    assert check_resource("azure-native:network:NetworkSecurityGroup", {"securityRules": [DENY_ALL]}) == []
    assert check_resource("azure-native:dns:Zone", {"zoneName": "example.com"}) == []


# -- justified exceptions ------------------------------------------------------------------------------


def _violation(resource: dict, rule: str):
    from orchestrator.program.baseline import Violation

    return Violation(resource["urn"], resource["type"], resource["name"], resource["component"], rule, "")


def test_every_listed_exception_still_covers_a_violation_of_the_reference_stack(graphs):
    assert stale_exceptions([graphs["reference"]]) == []
    excepted = [v for v in assess_graph(graphs["reference"]) if v.excepted]
    # One violation per exception, with its reason: a pattern that grew to cover more would show here.
    assert sorted((v.name, v.rule, v.excepted) for v in excepted) == sorted(
        (e.name, e.rule, e.reason) for e in EXCEPTIONS)
    assert all(len(e.reason) > 40 for e in EXCEPTIONS), "an exception says why, in words"


def test_coverage_reports_each_exception_with_its_reason_not_as_a_pass(graphs):
    from orchestrator.verbs.coverage import _baseline

    results = {r.component: r for r in _baseline(graphs["reference"])}
    for exception in EXCEPTIONS:
        [(component, line)] = [(c, line) for c, r in results.items() for line in r.excepted if repr(exception.name) in line]
        assert line.endswith(f"; excepted: {exception.reason}")
        assert not results[component].gaps and line in results[component].detail


def _storage(name: str) -> dict:
    return {"urn": f"urn:{name}", "type": "azure-native:storage:StorageAccount", "name": name, "physical_name": name,
            "component": "c"}


def test_an_exception_covers_only_its_type_rule_and_names_and_goes_stale_without_them():
    keyed = {**GOOD_ACCOUNT, "allowSharedKeyAccess": True}
    resources = [_storage("ml-storage"), _storage("ml-other"), _storage("lake")]
    inputs = {"urn:ml-storage": keyed, "urn:ml-other": keyed, "urn:lake": GOOD_ACCOUNT}
    graph = SimpleNamespace(resources=resources, inputs=inputs)
    table = (Excepted("azure-native:storage:StorageAccount", "ml-s*", IDENTITY, "shared keys are this service's way"),
             Excepted("azure-native:storage:StorageAccount", "ml-other", TLS, "another rule: covers nothing here"),
             Excepted("azure-native:keyvault:Vault", "ml-other", IDENTITY, "another type: covers nothing here"))
    assessed = assess_graph(graph, table)
    assert [(v.name, v.excepted) for v in assessed] == [("ml-storage", "shared keys are this service's way"),
                                                        ("ml-other", None)]
    assert [v.name for v in check_graph(graph, table)] == ["ml-other"]
    assert stale_exceptions([graph], table) == list(table[1:])
    assert [v.name for v in check_graph(graph, ())] == ["ml-storage", "ml-other"]  # no table: both are gaps


# -- the rules that read across resources ------------------------------------------------------------------


def _changed(graph, name: str, change):
    graph = copy.deepcopy(graph)
    [urn] = [r["urn"] for r in graph.resources if r["name"] == name]
    change(graph.inputs[urn])
    return graph


def test_a_store_behind_a_private_endpoint_that_still_takes_public_traffic_is_caught(graphs):
    reference = graphs["reference"]
    lake = _changed(reference, "lake-account", lambda i: i.update(publicNetworkAccess="Enabled"))
    [found] = check_graph(lake)
    assert found.rule == PRIVATE_DATA and found.name == "lake-account"
    assert "private endpoint(s) 'lake-pe-blob', 'lake-pe-dfs'" in found.detail and "'Enabled'" in found.detail
    # Key Vault takes public traffic only as its network rules allow: without a default Deny, it is open.
    vault = _changed(reference, "foundation-kv", lambda i: i["properties"].pop("networkAcls"))
    assert [(v.rule, v.name) for v in check_graph(vault)] == [(PRIVATE_DATA, "foundation-kv")]
    # Without its private endpoints the lake's public access is no longer this rule's business.
    unlinked = replace(lake, resources=[r for r in lake.resources
                                        if not r["name"].startswith(("lake-pe-", "lake-runner-pe-"))])
    assert check_graph(unlinked) == []


def test_mysql_server_parameters_keep_tls_and_entra_only_sign_in(graphs):
    reference = graphs["reference"]
    weak_tls = _changed(reference, "mysql-param-tls_version", lambda i: i.update(value="TLSv1.1,TLSv1.2"))
    assert [(v.rule, v.name) for v in check_graph(weak_tls)] == [(TLS, "mysql-server")]
    no_entra_only = replace(reference, resources=[r for r in reference.resources if r["name"] != "mysql-param-aad_auth_only"])
    [found] = check_graph(no_entra_only)
    assert found.rule == IDENTITY and "aad_auth_only is unset" in found.detail
