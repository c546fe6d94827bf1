"""The security baseline (orchestrator/baseline.py) over the mock-runtime graph of every stack file.

`drctl coverage` reports the same violations as gaps; here the rules themselves are held to
account: each one must match resources the program really declares (a mistyped type or input path
would otherwise pass forever), the repository's stacks must keep all of them, and a resource
that breaks one must be caught.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from orchestrator.baseline import (
    CUSTOM,
    HTTPS,
    IDENTITY,
    KEY_VAULT,
    MISSING,
    NSG,
    PRIVATE_DATA,
    PUBLIC_BLOB,
    RULES,
    TLS,
    _lookup,
    check_graph,
    check_resource,
)
from orchestrator.preview import capture_graph

REPO = Path(__file__).resolve().parents[1]


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
        inputs = [reference.inputs[r["urn"]] for r in reference.resources if r["type"] == expect.type]
        assert inputs, f"no {expect.type} in the reference stack: is the type mistyped?"
        if MISSING not in expect.allowed:
            assert all(_lookup(i, expect.path) != MISSING for i in inputs), f"{expect.type} {expect.path}"


def test_the_rules_cover_the_baseline_of_the_design():
    rules = {e.rule for e in RULES} | {rule for rule, _ in CUSTOM.values()}
    assert rules == {HTTPS, TLS, PUBLIC_BLOB, KEY_VAULT, PRIVATE_DATA, NSG, IDENTITY}


GOOD_ACCOUNT = {
    "enableHttpsTrafficOnly": True,
    "minimumTlsVersion": "TLS1_2",
    "allowBlobPublicAccess": False,
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
    ids=["tls-1.0", "tls-unset", "http", "string-false", "public-container", "no-purge-protection",
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
