"""What a policy is given, read as drctl's graph (orchestrator/policy/stack_graph.py): the same graph
the mock runtime captures, and values unknown during a preview that stop only the rule reading them.

The preview cases go through pulumi-policy's own server code (its Analyze and AnalyzeStack, fed the
engine's gRPC requests with the engine's marker for an unknown value): what it reports for a
policy that could not run is the library's doing, not a double's.
"""

from __future__ import annotations

import copy

import pytest
from policy_args import analyze_request, analyze_stack_request, policy_server, run_pack, stack_resources
from pulumi.runtime import proto
from pulumi_policy.proxy import UNKNOWN_OBJECT_VALUE, UNKNOWN_STRING_VALUE, UnknownValueError, unknown_checking_proxy

from orchestrator.policy.pack import ACROSS_RESOURCES, EXCEPTIONS, policies, policy_name
from orchestrator.policy.stack_graph import Inputs, Unknown, graph_of, plain
from orchestrator.program.baseline import PUBLIC_BLOB, TLS, check_graph, check_resource

ACCOUNT = "azure-native:storage:StorageAccount"


@pytest.fixture
def account(graphs) -> tuple[str, dict]:
    """A storage account of the secondary stack, which keeps the baseline: its name and inputs."""
    graph = graphs["secondary"]
    found = next(r for r in graph.resources if r["type"] == ACCOUNT)
    return found["name"], copy.deepcopy(graph.inputs[found["urn"]])


@pytest.mark.parametrize("stack", ["primary", "secondary", "reference"])
def test_the_policies_see_the_graph_the_mock_runtime_captured(graphs, stack):
    graph = graphs[stack]
    seen = graph_of(stack_resources(graph), Inputs())
    assert sorted(seen.resources, key=lambda r: r["urn"]) == sorted(graph.resources, key=lambda r: r["urn"])
    assert sorted(seen.components, key=lambda c: c["urn"]) == sorted(graph.components, key=lambda c: c["urn"])
    assert seen.inputs == graph.inputs
    assert all(type(v) is dict for v in seen.inputs.values())  # plain data, not the library's proxies


def test_an_unknown_value_is_a_stand_in_that_raises_the_librarys_error_when_read():
    given = plain(unknown_checking_proxy({"a": {"b": [1, UNKNOWN_STRING_VALUE]}, "c": UNKNOWN_OBJECT_VALUE}))
    assert given["a"]["b"][0] == 1 and isinstance(given["a"]["b"][1], Unknown) and isinstance(given["c"], dict)
    for look in (lambda: given["a"]["b"][1] == "x", lambda: str(given["c"]), lambda: "k" in given["c"],
                 lambda: given["c"].get("k"), lambda: bool(given["c"])):
        with pytest.raises(UnknownValueError) as raised:
            look()
        assert "can't be known during preview" in raised.value.message


def test_a_rule_reading_through_an_unknown_object_cannot_judge_rather_than_finding_it_unset():
    vault = plain(unknown_checking_proxy({"properties": UNKNOWN_OBJECT_VALUE}))
    with pytest.raises(UnknownValueError):
        check_resource("azure-native:keyvault:Vault", vault)


def test_the_inputs_recorded_win_over_the_outputs_and_the_outputs_stand_in_otherwise(graphs):
    graph = graphs["secondary"]
    resources = [r for r in stack_resources(graph) if r.provider is not None]
    inputs = Inputs()
    inputs.record(resources[0].urn, {"recorded": True})
    assert inputs.of(resources[0]) == {"recorded": True}
    assert inputs.of(resources[1]) == graph.inputs[resources[1].urn]


# -- through pulumi-policy's server ----------------------------------------------------------------------------


def diagnostics(response) -> list[tuple[str, str, str]]:
    levels = {proto.ADVISORY: "advisory", proto.MANDATORY: "mandatory"}
    return sorted((d.policyName, levels[d.enforcementLevel], d.message) for d in response.diagnostics)


def test_a_value_unknown_in_the_preview_stops_the_rule_reading_it_and_no_other(account):
    name, inputs = account
    server = policy_server(policies())
    props = {**inputs, "minimumTlsVersion": UNKNOWN_STRING_VALUE, "allowBlobPublicAccess": True,
             "location": UNKNOWN_STRING_VALUE}
    found = diagnostics(server.Analyze(analyze_request(ACCOUNT, "urn:acct", name, props), None))
    names = [(name, level) for name, level, _ in found]
    assert (policy_name(TLS), "advisory") in names  # the library's "can't run policy ... during preview"
    assert (policy_name(PUBLIC_BLOB), "mandatory") in names
    [blob] = [message for name, _, message in found if name == policy_name(PUBLIC_BLOB)]
    assert blob.endswith(f"no public blob access: storage:StorageAccount {name!r} allowBlobPublicAccess is True, wants False")
    [tls] = [message for name, _, message in found if name == policy_name(TLS)]
    assert "during preview" in tls and ".minimumTlsVersion" in tls
    # Every other rule of the account ran on known values and passed: no word from it.
    assert {name for name, _ in names} <= {policy_name(TLS), policy_name(PUBLIC_BLOB), "baseline-other-rules"}


def test_a_known_compliant_resource_gets_no_word_from_the_server(account):
    name, inputs = account
    server = policy_server(policies())
    assert diagnostics(server.Analyze(analyze_request(ACCOUNT, "urn:acct", name, inputs), None)) == []


def test_a_stack_with_unknown_locations_is_judged_and_an_unknown_link_stops_the_rules_across_resources(graphs):
    graph = copy.deepcopy(graphs["secondary"])  # private endpoints, and no exception to show
    for given in graph.inputs.values():
        if "location" in given:
            given["location"] = UNKNOWN_STRING_VALUE  # e.g. taken from a resource group the preview creates
    server = policy_server(policies())
    assert diagnostics(server.AnalyzeStack(analyze_stack_request(graph), None)) == []
    endpoint = next(r["urn"] for r in graph.resources if r["type"] == "azure-native:network:PrivateEndpoint")
    graph.inputs[endpoint]["privateLinkServiceConnections"][0]["privateLinkServiceId"] = UNKNOWN_STRING_VALUE
    found = diagnostics(server.AnalyzeStack(analyze_stack_request(graph), None))
    # The rules across resources cannot judge (nor can the advisory exceptions policy, which runs them
    # to find what is excepted); the DR-profile rule, which reads no input, still passes.
    assert [(name, level) for name, level, _ in found] == [(ACROSS_RESOURCES, "advisory"), (EXCEPTIONS, "advisory")]
    assert all("can't be known during preview" in message for _, _, message in found)


# -- Azure's resource IDs ---------------------------------------------------------------------------------------


def azure_type(token: str) -> str:
    """An Azure type for a Pulumi type token, shaped as Azure's are (Microsoft.Storage/storageAccounts for
    azure-native:storage:StorageAccount): what matters here is that it differs from the token's names."""
    module, kind = token.split(":")[1:]
    return f"Microsoft.{module.title()}/{kind[0].lower()}{kind[1:]}s"


def with_azure_ids(graph):
    """`graph` with its IDs as Azure writes them, and each resource's outputs holding its Azure type."""
    segments = {f"/providers/{t.split(':')[1]}/{t.split(':')[2]}/": f"/providers/{azure_type(t)}/"
                for t in {r["type"] for r in graph.resources}}

    def rewrite(value):
        if isinstance(value, dict):
            return {k: rewrite(v) for k, v in value.items()}
        if isinstance(value, list):
            return [rewrite(v) for v in value]
        if isinstance(value, str) and value.startswith("/subscriptions/"):
            for mock, azure in segments.items():
                value = value.replace(mock, azure)
        return value

    graph = copy.deepcopy(graph)
    graph.inputs.update({urn: rewrite(given) for urn, given in graph.inputs.items()})
    outputs = {r["urn"]: {**graph.inputs[r["urn"]], "type": azure_type(r["type"])} for r in graph.resources}
    return graph, outputs


def test_azure_resource_ids_are_read_as_the_mock_runtime_writes_them(graphs):
    graph = copy.deepcopy(graphs["reference"])
    lake = next(r["urn"] for r in graph.resources if r["name"] == "lake-account")
    graph.inputs[lake]["publicNetworkAccess"] = "Enabled"
    real, outputs = with_azure_ids(graph)
    endpoint = next(r["urn"] for r in real.resources if r["name"] == "lake-pe-blob")
    assert "/providers/Microsoft.Storage/storageAccounts/" in str(real.inputs[endpoint])
    # Read as Azure wrote them, the IDs name nothing: the private endpoint's target goes unchecked.
    blind = run_pack(policies(), real)
    assert [m for _, _, m in blind.mandatory if "'lake-account' is reached through private endpoint" in m] == []
    # With the Azure types the stack's outputs give, the rule finds it, as coverage does on the mock graph.
    seen = run_pack(policies(), real, props=outputs)
    [line] = [m for name, _, m in seen.mandatory if name == ACROSS_RESOURCES and "lake-account" in m]
    assert "private endpoint(s) 'lake-pe-blob'" in line
    assert sorted((urn, m) for _, urn, m in seen.mandatory) == sorted((v.urn, v.line()) for v in check_graph(graph))
