"""Checks as objects: a check cannot claim to run without an implementation, a profile holds only its
own component's checks, and every service finds its checks under its own stem."""

from __future__ import annotations

import dataclasses
import importlib
from pathlib import Path

import pytest

from components.catalog import CATALOG
from components.registry import SERVICES
from smoke_tests.check import AZURE, Check, CheckKind, SameFact, Target, data, smoke

REPO = Path(__file__).resolve().parents[2]


def test_a_check_runs_somewhere_only_with_an_implementation():
    declared = smoke("lake", "canary")
    assert not declared.implemented and not declared.runs_on_target(Target.LOCAL)
    with pytest.raises(ValueError, match="runs_on and function go together"):
        Check("lake", "canary", CheckKind.SMOKE, AZURE, None)
    with pytest.raises(ValueError, match="runs_on and function go together"):
        Check("lake", "canary", CheckKind.SMOKE, frozenset(), lambda probe: {})


def test_a_profile_refuses_another_components_check():
    lake = next(spec.profile for spec in SERVICES if spec.profile.key == "lake")
    with pytest.raises(ValueError, match="checks of another component"):
        dataclasses.replace(lake, checks=(*lake.checks, smoke("postgres", "select-1")))


def test_same_fact_names_the_fact_and_both_values():
    blobs = SameFact("blobs")
    assert blobs({"blobs": 3, "bytes": 9}, {"blobs": 3, "bytes": 1}) is None
    assert blobs({"blobs": 3}, {"blobs": 2}) == "blobs expected 3, found 2"


@pytest.mark.parametrize("spec", SERVICES, ids=[spec.key for spec in SERVICES])
def test_every_service_declares_its_checks_under_its_own_stem(spec):
    stem = spec.deploy.__module__.removeprefix("components.")
    assert (REPO / "components" / f"{stem}.py").is_file() and (REPO / "smoke_tests" / f"{stem}.py").is_file()
    module = importlib.import_module(f"smoke_tests.{stem}")
    assert spec.profile.checks == module.CHECKS
    assert {check.component for check in module.CHECKS} == {spec.profile.key}
    assert {check.kind for check in spec.profile.checks} <= {CheckKind.SMOKE, CheckKind.DATA}


def test_the_catalogs_readiness_checks_are_smoke_checks_run_on_azure_only():
    readiness = [check for profile in CATALOG for check in profile.checks]
    assert readiness and all(check.kind == CheckKind.SMOKE and check.runs_on == AZURE for check in readiness)


def test_what_runs_today_is_exactly_what_has_an_implementation():
    implemented = {(check.component, check.name, check.kind) for spec in SERVICES for check in spec.profile.checks
                   if check.implemented}
    assert implemented == {
        ("lake", "blob-write-read-delete", "smoke"), ("lake", "container-counts", "data"), ("lake", "bytes", "data"),
        ("lake", "content-md5", "data"), ("postgres", "select-1", "smoke"), ("postgres", "row-counts", "data"),
        ("postgres", "table-checksums", "data"), ("postgres", "max-timestamp", "data"),
        ("sql_database", "database-online", "smoke"), ("event_hubs_geo_dr", "alias-resolves-to-secondary", "smoke"),
        ("data_explorer", "cluster-running", "smoke"), ("data_explorer", "kql-print-1", "smoke"),
        ("data_explorer", "row-counts", "data"), ("data_explorer", "max-ingestion-time", "data"),
        ("machine_learning", "workspace-provisioned", "smoke"), ("machine_learning", "models-list", "smoke"),
        ("machine_learning", "datastores-list", "smoke"), ("machine_learning", "asset-parity", "data"),
        ("ai_search", "service-running", "smoke"), ("ai_search", "index-names-list", "smoke"),
        ("ai_search", "search-top-1", "smoke"), ("ai_search", "document-counts", "data"),
        ("ai_search", "indexer-status", "data"), ("ai_services", "account-provisioned", "smoke"),
        ("ai_services", "deployments-list", "smoke"), ("ai_services", "inference-one-token", "smoke"),
        ("ai_services", "deployment-parity", "data"), ("analysis_services", "analysis-server-succeeded", "smoke"),
        ("analysis_services", "model-refresh", "data"), ("purview", "purview-account-provisioned", "smoke"),
        ("purview", "purview-collections-readable", "smoke"), ("purview", "asset-counts", "data"),
        ("data_factory", "factory-provisioned", "smoke"), ("data_factory", "pipeline-parity", "smoke"),
        ("data_factory", "smoke-pipeline-run", "smoke"),
        ("databricks", "workspace-url-resolves", "smoke"), ("databricks", "current-user-me", "smoke"),
        ("databricks", "clusters-list", "smoke"), ("databricks", "smoke-job-run", "smoke"),
        ("databricks", "workspace-object-counts", "data"), ("databricks", "delta-table-row-counts", "data"),
        ("function_app", "function-app-running", "smoke"), ("function_app", "function-health-endpoint", "smoke"),
        ("data_share", "data-share-account-reachable", "smoke"), ("data_share", "snapshot-sync-status", "data"),
        ("fabric_capacity", "fabric-capacity-active", "smoke"),
        # The SQL Server family and MySQL (smoke_tests/tds.py, smoke_tests/mysql.py).
        ("sql_database", "select-1", "smoke"), ("sql_database", "row-counts", "data"),
        ("sql_database", "table-checksums", "data"), ("sql_database", "max-updated-at", "data"),
        ("sql_managed_instance", "managed-instance-ready", "smoke"), ("sql_managed_instance", "select-1", "smoke"),
        ("sql_managed_instance", "row-counts", "data"), ("sql_managed_instance", "max-timestamp", "data"),
        ("mysql", "server-ready", "smoke"), ("mysql", "select-1", "smoke"), ("mysql", "row-counts", "data"),
        ("mysql", "table-checksums", "data"), ("mysql", "max-timestamp", "data"),
        ("synapse", "workspace-provisioned", "smoke"), ("synapse", "sql-pool-online", "smoke"),
        ("synapse", "sql-select-1", "smoke"), ("synapse", "spark-pool-provisioned", "smoke"),
        ("synapse", "row-counts", "data"), ("synapse", "max-load-timestamp", "data"),
        ("sql_server_vm", "recovery-plan-readable", "smoke"), ("sql_server_vm", "replicated-items-healthy", "smoke"),
        ("sql_server_vm", "row-counts", "data"), ("sql_server_vm", "max-timestamp", "data"),
        ("event_hubs", "send-receive-event", "smoke"), ("event_hubs", "hubs-and-partitions", "data"),
        ("event_hubs", "replayed-event-count", "data"), ("event_hubs_geo_dr", "hubs-and-consumer-groups-match", "data"),
        ("cosmos_db", "account-read", "smoke"), ("cosmos_db", "canary-upsert-read", "smoke"),
        ("cosmos_db", "document-count", "data"), ("cosmos_db", "max-ts-watermark", "data"),
        ("iot_hub", "hub-active", "smoke"), ("iot_hub", "endpoint-health", "smoke"), ("iot_hub", "device-count", "data"),
        ("stream_analytics", "job-running", "smoke"), ("stream_analytics", "input-output-test", "smoke"),
        ("stream_analytics", "output-watermark-advancing", "data"),
        # The network and foundation services (smoke_tests/{foundation,connectivity,...}.py).
        ("foundation", "resource-groups-present", "smoke"), ("foundation", "log-analytics-ready", "smoke"),
        ("foundation", "key-vault-reachable", "smoke"), ("foundation", "recovery-vault-ready", "smoke"),
        ("connectivity", "vnet-subnets-present", "smoke"), ("connectivity", "firewall-provisioned", "smoke"),
        ("connectivity", "private-dns-zones-linked", "smoke"), ("ddos", "ddos-plan-provisioned", "smoke"),
        ("network_watcher", "network-watcher-present", "smoke"), ("express_route", "circuit-provisioned", "smoke"),
        ("express_route", "gateway-provisioned", "smoke"), ("express_route", "connection-connected", "smoke"),
        ("express_route", "routes-learned", "data"), ("vpn_gateway", "gateway-provisioned", "smoke"),
        ("vpn_gateway", "connection-connected", "smoke"), ("vpn_gateway", "routes-learned", "data"),
        ("load_balancer", "load-balancer-provisioned", "smoke"), ("load_balancer", "probe-health", "smoke"),
        ("load_balancer", "data-path-availability", "smoke"), ("public_dns", "zone-name-servers", "smoke"),
        ("public_dns", "records-resolve", "smoke"), ("traffic_manager", "profile-monitor-online", "smoke"),
        ("traffic_manager", "endpoints-online", "smoke"), ("traffic_manager", "fqdn-resolves-to-secondary", "smoke"),
    }
    local = {(check.component, check.name) for spec in SERVICES for check in spec.profile.checks
             if check.runs_on_target(Target.LOCAL)}
    assert {component for component, _ in local} == {"lake", "postgres", "data_factory", "cosmos_db"}
    assert data("x", "y").kind == CheckKind.DATA
