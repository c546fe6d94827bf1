"""Azure SQL Database's checks, all on Azure.

- `database-online` (management): after the geo-restore (the deploy step, create_mode Recovery) the
  database must report status Online; a status on its way there is worth waiting for, anything else
  is a verdict.
- `select-1` (data): drctl signs in to the server with its Entra token over TDS (smoke_tests/tds.py)
  and runs SELECT 1 in the stack's database (`sqlDatabase.database`).
- data checks, over every user table of that database: `row-counts` (COUNT_BIG(*)),
  `table-checksums` (CHECKSUM_AGG(BINARY_CHECKSUM(*))) and `max-updated-at` (the newest value of
  each table's `updated_at` column, the platform's convention for a row's last change: the stack
  names no column). Each is judged against its facts recorded before the disaster when there are
  some, else on the invariant of smoke_tests/table_facts.py.

The server's address is its fullyQualifiedDomainName as ARM returns it, not a name built here.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from smoke_tests import tds
from smoke_tests.check import (
    AZURE,
    SPEC_EXAMPLES,
    Call,
    PermanentError,
    TransientError,
    data,
    enum_text,
    smoke,
)
from smoke_tests.table_facts import not_older

COMPONENT = "sql_database"
COMING_ONLINE = frozenset({"Creating", "Restoring", "Recovering", "Copying", "Scaling", "Resuming", "Starting",
                           "OnlineChangingDwPerformanceTiers"})
UPDATED_AT = "updated_at"


@dataclass(frozen=True)
class SqlDatabaseProbe:
    call: Call
    sql: Any  # azure.mgmt.sql.SqlManagementClient
    resource_group: str
    server: str
    database: str
    credential: Any = None  # an azure-core TokenCredential, for the TDS sign-in
    connectors: Mapping[str, Callable[..., Any]] = field(default_factory=dict)  # tests: {"sql": a double}
    baseline: Mapping[str, Any] = field(default_factory=dict)  # facts recorded before, by check name

    def connector(self, name: str, default: Callable[..., Any]) -> Callable[..., Any]:
        return self.connectors.get(name, default)

    def token(self, scope: str) -> str:
        if self.credential is None:
            raise PermanentError(f"{COMPONENT}: no credential to sign in to {self.server} with")
        return str(self.credential.get_token(scope).token)

    def host(self) -> str:
        server = self.call(f"SQL server {self.server}", self.sql.servers.get, self.resource_group, self.server)
        fqdn = getattr(server, "fully_qualified_domain_name", None)
        if not fqdn:
            raise PermanentError(f"SQL server {self.server} has no fullyQualifiedDomainName", {"server_id": server.id})
        return str(fqdn)


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


def select_1(probe: SqlDatabaseProbe) -> dict:
    return tds.select_1(probe, probe.host(), probe.database)


def _table_check(probe: SqlDatabaseProbe, check: str, fact: str, expression: str, **how: Any) -> tuple[list[str], dict]:
    return tds.table_check(probe, probe.host(), probe.database, probe.baseline.get(check), fact, expression, **how)


def row_counts(probe: SqlDatabaseProbe) -> tuple[list[str], dict]:
    """Every user table's COUNT_BIG(*): equal to the recorded counts, or (none recorded) each answers."""
    return _table_check(probe, "row-counts", "rows", tds.COUNT)


def table_checksums(probe: SqlDatabaseProbe) -> tuple[list[str], dict]:
    """Every user table's CHECKSUM_AGG(BINARY_CHECKSUM(*)): equal to the recorded ones, or each answers."""
    return _table_check(probe, "table-checksums", "checksum", tds.CHECKSUM)


def max_updated_at(probe: SqlDatabaseProbe) -> tuple[list[str], dict]:
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
