"""The path model over the real program's graphs (mock runtime): a route and a role for every
data-plane call of the plans, and each missing link named."""

from __future__ import annotations

import dataclasses
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from project_files import copy_project, edit_stack

from orchestrator.paths.assess import assess_paths
from orchestrator.paths.model import PathResult
from orchestrator.program.capture import capture_graph
from orchestrator.program.graph import Graph
from stacks.config import load_stack_config

REPO = Path(__file__).resolve().parents[3]


@pytest.fixture(scope="module")
def graphs(repo_graphs) -> dict[str, Graph]:
    return {stack: repo_graphs.get(stack) for stack in ("primary", "secondary")}


def paths_of(stack: str, graphs: dict[str, Graph], config=None) -> dict[str, PathResult]:
    config = config or load_stack_config(REPO, stack)
    paired = "primary" if stack == "secondary" else "secondary"
    return {p.operation: p for p in assess_paths(config, graphs[stack], graphs[paired])}


def without(graph: Graph, name: str) -> Graph:
    kept = [r for r in graph.resources if r["name"] != name]
    assert len(kept) == len(graph.resources) - 1, f"{name} is not in the graph"
    return dataclasses.replace(graph, resources=kept)


def test_the_failover_reads_the_geo_copy_through_the_runners_day0_endpoint(graphs):
    paths = paths_of("secondary", graphs)
    listing = paths["lake.list_source"]
    assert listing.endpoint == "https://contosolakeaue-secondary.blob.core.windows.net"
    assert listing.network.ok, listing.network.missing
    # Made by the primary stack before the disaster: the account's control plane approves it then.
    assert "blob_secondary (primary)" in listing.network.via
    assert listing.identity.ok and "Storage Blob Data" in listing.identity.via


def test_the_plans_operations_are_all_listed(graphs):
    secondary, primary = paths_of("secondary", graphs), paths_of("primary", graphs)
    for operation in ("lake.list_source", "lake.read_source", "lake.create_containers", "lake.write_target",
                      "postgres.connect", "data_factory.replay_copy", "data_factory.run_replay",
                      "event_hubs.smoke.send-receive-event", "lake.smoke.blob-write-read-delete",
                      "postgres.smoke.select-1", "entra.sign_in", "arm.deploy_and_manage"):
        assert operation in secondary
    assert {"fallback.lake.read_secondary", "fallback.lake.write_primary",
            "fallback.postgres.connect_primary"} <= set(primary)


def test_dropping_the_geo_endpoint_names_the_operation_and_the_link(graphs):
    cut = {**graphs, "primary": without(graphs["primary"], "lake-runner-pe-blob_secondary")}
    listing = paths_of("secondary", cut)["lake.list_source"]
    assert not listing.network.ok
    assert listing.network.missing == ["a private endpoint for contosolakeaue (primary)'s blob_secondary "
                                       "in the runner's network"]
    assert "lake.list_source" in listing.gap()


def test_dropping_a_zone_link_breaks_the_dns_half_of_the_route(graphs):
    cut = {**graphs, "primary": without(graphs["primary"], "runner-dns-blob-link")}
    listing = paths_of("secondary", cut)["lake.list_source"]
    assert not listing.network.ok
    assert "privatelink.blob.core.windows.net" in listing.network.missing[0]


def test_dropping_a_role_assignment_names_the_role(graphs):
    name = next(r["name"] for r in graphs["secondary"].resources if r["name"].startswith("lake-runner-"))
    cut = {**graphs, "secondary": without(graphs["secondary"], name)}
    write = paths_of("secondary", cut)["lake.write_target"]
    assert write.network.ok and not write.identity.ok
    assert "Storage Blob Data Contributor" in write.identity.missing[0]


def test_a_runner_in_the_hub_cannot_reach_the_geo_copy_but_gets_firewall_egress(tmp_path):
    project = copy_project(tmp_path)
    runner = {"objectId": "11111111-1111-1111-1111-111111111111", "principalName": "drctl-runner",
              "network": {"kind": "hub", "addressPrefix": "10.20.3.192/27"}}
    for stack in ("primary", "secondary"):
        edit_stack(project, stack, lambda c: c.__setitem__("dataplatform:runner", runner))
    graphs = {stack: capture_graph(project, stack) for stack in ("primary", "secondary")}
    config = load_stack_config(project, "secondary")
    paths = {p.operation: p for p in assess_paths(config, graphs["secondary"], graphs["primary"])}
    assert not paths["lake.list_source"].network.ok
    assert "exists before the disaster" in paths["lake.list_source"].network.missing[0]
    assert paths["arm.deploy_and_manage"].network.ok
    assert "firewall rule runner-arm" in paths["arm.deploy_and_manage"].network.via
    assert paths["lake.write_target"].network.ok  # the hub's own endpoint, its zone linked to the hub


def test_a_stack_without_a_runner_fails_coverage_naming_the_key(tmp_path):
    project = copy_project(tmp_path)
    edit_stack(project, "secondary", lambda c: c.pop("dataplatform:runner"))
    result = subprocess.run([sys.executable, "-m", "orchestrator.cli", "coverage", "--stack", "secondary",
                             "--project-dir", str(project)], capture_output=True, text=True, cwd=REPO)
    assert result.returncode == 1, result.stderr
    assert "dataplatform:runner" in result.stdout
    assert "lake.list_source" in result.stdout


def test_failover_dry_run_prints_the_path_table_and_its_json_lists_them(repo_graphs):
    repo_graphs.warm_cache(REPO, "secondary", "primary")
    shown = subprocess.run([sys.executable, "-m", "orchestrator.cli", "failover", "--stack", "secondary", "--dry-run"],
                           capture_output=True, text=True, cwd=REPO, env={**os.environ, "COLUMNS": "250"})
    assert shown.returncode == 0, shown.stderr
    assert "data-plane paths" in shown.stdout and "lake.list_source" in shown.stdout
    assert "paths, " in shown.stdout.splitlines()[-1]  # the count, and how many are not ok
    document = subprocess.run([sys.executable, "-m", "orchestrator.cli", "failover", "--stack", "secondary",
                               "--dry-run", "--json"], capture_output=True, text=True, cwd=REPO)
    paths = json.loads(document.stdout)["paths"]
    listing = next(p for p in paths if p["operation"] == "lake.list_source")
    assert set(listing) == {"operation", "actor", "target", "endpoint", "network", "identity"}
    assert listing["endpoint"] == "https://contosolakeaue-secondary.blob.core.windows.net"
    assert set(listing["network"]) == {"ok", "via", "missing"} and set(listing["identity"]) == {"ok", "role", "missing"}


def test_a_server_side_copy_from_the_closed_lake_is_a_gap_that_says_why(tmp_path):
    project = copy_project(tmp_path)
    edit_stack(project, "secondary", lambda c: c["dataplatform:restore"]["lake"].__setitem__("copy", "server-side"))
    graphs = {stack: capture_graph(project, stack) for stack in ("primary", "secondary")}
    paths = {p.operation: p for p in assess_paths(load_stack_config(project, "secondary"), graphs["secondary"],
                                                  graphs["primary"])}
    assert paths["lake.sign_source"].ok  # the runner may ask for a user delegation key
    fetch = paths["lake.server_side_copy"]
    assert fetch.actor == "storage_service" and not fetch.network.ok
    assert "restore.lake.copy relay" in fetch.network.missing[0]
    assert "lake.read_source" not in paths


def test_kusto_is_reached_through_its_own_principal_list_and_the_regions_zone(graphs, repo_graphs):
    # The reference stack switches Data Explorer on: its cluster has public access disabled, so the
    # KQL checks go through the runner's endpoint, registered in its region's privatelink zone, and
    # are allowed by a Kusto principal assignment (tests/orchestrator/paths/test_service_paths.py).
    config = load_stack_config(REPO, "reference")
    paths = {p.operation: p for p in assess_paths(config, repo_graphs.get("reference"),
                                                  graphs["secondary"])}
    kql = paths["data-explorer.smoke.kql-print-1"]
    assert kql.endpoint == "https://contosoadxref.australiaeast.kusto.windows.net"
    assert kql.network.via == ("private endpoint data_explorer-runner-pe-cluster (reference), "
                               "privatelink.australiaeast.kusto.windows.net")
    assert kql.identity.via == "Kusto principal assignment (Viewer) on contosoadxref"
    assert paths["event_hubs_geo_dr.smoke.alias-resolves-to-secondary"].ok  # the alias is ARM's, the deployer's
