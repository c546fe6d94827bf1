"""Azure SQL Database's checks: the server's address through the real azure-mgmt-sql client, the SQL
through a DB-API double (tests/smoke_tests/sql_doubles.py: no SQL Server installs here)."""

from __future__ import annotations

from datetime import datetime

import pytest

from smoke_tests import sql_database as checks
from smoke_tests.check import PermanentError, TransientError
from smoke_tests.tds import SQL_SCOPE
from tests.azure_fixtures import FakeCredential, Route, example_body
from tests.smoke_tests.probe_support import arm_id, deployed, service_probe
from tests.smoke_tests.sql_doubles import DriverError, Table, TdsServer

SERVER, DATABASE = "dp-sql-sec", "platform"
SERVER_ID = arm_id("Microsoft.Sql/servers", SERVER)
DATABASE_ID = f"{SERVER_ID}/databases/{DATABASE}"
FQDN = f"{SERVER}.database.windows.net"
DW_RECOVERED = ("sql/resource-manager/Microsoft.Sql/SQL/stable/2025-01-01/examples/"
                "CreateDwDatabaseCrossSubscriptionRecovery.json")


def catalog() -> dict[str, dict[str, Table]]:
    return {DATABASE: {
        "dbo.devices": Table(rows=4, checksum=1111, newest={"updated_at": datetime(2024, 5, 1, 9, 0)}),
        "dbo.events": Table(rows=120, checksum=-2222, newest={"updated_at": datetime(2024, 5, 1, 10, 30)}),
    }}


def probe(server: TdsServer, *, baseline: dict | None = None, with_database: bool = True, settings=None,
          status: str = "Online"):
    body = example_body(DW_RECOVERED)
    body["properties"]["status"] = status
    routes = [
        # No Microsoft.Sql server GET example is kept: a minimal body with the one field the checks read.
        Route("GET", SERVER_ID, body={"id": SERVER_ID, "name": SERVER, "location": "westus",
                                      "properties": {"fullyQualifiedDomainName": FQDN}}),
        Route("GET", DATABASE_ID, body=body),
    ]
    resources = [deployed(checks.SERVER, SERVER_ID)] + ([deployed(checks.DATABASE, DATABASE_ID)] if with_database else [])
    return service_probe(checks.COMPONENT, routes, resources, settings=settings, connectors={"sql": server},
                         baseline=baseline)[0]


def test_database_online_reads_the_restored_databases_status():
    assert checks.database_online(probe(TdsServer(catalog())))["status"] == "Online"
    with pytest.raises(PermanentError, match=f"SQL database {SERVER}/{DATABASE} is Paused, not Online"):
        checks.database_online(probe(TdsServer(catalog()), status="Paused"))


def test_select_1_signs_in_at_the_servers_fqdn_with_an_entra_token():
    server = TdsServer(catalog())
    evidence = checks.select_1(probe(server))
    assert evidence == {"host": FQDN, "database": DATABASE, "select_1": 1}
    assert server.sign_ins == [{"host": FQDN, "database": DATABASE, "token": "fake-token-for-tests"}]
    assert "fake-token" not in str(evidence)


def test_select_1_answering_anything_but_1_fails():
    with pytest.raises(PermanentError, match=r"SELECT 1 on .* answered \[\(0,\)\]"):
        checks.select_1(probe(TdsServer(catalog(), select_1=0)))


def test_a_refused_sign_in_fails_naming_the_server():
    refused = TdsServer(catalog(), refuse=DriverError("Login failed for user '<token-identified principal>'."))
    with pytest.raises(PermanentError, match=f"SQL sign-in to {FQDN}/{DATABASE}: Login failed"):
        checks.select_1(probe(refused))


def test_a_database_not_available_yet_is_worth_another_attempt():
    busy = TdsServer(catalog(), refuse=DriverError("Database 'platform' on server is not currently available. "
                                                   "Please retry the connection later. (40613)"))
    with pytest.raises(TransientError, match="40613"):
        checks.select_1(probe(busy))


def test_the_token_is_asked_for_azure_sqls_scope():
    checked = probe(TdsServer(catalog()))
    asked = []
    checked.credential.get_token = lambda *scopes, **kwargs: asked.extend(scopes) or FakeCredential().get_token()
    checks.select_1(checked)
    assert asked == [SQL_SCOPE]


def test_on_a_failover_groups_secondary_the_database_is_the_one_the_stack_names():
    from components.sql_database import SqlDatabaseSettings

    settings = SqlDatabaseSettings.model_validate({"adminLogin": "sql-admins", "database": DATABASE,
                                                   "adminObjectId": "00000000-0000-0000-0000-0000000000aa"})
    server = TdsServer(catalog())
    assert checks.database_online(probe(server, with_database=False, settings=settings))["status"] == "Online"
    assert checks.select_1(probe(server, with_database=False, settings=settings))["database"] == DATABASE


def test_a_database_the_deploy_did_not_record_and_the_stack_does_not_name_fails():
    with pytest.raises(PermanentError, match="recorded no Database"):
        checks.database_online(probe(TdsServer(catalog()), with_database=False))


def test_row_counts_without_a_baseline_hold_every_table_and_record_the_counts():
    mismatches, facts = checks.row_counts(probe(TdsServer(catalog())))
    assert mismatches == []
    assert facts["tables"] == {"dbo.devices": 4, "dbo.events": 120}
    assert facts["database"] == DATABASE


def test_row_counts_against_the_baseline_find_a_count_off_and_a_missing_table():
    _, recorded = checks.row_counts(probe(TdsServer(catalog())))
    now = catalog()
    now[DATABASE]["dbo.events"].rows = 119
    del now[DATABASE]["dbo.devices"]
    mismatches, _ = checks.row_counts(probe(TdsServer(now), baseline={"row-counts": recorded}))
    assert mismatches == ["dbo.devices: missing from database platform (recorded with rows 4)",
                          "dbo.events: rows 119, recorded 120"]


def test_an_empty_database_without_a_baseline_is_a_mismatch():
    mismatches, _ = checks.row_counts(probe(TdsServer({DATABASE: {}})))
    assert mismatches == ["no user table in database platform"]


def test_a_table_whose_count_fails_is_a_mismatch_and_the_others_are_still_counted():
    now = catalog()
    now[DATABASE]["dbo.events"].error = "The SELECT permission was denied on the object 'events'."
    mismatches, facts = checks.row_counts(probe(TdsServer(now)))
    assert mismatches == ["dbo.events: the rows query failed: The SELECT permission was denied on the object 'events'."]
    assert facts["tables"] == {"dbo.devices": 4}


def test_table_checksums_match_the_baseline_and_a_changed_one_fails():
    good = probe(TdsServer(catalog()))
    mismatches, recorded = checks.table_checksums(good)
    assert (mismatches, recorded["tables"]) == ([], {"dbo.devices": 1111, "dbo.events": -2222})
    assert any("CHECKSUM_AGG(BINARY_CHECKSUM(*)) FROM [dbo].[events]" in s for s in good.connectors["sql"].statements)
    changed = catalog()
    changed[DATABASE]["dbo.events"].checksum = 5
    mismatches, _ = checks.table_checksums(probe(TdsServer(changed), baseline={"table-checksums": recorded}))
    assert mismatches == ["dbo.events: checksum 5, recorded -2222"]


def test_max_updated_at_allows_newer_rows_but_not_older_ones():
    _, recorded = checks.max_updated_at(probe(TdsServer(catalog())))
    assert recorded["tables"]["dbo.events"] == "2024-05-01T10:30:00"
    newer = catalog()
    newer[DATABASE]["dbo.events"].newest["updated_at"] = datetime(2024, 5, 2)
    assert checks.max_updated_at(probe(TdsServer(newer), baseline={"max-updated-at": recorded}))[0] == []
    older = catalog()
    older[DATABASE]["dbo.events"].newest["updated_at"] = datetime(2024, 4, 30)
    mismatches, _ = checks.max_updated_at(probe(TdsServer(older), baseline={"max-updated-at": recorded}))
    assert mismatches == ["dbo.events: newest updated_at '2024-04-30T00:00:00', recorded '2024-05-01T10:30:00'"]


def test_max_updated_at_without_any_updated_at_column_cannot_give_a_watermark():
    mismatches, _ = checks.max_updated_at(probe(TdsServer({DATABASE: {"dbo.t": Table(rows=1)}})))
    assert mismatches == ["no user table in database platform has the column updated_at"]


def test_every_declared_check_runs_on_azure_and_says_what_it_was_tested_against():
    assert all(c.implemented and c.tested_against for c in checks.CHECKS)
