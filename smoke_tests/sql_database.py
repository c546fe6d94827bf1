"""Azure SQL Database's checks, all on Azure.

- `database-online` (management): after the geo-restore (the deploy step, create_mode Recovery) the
  database must report status Online; a status on its way there is worth waiting for, anything else
  is a verdict.
- `select-1` (data): drctl signs in to the server with its Entra token over TDS (smoke_tests/tds.py)
  and runs SELECT 1 in the database.
- data checks, over every user table of that database: `row-counts` (COUNT_BIG(*)),
  `table-checksums` (CHECKSUM_AGG(BINARY_CHECKSUM(*))) and `max-updated-at` (the newest value of
  each table's `updated_at` column, the platform's convention for a row's last change: the stack
  names no column). Each is judged against its facts recorded before the disaster when there are
  some, else on the invariant of smoke_tests/table_facts.py.

The checks take the generic ServiceProbe: the server's address is its fullyQualifiedDomainName as
ARM returns it, and the database is the one the deploy step recorded, not names built here.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from smoke_tests import tds
from smoke_tests.check import AZURE, SPEC_EXAMPLES, PermanentError, TransientError, data, smoke
from smoke_tests.probe import ServiceProbe
from smoke_tests.table_facts import not_older

COMPONENT = "sql_database"
SERVER = "azure-native:sql:Server"
DATABASE = "azure-native:sql:Database"
COMING_ONLINE = frozenset({"Creating", "Restoring", "Recovering", "Copying", "Scaling", "Resuming", "Starting",
                           "OnlineChangingDwPerformanceTiers"})
UPDATED_AT = "updated_at"


def database_resource(probe: ServiceProbe) -> Mapping[str, Any]:
    """The deployed database; on a failover group's secondary, which deploys none (the group seeds
    the geo-secondary), the database the stack names (`sqlDatabase.database`) on its server."""
    found = probe.resources_of(DATABASE)
    if found:
        return found[0]
    if probe.settings is not None and probe.resources_of(SERVER):
        return {"type": DATABASE, "id": f"{probe.resource(SERVER)['id']}/databases/{probe.settings.database}"}
    return probe.resource(DATABASE)  # fails naming what the deploy did not record


def _target(probe: ServiceProbe) -> tuple[str, str]:
    """(the server's fullyQualifiedDomainName as ARM returns it, the database's name)."""
    host = probe.properties(SERVER).get("fullyQualifiedDomainName")
    if not host:
        raise PermanentError("sql database: the server has no fullyQualifiedDomainName")
    return str(host), str(database_resource(probe)["id"]).rsplit("/", 1)[-1]


def database_online(probe: ServiceProbe) -> dict:
    resource = database_resource(probe)
    what = f"SQL database {'/'.join(str(resource['id']).split('/')[-3::2])}"
    got = probe.get(resource)
    properties = got.get("properties") or {}
    status = properties.get("status")
    evidence = {"database_id": got.get("id"), "status": status, "location": got.get("location"),
                "backup_storage_redundancy": properties.get("currentBackupStorageRedundancy")}
    if status == "Online":
        return evidence
    if status in COMING_ONLINE:
        raise TransientError(f"{what} is {status}, not Online yet")
    raise PermanentError(f"{what} is {status}, not Online", evidence)


def select_1(probe: ServiceProbe) -> dict:
    return tds.select_1(probe, *_target(probe))


def _table_check(probe: ServiceProbe, check: str, fact: str, expression: str, **how: Any) -> tuple[list[str], dict]:
    host, database = _target(probe)
    return tds.table_check(probe, host, database, probe.baseline.get(check), fact, expression, **how)


def row_counts(probe: ServiceProbe) -> tuple[list[str], dict]:
    """Every user table's COUNT_BIG(*): equal to the recorded counts, or (none recorded) each answers."""
    return _table_check(probe, "row-counts", "rows", tds.COUNT)


def table_checksums(probe: ServiceProbe) -> tuple[list[str], dict]:
    """Every user table's CHECKSUM_AGG(BINARY_CHECKSUM(*)): equal to the recorded ones, or each answers."""
    return _table_check(probe, "table-checksums", "checksum", tds.CHECKSUM)


def max_updated_at(probe: ServiceProbe) -> tuple[list[str], dict]:
    """The newest `updated_at` of every table that has one: never older than recorded (newer is
    replayed data); none recorded, at least one table must have the column to give the watermark."""
    return _table_check(probe, "max-updated-at", "newest updated_at", tds.newest(UPDATED_AT), column=UPDATED_AT,
                        same=not_older)


CHECKS = (
    smoke(COMPONENT, "database-online", database_online, AZURE, plane="management",
          tested_against=SPEC_EXAMPLES),
    smoke(COMPONENT, "select-1", select_1, AZURE, tested_against=tds.DOUBLE),
    data(COMPONENT, "row-counts", row_counts, AZURE, tested_against=tds.DOUBLE),
    data(COMPONENT, "table-checksums", table_checksums, AZURE, tested_against=tds.DOUBLE),
    data(COMPONENT, "max-updated-at", max_updated_at, AZURE, tested_against=tds.DOUBLE),
)
