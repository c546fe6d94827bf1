"""Azure SQL Database's checks. `database-online` runs on Azure: after the geo-restore (the deploy
step, create_mode Recovery) the database must report status Online; a status on its way there is
worth waiting for, anything else is a verdict."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from smoke_tests.check import AZURE, SPEC_EXAMPLES, Call, PermanentError, TransientError, data, enum_text, smoke

COMPONENT = "sql_database"
COMING_ONLINE = frozenset({"Creating", "Restoring", "Recovering", "Copying", "Scaling", "Resuming", "Starting",
                           "OnlineChangingDwPerformanceTiers"})


@dataclass(frozen=True)
class SqlDatabaseProbe:
    call: Call
    sql: Any  # azure.mgmt.sql.SqlManagementClient
    resource_group: str
    server: str
    database: str


def database_online(probe: SqlDatabaseProbe) -> dict:
    what = f"SQL database {probe.server}/{probe.database}"
    db = probe.call(what, probe.sql.databases.get, probe.resource_group, probe.server, probe.database)
    status = enum_text(db.status)
    evidence = {"database_id": db.id, "status": status, "location": db.location,
                "backup_storage_redundancy": enum_text(getattr(db, "current_backup_storage_redundancy", None))}
    if status == "Online":
        return evidence
    if status in COMING_ONLINE:
        raise TransientError(f"{what} is {status}, not Online yet")
    raise PermanentError(f"{what} is {status}, not Online", evidence)


CHECKS = (
    smoke(COMPONENT, "database-online", database_online, AZURE, plane="management",
          tested_against=SPEC_EXAMPLES),
    smoke(COMPONENT, "select-1"),
    data(COMPONENT, "row-counts"),
    data(COMPONENT, "table-checksums"),
    data(COMPONENT, "max-updated-at"),
)
