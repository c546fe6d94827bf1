"""What the local deploy steps read from the program's graph (orchestrator/targets/local/declared.py):
the shipped stacks' graphs, captured as `drctl preview` captures them, and one graph written out to
show a nested component's resources counted with it."""

from __future__ import annotations

from pathlib import Path

import pytest

from orchestrator.program.graph import Graph
from orchestrator.stack import capture
from orchestrator.targets.local.declared import (
    ACCOUNT,
    CONTAINER,
    ENTRA_ADMIN,
    SecondaryDeclarations,
    declared_databases,
    declared_for,
    lake_account_name,
    why_not_created,
)
from orchestrator.targets.local.servers.postgres import PostgresServer

REPO = Path(__file__).resolve().parents[4]


@pytest.fixture(scope="module")
def secondary() -> Graph:
    return capture(REPO, "secondary")


def test_the_secondary_lake_is_its_account_and_zone_containers_and_nothing_else_local(secondary):
    lake = SecondaryDeclarations.from_graph(secondary).lake
    assert lake.one(ACCOUNT).physical_name == "contosolakease"
    assert lake.one(ACCOUNT).inputs["sku"] == {"name": "Standard_RAGRS"}  # the inputs come along
    assert {c.physical_name for c in lake.of_type(CONTAINER)} == {"raw", "enriched", "curated", "presentation"}
    # Its private endpoints, and its diagnostic settings (the account's and each storage service's).
    assert {r.type for r in lake.others((ACCOUNT, CONTAINER))} == {
        "azure-native:network:PrivateEndpoint", "azure-native:network:PrivateDnsZoneGroup",
        "azure-native:monitor:DiagnosticSetting"}
    assert all(r.urn.startswith("urn:pulumi:secondary::") for r in lake.resources)


def test_a_geo_restored_server_s_databases_come_from_the_stack_output(secondary):
    postgres = SecondaryDeclarations.from_graph(secondary).postgres
    assert not postgres.of_type("azure-native:dbforpostgresql:Database")  # the geo-restore brings them
    [platform] = declared_databases(postgres)
    assert (platform.name, platform.graph) == ("platform", {"output": "postgresDatabases"})
    assert "geo-restore" in (platform.note or "")
    assert {a.inputs["principalName"] for a in postgres.of_type(ENTRA_ADMIN)} == {"pg-admins", "drctl-runner"}


def test_a_server_created_empty_declares_its_databases_as_resources():
    postgres = declared_for(capture(REPO, "reference"), "dataplatform:data:PostgresServer")
    [platform] = declared_databases(postgres)
    assert platform.name == "platform" and platform.graph["type"] == "azure-native:dbforpostgresql:Database"
    assert platform.graph["urn"].endswith("::postgres-db-platform") and platform.note is None


def test_the_lake_account_is_the_lake_s_not_the_first_account_of_the_stack():
    graph = capture(REPO, "reference")  # machine learning, functions and others declare accounts too
    accounts = [r["physical_name"] for r in graph.resources if r["type"] == ACCOUNT]
    assert accounts[0] != "contosolakeref" and "contosolakeref" in accounts
    assert lake_account_name(graph) == "contosolakeref"


def test_a_component_nested_in_the_lake_counts_as_the_lake_s():
    lake, inner = "dataplatform:data:Lake", "dataplatform:data:LakeZones"
    graph = Graph(stack="s", region="r", resources=[
        {"urn": "u1", "type": ACCOUNT, "name": "lake-account", "physical_name": "acct", "location": "r",
         "component": "lake"},
        {"urn": "u2", "type": CONTAINER, "name": "lake-raw", "physical_name": "raw", "location": None,
         "component": "zones"},
        {"urn": "u3", "type": ACCOUNT, "name": "other", "physical_name": "other", "location": "r",
         "component": "elsewhere"},
    ], components=[{"urn": "c1", "type": lake, "name": "lake", "component": None},
                   {"urn": "c2", "type": inner, "name": "zones", "component": "lake"},
                   {"urn": "c3", "type": "dataplatform:data:Other", "name": "elsewhere", "component": None}])
    assert [r.urn for r in declared_for(graph, lake).resources] == ["u1", "u2"]
    assert declared_for(graph, "dataplatform:data:PostgresServer").resources == ()
    with pytest.raises(ValueError, match="declares 0"):
        declared_for(graph, "dataplatform:data:PostgresServer").one("azure-native:dbforpostgresql:Server")


def test_what_no_emulator_holds_says_why():
    assert "127.0.0.1" in why_not_created("azure-native:network:PrivateEndpoint")
    assert why_not_created("azure-native:storage:Queue") == "no local emulator for azure-native:storage:Queue"


def test_a_role_name_postgres_would_truncate_is_refused_before_any_connection(tmp_path):
    server = PostgresServer(tmp_path / "never-started")
    with pytest.raises(ValueError, match="1 to 63 bytes"):
        server.create_role("g" * 64)
    with pytest.raises(ValueError):
        server.create_role("")
