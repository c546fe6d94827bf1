"""The security baseline (orchestrator/program/baseline.py) over the mock-runtime graph of every stack file.

`drctl coverage` reports the same violations as gaps; here the rules themselves are held to
account: each one must match resources the program really declares (a mistyped type or input path
would otherwise pass forever), the repository's stacks must keep all of them, and a resource
that breaks one must be caught. The justified exceptions too: each must still cover a violation
of the reference stack (every service on), and is reported as excepted, never passed silently.
Each finding of the peer scanner's review (security-and-new-user.md) is caught when its fix is
taken out of the captured graph.
"""

from __future__ import annotations

import copy
from dataclasses import replace
from pathlib import Path
from types import SimpleNamespace

import pytest

from orchestrator.program.baseline import (
    AUDITING,
    CUSTOM,
    DECLINED,
    DIAGNOSTICS,
    DOUBLE_ENCRYPTION,
    EXCEPTIONS,
    EXFILTRATION,
    HTTPS,
    IDENTITY,
    KEY_VAULT,
    MISSING,
    NSG,
    PRIVATE_DATA,
    PRIVATE_SERVICE,
    PRIVATE_STORAGE,
    PUBLIC_BLOB,
    RULES,
    THREAT_INTEL,
    TLS,
    Excepted,
    assess_graph,
    check_graph,
    check_resource,
    stale_exceptions,
)
from orchestrator.program.rules import lookup

REPO = Path(__file__).resolve().parents[3]


@pytest.fixture(scope="module")
def graphs(repo_graphs):
    return {stack: repo_graphs.get(stack) for stack in ("primary", "secondary", "reference", "reference-secondary")}


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
            assert all(lookup(i, expect.path) != MISSING for i in inputs), f"{expect.type} {expect.path}"


def test_the_rules_cover_the_baseline_of_the_design():
    rules = {e.rule for e in RULES} | {c.rule for c in CUSTOM}
    assert rules == {HTTPS, TLS, PUBLIC_BLOB, KEY_VAULT, PRIVATE_DATA, PRIVATE_SERVICE, PRIVATE_STORAGE, NSG, IDENTITY,
                     THREAT_INTEL, EXFILTRATION, DOUBLE_ENCRYPTION}
    # DIAGNOSTICS and AUDITING read across resources (orchestrator/program/graph_rules.py): tested below.


GOOD_ACCOUNT = {
    "enableHttpsTrafficOnly": True,
    "minimumTlsVersion": "TLS1_2",
    "allowBlobPublicAccess": False,
    "allowSharedKeyAccess": False,
    "publicNetworkAccess": "Disabled",
}
GOOD_SITE = {"httpsOnly": True, "siteConfig": {"minTlsVersion": "1.2"}, "publicNetworkAccess": "Disabled"}
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
        ("keyvault:Vault", {"properties": {"enableRbacAuthorization": True, "publicNetworkAccess": "Disabled"}}, KEY_VAULT,
         "enablePurgeProtection"),
        ("dbforpostgresql:Server", {"network": {"publicNetworkAccess": "Enabled"},
                                    "authConfig": {"passwordAuth": "Disabled"}}, PRIVATE_DATA, "'Enabled'"),
        ("dbforpostgresql:Server", {"network": {"publicNetworkAccess": "Disabled"},
                                    "authConfig": {"passwordAuth": "Enabled"}}, IDENTITY, "passwordAuth"),
        ("eventhub:Namespace", {"minimumTlsVersion": "1.2", "disableLocalAuth": False}, IDENTITY, "disableLocalAuth"),
        ("network:NetworkSecurityGroup", {"securityRules": []}, NSG, "no deny-all inbound rule"),
        ("network:NetworkSecurityGroup", {"securityRules": [
            DENY_ALL, {**DENY_ALL, "name": "open", "access": "Allow", "priority": 100, "sourceAddressPrefix": "Internet"},
        ]}, NSG, "'open' allows inbound from anywhere"),
        # Unset, an account takes traffic from every network: what the two scanner findings were.
        ("storage:StorageAccount", {k: v for k, v in GOOD_ACCOUNT.items() if k != "publicNetworkAccess"}, PRIVATE_STORAGE,
         "publicNetworkAccess is unset and networkRuleSet.defaultAction is unset"),
        ("storage:StorageAccount", {**GOOD_ACCOUNT, "publicNetworkAccess": "Enabled",
                                    "networkRuleSet": {"defaultAction": "Allow"}}, PRIVATE_STORAGE, "'Allow'"),
        ("web:WebApp", {**GOOD_SITE, "publicNetworkAccess": "Enabled"}, PRIVATE_SERVICE, "publicNetworkAccess is 'Enabled'"),
        ("databricks:Workspace", {"publicNetworkAccess": "Enabled", "parameters": {"customVirtualNetworkId": {"value": "v"}}},
         PRIVATE_SERVICE, "wants 'Disabled'"),
        ("network:FirewallPolicy", {"threatIntelMode": "Alert"}, THREAT_INTEL, "'Alert'"),
        ("kusto:Cluster", {"publicNetworkAccess": "Disabled", "enableDoubleEncryption": False}, DOUBLE_ENCRYPTION,
         "enableDoubleEncryption is False"),
        ("synapse:Workspace", {"publicNetworkAccess": "Disabled", "azureADOnlyAuthentication": True}, EXFILTRATION,
         "preventDataExfiltration is unset"),
    ],
    ids=["tls-1.0", "tls-unset", "http", "string-false", "shared-key", "public-container", "no-purge-protection",
         "public-postgres", "password-postgres", "event-hubs-keys", "nsg-no-deny", "nsg-open", "storage-open",
         "storage-allow", "site-open", "databricks-open", "threat-intel-alert", "adx-single-encryption", "synapse-dep-off"],
)
def test_a_resource_that_breaks_a_rule_is_caught(kind, inputs, rule, words):
    found = check_resource(f"azure-native:{kind}", inputs)
    assert len(found) == 1, found
    assert found[0][0] == rule and words in found[0][1]


def test_a_compliant_resource_and_an_unlisted_type_pass():
    assert check_resource("azure-native:storage:StorageAccount", GOOD_ACCOUNT) == []
    # "Enabled from selected networks": only those, private endpoints and trusted services get in.
    selected = {**GOOD_ACCOUNT, "publicNetworkAccess": "Enabled", "networkRuleSet": {"defaultAction": "Deny"}}
    assert check_resource("azure-native:storage:StorageAccount", selected) == []
    assert check_resource("azure-native:web:WebApp", GOOD_SITE) == []
    restricted = {**GOOD_SITE, "publicNetworkAccess": "Enabled",
                  "siteConfig": {"minTlsVersion": "1.2", "ipSecurityRestrictionsDefaultAction": "Deny"}}
    assert check_resource("azure-native:web:WebApp", restricted) == []
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
    from orchestrator.coverage.checks import _baseline

    results = {r.component: r for r in _baseline(graphs["reference"])}
    for exception in EXCEPTIONS:
        [(component, line)] = [(c, line) for c, r in results.items() for line in r.excepted
                               if repr(exception.name) in line and line.startswith(exception.rule)]
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

    def keyed_only(violations):  # these accounts send no diagnostics either: not what this test is about
        return [v for v in violations if v.rule == IDENTITY]

    assessed = keyed_only(assess_graph(graph, table))
    assert [(v.name, v.excepted) for v in assessed] == [("ml-storage", "shared keys are this service's way"),
                                                        ("ml-other", None)]
    assert [v.name for v in keyed_only(check_graph(graph, table))] == ["ml-other"]
    assert stale_exceptions([graph], table) == list(table[1:])
    assert [v.name for v in keyed_only(check_graph(graph, ()))] == ["ml-storage", "ml-other"]  # no table: both gaps


def test_an_exception_that_names_a_case_covers_that_case_only(graphs):
    """Databricks is excepted from private access only while it is not VNet-injected (Azure refuses
    Disabled then); an injected workspace left public is a gap."""
    reference = graphs["reference"]
    [open_workspace] = [v for v in assess_graph(reference) if v.name == "databricks-workspace"]
    assert open_workspace.rule == PRIVATE_SERVICE and open_workspace.excepted
    injected = _changed(reference, "databricks-workspace",
                        lambda i: i["parameters"].update(customVirtualNetworkId={"value": "/subscriptions/s/vnet"}))
    assert [(v.rule, v.name) for v in check_graph(injected)] == [(PRIVATE_SERVICE, "databricks-workspace")]
    private = _changed(injected, "databricks-workspace", lambda i: i.update(publicNetworkAccess="Disabled"))
    assert check_graph(private) == []


# -- the rules that read across resources ------------------------------------------------------------------


def _changed(graph, name: str, change):
    graph = copy.deepcopy(graph)
    [urn] = [r["urn"] for r in graph.resources if r["name"] == name]
    change(graph.inputs[urn])
    return graph


def test_a_store_behind_a_private_endpoint_that_still_takes_public_traffic_is_caught(graphs):
    reference = graphs["reference"]
    lake = _changed(reference, "lake-account", lambda i: i.update(publicNetworkAccess="Enabled"))
    by_rule = {v.rule: v for v in check_graph(lake)}
    assert sorted(by_rule) == sorted([PRIVATE_DATA, PRIVATE_STORAGE])  # the storage rule's own say
    found = by_rule[PRIVATE_DATA]
    assert found.name == "lake-account" == by_rule[PRIVATE_STORAGE].name
    assert "private endpoint(s) 'lake-pe-blob', 'lake-pe-dfs'" in found.detail and "'Enabled'" in found.detail
    # Key Vault takes public traffic only as its network rules allow: without a default Deny, it is open.
    vault = _changed(reference, "foundation-kv", lambda i: [i["properties"].pop(k) for k in ("networkAcls", "publicNetworkAccess")])
    assert sorted((v.rule, v.name) for v in check_graph(vault)) == [(PRIVATE_DATA, "foundation-kv"),
                                                                     (PRIVATE_SERVICE, "foundation-kv")]
    # Without its private endpoints the lake's public access is no longer this rule's business (only
    # the storage rule's).
    unlinked = replace(lake, resources=[r for r in lake.resources
                                        if not r["name"].startswith(("lake-pe-", "lake-runner-pe-"))])
    assert [(v.rule, v.name) for v in check_graph(unlinked)] == [(PRIVATE_STORAGE, "lake-account")]


def test_mysql_server_parameters_keep_tls_and_entra_only_sign_in(graphs):
    reference = graphs["reference"]
    weak_tls = _changed(reference, "mysql-param-tls_version", lambda i: i.update(value="TLSv1.1,TLSv1.2"))
    assert [(v.rule, v.name) for v in check_graph(weak_tls)] == [(TLS, "mysql-server")]
    no_entra_only = replace(reference, resources=[r for r in reference.resources if r["name"] != "mysql-param-aad_auth_only"])
    [found] = check_graph(no_entra_only)
    assert found.rule == IDENTITY and "aad_auth_only is unset" in found.detail


# -- the scanner's findings: each fix, removed from the captured graph, is caught ----------------------------


def _caught(graph) -> list[tuple[str, str]]:
    return sorted((v.rule, v.name) for v in check_graph(graph))


def test_a_storage_account_open_to_public_networks_is_caught(graphs):
    # Machine Learning's account before the fix: no public network setting, no network rules.
    ml = _changed(graphs["reference"], "machine-learning-storage",
                  lambda i: [i.pop(k) for k in ("publicNetworkAccess", "networkRuleSet")])
    assert _caught(ml) == [(PRIVATE_STORAGE, "machine-learning-storage")]
    # Every account is closed, or listed with its reason: Analysis Services' backups and the Functions host's.
    excepted = {v.name for v in assess_graph(graphs["reference"]) if v.rule == PRIVATE_STORAGE and v.excepted}
    assert excepted == {"analysis-services-backups", "function-app-storage"}


@pytest.mark.parametrize("stack", ["primary", "secondary", "reference", "reference-secondary"])
def test_firewall_threat_intelligence_that_only_alerts_is_caught_on_every_stack(graphs, stack):
    [policy] = [r for r in graphs[stack].resources if r["type"] == "azure-native:network:FirewallPolicy"]
    assert graphs[stack].inputs[policy["urn"]]["threatIntelMode"] == "Deny"
    alerting = _changed(graphs[stack], "connectivity-fw-policy", lambda i: i.update(threatIntelMode="Alert"))
    assert _caught(alerting) == [(THREAT_INTEL, "connectivity-fw-policy")]


def test_services_open_to_the_internet_are_caught(graphs):
    reference = graphs["reference"]
    # The function app before the fix (publicNetworkAccess Enabled): its sites endpoint also says so.
    app = _changed(reference, "function-app-app", lambda i: i.update(publicNetworkAccess="Enabled"))
    assert _caught(app) == [(PRIVATE_DATA, "function-app-app"), (PRIVATE_SERVICE, "function-app-app")]
    # Key Vault before the fix: its network rules deny, but public network access is left on.
    vault = _changed(reference, "foundation-kv", lambda i: i["properties"].pop("publicNetworkAccess"))
    assert _caught(vault) == [(PRIVATE_SERVICE, "foundation-kv")]


def test_hardening_left_off_is_caught(graphs):
    reference = graphs["reference"]
    synapse = _changed(reference, "synapse-workspace", lambda i: i.pop("managedVirtualNetworkSettings"))
    assert _caught(synapse) == [(EXFILTRATION, "synapse-workspace")]
    adx = _changed(reference, "data-explorer-cluster", lambda i: i.update(enableDoubleEncryption=False))
    assert _caught(adx) == [(DOUBLE_ENCRYPTION, "data-explorer-cluster")]


SETTING = "azure-native:monitor:DiagnosticSetting"


def _without(graph, keep) -> object:
    return replace(graph, resources=[r for r in graph.resources if keep(r)])


def test_resources_that_send_no_diagnostics_to_the_workspace_are_caught(graphs):
    from components.diagnostics import SUPPORTED

    reference = graphs["reference"]
    silent = _without(reference, lambda r: r["type"] != SETTING)
    found = check_graph(silent)
    assert {v.rule for v in found} == {DIAGNOSTICS}
    # One per target: each resource of a listed type, and each storage service and master database.
    targets = sum(int(SUPPORTED[r["type"]].own) + len(SUPPORTED[r["type"]].services)
                  for r in reference.resources if r["type"] in SUPPORTED)
    assert len(found) == targets >= 50
    assert {v.name for v in found} == {r["name"] for r in reference.resources if r["type"] in SUPPORTED}
    assert "has no diagnostic setting for blobServices/default" in {v.detail.split(" sending")[0] for v in found
                                                                     if v.name == "lake-account"}
    # The Databricks workspace's setting is its component's: removed, it is caught the same way.
    no_databricks = _without(reference, lambda r: r["name"] != "databricks-workspace-diagnostics")
    assert _caught(no_databricks) == [(DIAGNOSTICS, "databricks-workspace")]


def test_a_setting_that_sends_elsewhere_or_leaves_logs_out_is_caught(graphs):
    reference = graphs["reference"]
    elsewhere = _changed(reference, "foundation-kv-diagnostics", lambda i: i.update(
        workspaceId="/subscriptions/s/resourceGroups/other/providers/operationalinsights/Workspace/another"))
    [found] = check_graph(elsewhere)
    assert (found.rule, found.name) == (DIAGNOSTICS, "foundation-kv") and "(1 send elsewhere)" in found.detail
    no_logs = _changed(reference, "foundation-kv-diagnostics", lambda i: i.pop("logs"))
    [found] = check_graph(no_logs)
    assert found.detail == "diagnostic setting leaves out logs allLogs"
    no_metrics = _changed(reference, "sql_database-db-platform-diagnostics", lambda i: i["metrics"].pop())
    [found] = check_graph(no_metrics)
    assert found.detail == "diagnostic setting leaves out metrics WorkloadManagement"


def test_sql_without_auditing_to_azure_monitor_is_caught(graphs):
    reference = graphs["reference"]
    unaudited = _without(reference, lambda r: r["name"] not in ("sql_database-auditing", "synapse-auditing"))
    assert _caught(unaudited) == [(AUDITING, "sql_database-server"), (AUDITING, "synapse-workspace")]
    to_storage_only = _changed(reference, "sql_database-auditing", lambda i: i.update(isAzureMonitorTargetEnabled=False))
    [found] = check_graph(to_storage_only)
    assert (found.rule, found.detail) == (AUDITING, "auditing is not on with Azure Monitor as a target")
    disabled = _changed(reference, "synapse-auditing", lambda i: i["properties"].update(state="Disabled"))
    assert _caught(disabled) == [(AUDITING, "synapse-workspace")]


def test_declined_hardening_says_why():
    assert {d.hardening.split(" ")[0] for d in DECLINED} >= {"customer-managed"}
    assert all(len(d.reason) > 80 for d in DECLINED), "a declined item says why, in words"
