"""The privatelink zones a stack holds (components/private_endpoint.py): the core platform's always,
a service's only when it is switched on; Data Explorer's once per region, and the runner's for both
regions of the pair, since it calls each region's cluster (the failover's and the fallback's)."""

from __future__ import annotations

from pathlib import Path

from pulumi_mocks import stack_config

from components.private_endpoint import PRIVATE_DNS_ZONES, ZONE_SERVICES, zone_keys, zone_name
from components.runner import runner_zones

REPO = Path(__file__).resolve().parents[2]
CORE = {"blob", "dfs", "postgres", "servicebus", "vaultcore", "datafactory"}


def test_a_service_zone_exists_only_with_its_service():
    assert set(zone_keys(lambda key: False)) == CORE
    assert set(zone_keys(lambda key: True)) == set(PRIVATE_DNS_ZONES)
    assert set(zone_keys(lambda key: key == "synapse")) == CORE | {"synapse-sql", "synapse-dev"}
    assert set(ZONE_SERVICES) == set(PRIVATE_DNS_ZONES) - CORE


def test_data_explorer_zones_are_named_by_region():
    assert zone_name("kusto", "australiaeast") == "privatelink.australiaeast.kusto.windows.net"
    assert zone_name("blob", "australiaeast") == "privatelink.blob.core.windows.net"


def test_the_runner_resolves_both_regions_clusters():
    zones = runner_zones(stack_config("reference"))
    assert zones["privatelink.australiaeast.kusto.windows.net"] == ("kusto", "australiaeast")
    assert zones["privatelink.australiasoutheast.kusto.windows.net"] == ("kusto", "australiasoutheast")
    assert "privatelink.search.windows.net" in zones
    assert not any("kusto" in zone or "search" in zone for zone in runner_zones(stack_config("primary")))


def test_a_stack_without_the_optional_services_holds_only_the_core_zones(repo_graphs):
    graph = repo_graphs.get("primary")
    zones = {graph.inputs[r["urn"]]["privateZoneName"] for r in graph.resources
             if r["type"] == "azure-native:privatedns:PrivateZone"}
    # The hub's and the runner's (the primary makes the runner's, in the DR region): the same names.
    assert zones == {PRIVATE_DNS_ZONES[key] for key in CORE}
