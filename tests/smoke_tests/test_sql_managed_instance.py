"""SQL Managed Instance's checks: the instance read through ARM (the real resources client; no
managed instance example is kept, so a minimal GET body), the SQL through the DB-API double."""

from __future__ import annotations

import pytest

from smoke_tests import sql_managed_instance as checks
from smoke_tests.check import PermanentError, TransientError
from tests.azure_fixtures import Route
from tests.smoke_tests.probe_support import arm_id, deployed, service_probe
from tests.smoke_tests.sql_doubles import DriverError, Table, TdsServer

INSTANCE_ID = arm_id("Microsoft.Sql/managedInstances", "dp-sqlmi-sec")
FQDN = "dp-sqlmi-sec.0123abcd.database.windows.net"


def instance(state: str = "Ready") -> dict:
    return {"id": INSTANCE_ID, "name": "dp-sqlmi-sec", "location": "westus",
            "properties": {"state": state, "provisioningState": "Succeeded", "fullyQualifiedDomainName": FQDN}}


def catalog() -> dict[str, dict[str, Table]]:
    return {"master": {}, "platform": {"dbo.events": Table(rows=50, newest={"ts": "2024-05-01T10:00:00"}),
                                       "dbo.devices": Table(rows=3)}}


def probe(server: TdsServer, state: str = "Ready", baseline: dict | None = None):
    return service_probe(checks.COMPONENT, [Route("GET", INSTANCE_ID, body=instance(state))],
                         [deployed(checks.INSTANCE, INSTANCE_ID)], connectors={"sql": server}, baseline=baseline)[0]


def test_managed_instance_ready_passes_on_ready():
    assert checks.managed_instance_ready(probe(TdsServer(catalog())))["state"] == "Ready"


def test_a_stopped_instance_fails_and_a_starting_one_is_waited_for():
    with pytest.raises(PermanentError, match="state Stopped, not Ready"):
        checks.managed_instance_ready(probe(TdsServer(catalog()), "Stopped"))
    with pytest.raises(TransientError, match="state Starting"):
        checks.managed_instance_ready(probe(TdsServer(catalog()), "Starting"))


def test_select_1_signs_in_to_master_at_the_instances_fqdn():
    server = TdsServer(catalog())
    assert checks.select_1(probe(server))["select_1"] == 1
    assert server.sign_ins[0]["host"] == FQDN and server.sign_ins[0]["database"] == "master"


def test_row_counts_cover_every_user_database():
    mismatches, facts = checks.row_counts(probe(TdsServer(catalog())))
    assert mismatches == []
    assert facts["tables"] == {"platform.dbo.devices": 3, "platform.dbo.events": 50}


def test_row_counts_find_a_missing_table_and_a_count_off_against_the_baseline():
    _, recorded = checks.row_counts(probe(TdsServer(catalog())))
    now = catalog()
    del now["platform"]["dbo.devices"]
    now["platform"]["dbo.events"].rows = 49
    mismatches, _ = checks.row_counts(probe(TdsServer(now), baseline={"row-counts": recorded}))
    assert mismatches == ["platform.dbo.devices: missing from the user databases of "
                          f"{FQDN} (recorded with rows 3)", "platform.dbo.events: rows 49, recorded 50"]


def test_a_user_database_still_restoring_is_a_mismatch():
    mismatches, _ = checks.row_counts(probe(TdsServer(catalog(), states={"sales": "RESTORING"})))
    assert mismatches == ["sales: the rows query failed: state RESTORING, not ONLINE"]


def test_max_timestamp_reads_ts_and_fails_when_it_went_back():
    _, recorded = checks.max_timestamp(probe(TdsServer(catalog())))
    assert recorded["tables"] == {"platform.dbo.events": "2024-05-01T10:00:00"}
    older = catalog()
    older["platform"]["dbo.events"].newest["ts"] = "2024-04-01T00:00:00"
    mismatches, _ = checks.max_timestamp(probe(TdsServer(older), baseline={"max-timestamp": recorded}))
    assert mismatches == ["platform.dbo.events: newest ts '2024-04-01T00:00:00', recorded '2024-05-01T10:00:00'"]


def test_select_1_fails_when_the_instance_refuses_the_sign_in():
    refused = TdsServer(catalog(), refuse=DriverError("Login failed for user '<token-identified principal>'."))
    with pytest.raises(PermanentError, match=f"SQL sign-in to {FQDN}/master: Login failed"):
        checks.select_1(probe(refused))
