"""MySQL flexible server's checks: the server and its Entra administrator read through ARM (the real
resources client; no MySQL example is kept, so minimal GET bodies), the SQL through a DB-API double
(tests/smoke_tests/sql_doubles.py: no MySQL server installs here without root)."""

from __future__ import annotations

import ssl

import pytest

from components.mysql import MySqlSettings
from smoke_tests import mysql as checks
from smoke_tests.check import PermanentError, TransientError
from tests.azure_fixtures import Route
from tests.smoke_tests.probe_support import arm_id, deployed, service_probe
from tests.smoke_tests.sql_doubles import DriverError, MySqlServer, Table

SERVER_ID = arm_id("Microsoft.DBforMySQL/flexibleServers", "dp-mysql-sec")
ADMIN_ID = f"{SERVER_ID}/administrators/ActiveDirectory"
FQDN = "dp-mysql-sec.mysql.database.azure.com"
SETTINGS = MySqlSettings.model_validate({"adminLogin": "mysql-admins", "databases": ["platform"],
                                         "adminObjectId": "00000000-0000-0000-0000-0000000000bb"})


def catalog() -> dict[str, dict[str, Table]]:
    return {"platform": {"devices": Table(rows=4, checksum=901),
                         "events": Table(rows=60, checksum=902, newest={"ts": "2024-05-01T10:00:00"})}}


def probe(server: MySqlServer, *, state: str = "Ready", baseline: dict | None = None, settings=SETTINGS,
          resources: list | None = None):
    routes = [Route("GET", SERVER_ID, body={"id": SERVER_ID, "name": "dp-mysql-sec", "location": "westus",
                                            "properties": {"state": state, "fullyQualifiedDomainName": FQDN}}),
              Route("GET", ADMIN_ID, body={"id": ADMIN_ID, "name": "ActiveDirectory",
                                           "properties": {"administratorType": "ActiveDirectory",
                                                          "login": "mysql-admins"}})]
    recorded = resources if resources is not None else [deployed(checks.SERVER, SERVER_ID), deployed(checks.ADMIN, ADMIN_ID)]
    return service_probe(checks.COMPONENT, routes, recorded, settings=settings, connectors={"mysql": server},
                         baseline=baseline)[0]


def test_server_ready_passes_on_ready_and_fails_on_stopped():
    assert checks.server_ready(probe(MySqlServer(catalog())))["state"] == "Ready"
    with pytest.raises(PermanentError, match="state Stopped, not Ready"):
        checks.server_ready(probe(MySqlServer(catalog()), state="Stopped"))
    with pytest.raises(TransientError, match="state Starting"):
        checks.server_ready(probe(MySqlServer(catalog()), state="Starting"))


def test_select_1_signs_in_as_the_entra_administrator_with_the_token_as_password():
    server = MySqlServer(catalog())
    evidence = checks.select_1(probe(server))
    assert evidence["ok"] is True
    assert [c["check"] for c in evidence["checks"]] == ["SELECT 1", "database platform present"]
    assert server.sign_ins == [{"host": FQDN, "user": "mysql-admins", "password": "fake-token-for-tests"}]
    assert "fake-token" not in str(evidence)


def test_select_1_fails_when_a_database_the_stack_names_is_missing():
    evidence = checks.select_1(probe(MySqlServer({"other": {}})))
    assert evidence["ok"] is False
    assert {"check": "database platform present", "ok": False} in evidence["checks"]


def test_a_refused_sign_in_fails_and_an_unreachable_server_is_retried():
    with pytest.raises(PermanentError, match="Access denied"):
        checks.select_1(probe(MySqlServer(catalog(), refuse=DriverError(1045, "Access denied for user 'mysql-admins'"))))
    with pytest.raises(TransientError, match="Can't connect"):
        checks.select_1(probe(MySqlServer(catalog(), refuse=DriverError(2003, "Can't connect to MySQL server"))))


def test_row_counts_find_a_missing_table_and_a_count_off_against_the_baseline():
    mismatches, recorded = checks.row_counts(probe(MySqlServer(catalog())))
    assert (mismatches, recorded["tables"]) == ([], {"platform.devices": 4, "platform.events": 60})
    now = catalog()
    del now["platform"]["devices"]
    now["platform"]["events"].rows = 59
    mismatches, _ = checks.row_counts(probe(MySqlServer(now), baseline={"row-counts": recorded}))
    assert mismatches == ["platform.devices: missing from databases platform (recorded with rows 4)",
                          "platform.events: rows 59, recorded 60"]


def test_without_a_baseline_a_missing_database_is_a_mismatch():
    mismatches, _ = checks.row_counts(probe(MySqlServer({})))
    assert mismatches == ["platform: the rows query failed: database missing"]


def test_table_checksums_use_checksum_table_and_fail_on_a_changed_or_unreadable_table():
    server = MySqlServer(catalog())
    mismatches, recorded = checks.table_checksums(probe(server))
    assert (mismatches, recorded["tables"]) == ([], {"platform.devices": 901, "platform.events": 902})
    assert "CHECKSUM TABLE `platform`.`events`" in server.statements
    changed = catalog()
    changed["platform"]["events"].checksum = 7
    changed["platform"]["devices"].error = "Table 'platform.devices' doesn't exist in engine"
    mismatches, _ = checks.table_checksums(probe(MySqlServer(changed), baseline={"table-checksums": recorded}))
    assert mismatches == ["platform.devices: the checksum query failed: CHECKSUM TABLE gave NULL",
                          "platform.events: checksum 7, recorded 902"]


def test_max_timestamp_reads_ts_and_fails_when_it_went_back():
    mismatches, recorded = checks.max_timestamp(probe(MySqlServer(catalog())))
    assert (mismatches, recorded["tables"]) == ([], {"platform.events": "2024-05-01T10:00:00"})
    older = catalog()
    older["platform"]["events"].newest["ts"] = "2024-04-30T23:00:00"
    mismatches, _ = checks.max_timestamp(probe(MySqlServer(older), baseline={"max-timestamp": recorded}))
    assert mismatches == ["platform.events: newest ts '2024-04-30T23:00:00', recorded '2024-05-01T10:00:00'"]


def test_by_hand_without_settings_it_signs_in_as_arms_administrator_and_checks_every_user_database():
    server = MySqlServer({**catalog(), "sales": {"orders": Table(rows=2)}})
    mismatches, facts = checks.row_counts(probe(server, settings=None))
    assert mismatches == []
    assert facts["tables"] == {"platform.devices": 4, "platform.events": 60, "sales.orders": 2}
    assert server.sign_ins[0]["user"] == "mysql-admins"


def test_the_default_connection_verifies_the_servers_certificate_and_name(monkeypatch):
    import pymysql

    opened = {}
    monkeypatch.setattr(pymysql, "connect", lambda **kwargs: opened.update(kwargs) or "conn")
    assert checks.open_with_entra_token(host=FQDN, user="mysql-admins", password="tok") == "conn"
    context = opened["ssl"]
    assert isinstance(context, ssl.SSLContext)
    assert context.verify_mode == ssl.CERT_REQUIRED and context.check_hostname
    assert (opened["host"], opened["port"], opened["user"], opened["password"]) == (FQDN, 3306, "mysql-admins", "tok")
