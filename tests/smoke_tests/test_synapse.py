"""Synapse's checks: the workspace and pools read through ARM by the real resources client, the SQL
through the DB-API double (tests/smoke_tests/sql_doubles.py: no SQL Server installs here).

No Microsoft.Synapse example is kept: the workspace and Spark pool answer with minimal GET bodies.
The dedicated pool answers with the Microsoft.Sql DataWarehouse database created by create_mode
Recovery, the shape of a pool restored from its geo-backup (properties.status)."""

from __future__ import annotations

import copy

import pytest

from smoke_tests import synapse as checks
from smoke_tests.check import PermanentError, TransientError
from tests.azure_fixtures import Route, example_body
from tests.smoke_tests.probe_support import arm_id, deployed, service_probe
from tests.smoke_tests.sql_doubles import Table, TdsServer

WORKSPACE_ID = arm_id("Microsoft.Synapse/workspaces", "syn-dp-sec")
POOL_ID, SPARK_ID = f"{WORKSPACE_ID}/sqlPools/dwh", f"{WORKSPACE_ID}/bigDataPools/spark"
SQL_ENDPOINT = "syn-dp-sec.sql.azuresynapse.net"
DW_RECOVERED = ("sql/resource-manager/Microsoft.Sql/SQL/stable/2025-01-01/examples/"
                "CreateDwDatabaseCrossSubscriptionRecovery.json")


def catalog() -> dict[str, dict[str, Table]]:
    return {"dwh": {"dbo.fact_events": Table(rows=1000, newest={"loaded_at": "2024-05-01T02:00:00"}),
                    "dbo.dim_device": Table(rows=12)}}


def probe(server: TdsServer, *, workspace: str = "Succeeded", pool: str = "Online", spark: str = "Succeeded",
          baseline: dict | None = None):
    pool_body = copy.deepcopy(example_body(DW_RECOVERED))
    pool_body["properties"]["status"] = pool
    routes = [
        Route("GET", WORKSPACE_ID, body={"id": WORKSPACE_ID, "name": "syn-dp-sec", "properties": {
            "provisioningState": workspace, "connectivityEndpoints": {"sql": SQL_ENDPOINT, "dev": "https://dev"}}}),
        Route("GET", POOL_ID, body=pool_body),
        Route("GET", SPARK_ID, body={"id": SPARK_ID, "name": "spark", "properties": {"provisioningState": spark}}),
    ]
    resources = [deployed(checks.WORKSPACE, WORKSPACE_ID), deployed(checks.SQL_POOL, POOL_ID),
                 deployed(checks.SPARK_POOL, SPARK_ID)]
    return service_probe(checks.COMPONENT, routes, resources, connectors={"sql": server}, baseline=baseline)[0]


def test_the_management_checks_pass_on_a_provisioned_workspace_an_online_pool_and_a_spark_pool():
    good = probe(TdsServer(catalog()))
    assert checks.workspace_provisioned(good)["provisioningState"] == "Succeeded"
    assert checks.sql_pool_online(good)["status"] == "Online"
    assert checks.spark_pool_provisioned(good)["provisioningState"] == "Succeeded"


def test_a_failed_workspace_or_spark_pool_fails():
    with pytest.raises(PermanentError, match="syn-dp-sec: provisioningState Failed"):
        checks.workspace_provisioned(probe(TdsServer(catalog()), workspace="Failed"))
    with pytest.raises(PermanentError, match="spark: provisioningState Failed"):
        checks.spark_pool_provisioned(probe(TdsServer(catalog()), spark="Failed"))


def test_a_paused_pool_fails_and_a_restoring_one_is_waited_for():
    with pytest.raises(PermanentError, match="dwh: status Paused, not Online"):
        checks.sql_pool_online(probe(TdsServer(catalog()), pool="Paused"))
    with pytest.raises(TransientError, match="status Restoring"):
        checks.sql_pool_online(probe(TdsServer(catalog()), pool="Restoring"))


def test_sql_select_1_signs_in_to_the_pool_at_the_workspaces_sql_endpoint():
    server = TdsServer(catalog())
    assert checks.sql_select_1(probe(server)) == {"host": SQL_ENDPOINT, "database": "dwh", "select_1": 1}
    assert server.sign_ins[0] == {"host": SQL_ENDPOINT, "database": "dwh", "token": "fake-token-for-tests"}


def test_sql_select_1_fails_when_the_pool_does_not_answer_1():
    with pytest.raises(PermanentError, match="SELECT 1 on"):
        checks.sql_select_1(probe(TdsServer(catalog(), select_1=None)))


def test_row_counts_find_a_missing_table_and_a_count_off_against_the_baseline():
    mismatches, recorded = checks.row_counts(probe(TdsServer(catalog())))
    assert (mismatches, recorded["tables"]) == ([], {"dbo.dim_device": 12, "dbo.fact_events": 1000})
    now = catalog()
    del now["dwh"]["dbo.dim_device"]
    now["dwh"]["dbo.fact_events"].rows = 990
    mismatches, _ = checks.row_counts(probe(TdsServer(now), baseline={"row-counts": recorded}))
    assert mismatches == ["dbo.dim_device: missing from database dwh (recorded with rows 12)",
                          "dbo.fact_events: rows 990, recorded 1000"]


def test_max_load_timestamp_reads_loaded_at_and_needs_a_table_with_it():
    mismatches, facts = checks.max_load_timestamp(probe(TdsServer(catalog())))
    assert (mismatches, facts["tables"], facts["column"]) == ([], {"dbo.fact_events": "2024-05-01T02:00:00"}, "loaded_at")
    mismatches, _ = checks.max_load_timestamp(probe(TdsServer({"dwh": {"dbo.dim_device": Table(rows=12)}})))
    assert mismatches == ["no user table in database dwh has the column loaded_at"]


def test_max_load_timestamp_fails_when_the_newest_load_went_back():
    _, recorded = checks.max_load_timestamp(probe(TdsServer(catalog())))
    older = catalog()
    older["dwh"]["dbo.fact_events"].newest["loaded_at"] = "2024-04-30T02:00:00"
    mismatches, _ = checks.max_load_timestamp(probe(TdsServer(older), baseline={"max-load-timestamp": recorded}))
    assert mismatches == ["dbo.fact_events: newest loaded_at '2024-04-30T02:00:00', recorded '2024-05-01T02:00:00'"]
