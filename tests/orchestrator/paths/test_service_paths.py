"""Every data-plane check of the reference pair's optional services has a route and a right, over the
real program's graphs (mock runtime); and taking away what the program makes for the runner (its
endpoint, its role, its entry in a service's own list) or what the stack declares was made by hand
brings the gap back, named."""

from __future__ import annotations

import copy
import dataclasses
import shutil
from pathlib import Path

import pytest
from project_files import copy_project, edit_stack

from orchestrator.paths.assess import assess_paths
from orchestrator.paths.model import PathResult
from orchestrator.program.capture import capture_graph
from orchestrator.program.graph import Graph
from stacks.config import StackConfig, load_stack_config

REPO = Path(__file__).resolve().parents[3]
PAIR = ("reference", "reference-secondary")
# The 13 components whose data-plane checks had no access model, and what each path now goes through.
ROUTES = {
    "ai-search": ("privatelink.search.windows.net", "on srch-contoso-"),  # two roles: see below
    "ai-services": ("privatelink.cognitiveservices.azure.com", "Cognitive Services OpenAI User"),
    "analysis-services": ("its firewall admitting 203.0.113.40", "Analysis Services server administrator"),
    "cosmos_db": ("privatelink.documents.azure.com", "Cosmos DB SQL role assignment (00000000-0000-0000-0000-000000000002)"),
    "data-explorer": ("privatelink.australiasoutheast.kusto.windows.net", "Kusto principal assignment (Viewer)"),
    "databricks": ("public endpoint adb-*.azuredatabricks.net", "a step after the deploy, outside ARM: the runner is a "
                   "user of the Databricks workspace"),
    "function-app": ("privatelink.azurewebsites.net", "none: the endpoint takes anonymous calls"),
    "mysql": ("privatelink.mysql.database.azure.com", "a day-0 prerequisite: the runner is a member of the MySQL"),
    "purview": ("privatelink.purview.azure.com", "a step after the deploy, outside ARM: the runner holds Data Reader"),
    "sql_database": ("privatelink.database.windows.net", "a day-0 prerequisite: the runner is a member of Azure SQL"),
    "sql-managed-instance": ("a day-0 prerequisite: a route from the runner's VNet to the managed instance's VNet",
                             "a day-0 prerequisite: the runner is a member of the managed instance"),
    "sql-server-vm": ("a day-0 prerequisite: a route from the runner's VNet to the VNet Site Recovery",
                      "a day-0 prerequisite: the runner is a Microsoft Entra login"),
    "synapse": ("privatelink.sql.azuresynapse.net", "a day-0 prerequisite: the runner is a member of Synapse"),
}


@pytest.fixture(scope="module")
def pair(repo_graphs) -> dict[str, tuple[StackConfig, Graph]]:
    found = {}
    for stack in PAIR:
        config = load_stack_config(REPO, stack)
        found[stack] = (config, repo_graphs.get(stack))
    return found


def paths_of(pair, stack: str = "reference-secondary", *, graph: Graph | None = None,
             config: StackConfig | None = None) -> dict[str, PathResult]:
    own_config, own_graph = pair[stack]
    other = pair[PAIR[1] if stack == PAIR[0] else PAIR[0]][1]
    results = assess_paths(config or own_config, graph or own_graph, other)
    return {p.operation: p for p in results}


def data_checks(paths: dict[str, PathResult], component: str) -> list[PathResult]:
    return [p for name, p in paths.items() if name.startswith((f"{component}.smoke.", f"{component}.data."))
            and "management.azure.com" not in p.endpoint and "DNS" not in p.endpoint]


def without(graph: Graph, name: str) -> Graph:
    kept = [r for r in graph.resources if r["name"] != name]
    assert len(kept) == len(graph.resources) - 1, f"{name} is not in the graph"
    return dataclasses.replace(graph, resources=kept)


def with_inputs(graph: Graph, name: str, **changes) -> Graph:
    (urn,) = [r["urn"] for r in graph.resources if r["name"] == name]
    inputs = copy.deepcopy(graph.inputs)
    inputs[urn].update(changes)
    return dataclasses.replace(graph, inputs=inputs)


def runner_with(config: StackConfig, **changes) -> StackConfig:
    return dataclasses.replace(config, runner=config.runner.model_copy(update=changes))


@pytest.mark.parametrize("stack", PAIR)
@pytest.mark.parametrize("component", sorted(ROUTES))
def test_every_data_check_of_the_service_has_a_route_and_a_right(pair, stack, component):
    checks = data_checks(paths_of(pair, stack), component)
    assert checks, f"{component} has no data-plane path"
    network, who = ROUTES[component]
    if stack == "reference":
        network = network.replace("australiasoutheast", "australiaeast")
    for path in checks:
        assert path.ok, path.gap()
        assert network in path.network.via, path.network.via
        assert who in path.identity.via, path.identity.via


def test_the_failover_reingests_the_new_cluster_as_an_ingestor(pair):
    reingest = paths_of(pair)["data-explorer.reingest"]
    assert reingest.ok and "Kusto principal assignment (Ingestor)" in reingest.identity.via
    _, graph = pair["reference-secondary"]
    cut = paths_of(pair, graph=without(graph, "data-explorer-runner-ingestor"))
    assert not cut["data-explorer.reingest"].identity.ok
    assert "of role AllDatabasesAdmin or Admin or Ingestor" in cut["data-explorer.reingest"].identity.missing[0]
    assert cut["data-explorer.smoke.kql-print-1"].ok  # Viewer still answers the queries


@pytest.mark.parametrize("twin,operation,group", [
    ("cosmos_db-runner-pe-Sql", "cosmos_db.smoke.canary-upsert-read", "Sql"),
    ("ai_search-runner-pe-searchService", "ai-search.smoke.search-top-1", "searchService"),
    ("mysql-runner-pe-mysqlServer", "mysql.smoke.select-1", "mysqlServer"),
    ("synapse-runner-pe-Sql", "synapse.smoke.sql-select-1", "Sql"),
    ("data_explorer-runner-pe-cluster", "data-explorer.smoke.kql-print-1", "cluster"),
    ("function_app-runner-pe-sites", "function-app.smoke.function-health-endpoint", "sites"),
])
def test_without_the_runners_twin_the_route_is_a_gap(pair, twin, operation, group):
    _, graph = pair["reference-secondary"]
    path = paths_of(pair, graph=without(graph, twin))[operation]
    assert not path.network.ok
    assert path.network.missing[0].endswith(f"'s {group} in the runner's network")


def test_without_the_runners_entries_the_right_is_a_gap(pair):
    _, graph = pair["reference-secondary"]
    cosmos = paths_of(pair, graph=without(graph, "cosmos_db-runner-data"))["cosmos_db.data.document-count"]
    assert cosmos.identity.missing == ["a Cosmos DB SQL role assignment entry of role 00000000-0000-0000-0000-000000000002 "
                                       "for the runner on contoso-cosmos-refdr (reference-secondary)"]
    role = next(r["name"] for r in graph.resources if r["name"].startswith("ai_search-runner-1407120a"))
    search = paths_of(pair, graph=without(graph, role))
    assert "Search Index Data Reader" in search["ai-search.data.document-counts"].identity.missing[0]
    assert search["ai-search.smoke.index-names-list"].ok  # listing is Search Service Contributor's


def test_an_undeclared_out_of_band_grant_is_a_gap_that_says_what_to_make_and_declare(pair):
    config, _ = pair["reference-secondary"]
    paths = paths_of(pair, config=runner_with(config, granted_out_of_band=()))
    databricks = paths["databricks.smoke.clusters-list"]
    assert databricks.network.ok and not databricks.identity.ok
    assert databricks.identity.missing[0].endswith(
        "(made by hand, then declared: dataplatform:runner.grantedOutOfBand databricks-workspace-user)")
    mysql = paths["mysql.data.row-counts"]
    # MySQL takes one Entra administrator (the stack's group): the runner's entry, or the group membership.
    assert mysql.identity.missing[0].startswith("a MySQL Entra administrator entry for the runner on contoso-mysql-refdr")
    assert "; or the runner is a member of the MySQL server's Entra administrator group" in mysql.identity.missing[0]
    mi = paths["sql-managed-instance.smoke.select-1"]
    assert not mi.network.ok and "sql-managed-instance-network" in mi.network.missing[0]


def test_a_runner_that_is_the_servers_one_administrator_needs_no_declaration(pair):
    config, graph = pair["reference-secondary"]
    runner = config.runner.object_id
    graph = with_inputs(graph, "mysql-entra-admin", sid=runner)
    mysql = paths_of(pair, graph=graph, config=runner_with(config, granted_out_of_band=()))["mysql.smoke.select-1"]
    assert mysql.ok and mysql.identity.via == "MySQL Entra administrator on contoso-mysql-refdr"
    assert not mysql.prerequisites


def test_analysis_services_needs_the_runners_egress_and_application_id(pair):
    config, _ = pair["reference-secondary"]
    network = config.runner.network.model_copy(update={"egress_addresses": ()})
    no_egress = paths_of(pair, config=runner_with(config, network=network))["analysis-services.data.model-refresh"]
    assert "dataplatform:runner.network.egressAddresses" in no_egress.network.missing[0]
    other = config.runner.network.model_copy(update={"egress_addresses": ("198.51.100.7",)})
    outside = paths_of(pair, config=runner_with(config, network=other))["analysis-services.data.model-refresh"]
    assert outside.network.missing == ["a firewall rule on contosoaasrefdr (reference-secondary) admitting the "
                                       "runner's egress 198.51.100.7-198.51.100.7"]
    no_app = paths_of(pair, config=runner_with(config, client_id=None))["analysis-services.data.model-refresh"]
    assert "set dataplatform:runner.clientId" in no_app.identity.missing[0]


def test_an_open_function_app_is_reached_at_its_public_host(pair):
    _, graph = pair["reference-secondary"]
    graph = with_inputs(graph, "function-app-app", publicNetworkAccess="Enabled")
    health = paths_of(pair, graph=graph)["function-app.smoke.function-health-endpoint"]
    assert health.ok and "public endpoint func-contoso-refdr.azurewebsites.net" in health.network.via


def test_a_runner_in_the_hub_reaches_public_only_services_through_firewall_rules(tmp_path):
    project = copy_project(tmp_path, PAIR)
    shutil.copytree(REPO / "kql", project / "kql")
    hub = {"objectId": "11111111-1111-1111-1111-111111111111", "principalName": "drctl-runner",
           "clientId": "22222222-2222-2222-2222-222222222222",
           "network": {"kind": "hub", "addressPrefix": "10.40.3.192/27", "egressAddresses": ["203.0.113.40"]}}
    for stack in PAIR:
        edit_stack(project, stack, lambda c: c.__setitem__("dataplatform:runner", {**c["dataplatform:runner"], **hub}))
    graphs = {stack: capture_graph(project, stack) for stack in PAIR}
    config = load_stack_config(project, "reference-secondary")
    paths = {p.operation: p for p in assess_paths(config, graphs["reference-secondary"], graphs["reference"])}
    refresh = paths["analysis-services.data.model-refresh"]
    assert refresh.network.ok and "firewall rule runner-analysisServices" in refresh.network.via
    assert "firewall rule runner-databricks" in paths["databricks.smoke.clusters-list"].network.via
    # The hub's own endpoints serve a runner there.
    assert paths["cosmos_db.smoke.account-read"].network.ok
