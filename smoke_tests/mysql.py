"""Azure Database for MySQL flexible server: the checks its DR profile declares, all on Azure.

- `server-ready` (management): the deployed server's `state` is Ready (a geo-restore leaves it
  Provisioning/Starting first; Stopped or Disabled is a verdict).
- `select-1` (data): drctl signs in with pymysql over verified TLS, as the server's Entra
  administrator (its login as ARM has it, which is `mysql.adminLogin`: drctl's principal must be
  that user or in that group) with its Entra
  access token (scope https://ossrdbms-aad.database.windows.net/.default) as the password, which the
  server takes through the mysql_clear_password plugin, hence TLS only. It runs SELECT 1 and finds
  every database the stack names (`mysql.databases`; without the stack's settings, as when run by
  hand, those the deploy created, else every user database).
- data checks, over every base table of those databases: `row-counts` (COUNT(*)),
  `table-checksums` (CHECKSUM TABLE: a live checksum over every row, which depends on the table's
  row format and MySQL version, so it is compared only with one the same server gave) and
  `max-timestamp` (the newest `ts`, the platform's event-time column, of every table that has one).
  Judged against the facts recorded before the disaster when there are some, else on the invariant
  of smoke_tests/table_facts.py, where a named database that is missing is a mismatch.

The host is the server's fullyQualifiedDomainName from ARM. The connection is opened through
`probe.connector("mysql", open_with_entra_token)`, called as (host=, user=, password=): tests put a
DB-API double there (no MySQL server installs here without root).
"""

from __future__ import annotations

import ssl
from collections.abc import Iterator
from contextlib import closing, contextmanager
from typing import Any

from smoke_tests.check import AZURE, TRANSPORT_DOUBLE, PermanentError, TransientError, data, smoke
from smoke_tests.probe import IN_PROGRESS, ServiceProbe, provisioned
from smoke_tests.table_facts import Gathered, equal, first_line, judge, not_older, plain

COMPONENT = "mysql"
SERVER = "azure-native:dbformysql:Server"
ADMIN = "azure-native:dbformysql:AzureADAdministrator"
DATABASE = "azure-native:dbformysql:Database"
SYSTEM_SCHEMAS = frozenset({"information_schema", "mysql", "performance_schema", "sys"})
SCOPE = "https://ossrdbms-aad.database.windows.net/.default"
TIMESTAMP = "ts"
# Can't connect, server gone away or lost mid-query, too many connections: worth another attempt.
TRANSIENT_CODES = frozenset({1040, 1205, 2002, 2003, 2006, 2013})
ARM_DOUBLE = TRANSPORT_DOUBLE + "no MySQL flexible server example in the specs kept here: a minimal GET body"
SQL_DOUBLE = TRANSPORT_DOUBLE + "a DB-API connection answering the checks' SQL (no MySQL server runs here)"


def open_with_entra_token(host: str, user: str, password: str) -> Any:
    import pymysql  # type: ignore[import-untyped]  # ships no type stubs

    # A default context verifies the certificate and the host name; pymysql's own ssl options
    # without a CA file turn the host name check off.
    return pymysql.connect(host=host, port=3306, user=user, password=password, ssl=ssl.create_default_context(),
                           connect_timeout=30, autocommit=True)


def server_ready(probe: ServiceProbe) -> dict:
    return provisioned(probe, SERVER, "state", frozenset({"Ready"}), IN_PROGRESS | {"Restoring"})


def _user(probe: ServiceProbe) -> str:
    """The server's Entra administrator as ARM has it (the deploy records it), else the stack's."""
    if probe.resources_of(ADMIN):
        login = probe.properties(ADMIN).get("login")
        if login:
            return str(login)
    if probe.settings is not None:
        return str(probe.settings.admin_login)
    raise PermanentError("mysql: no Entra administrator recorded by the deploy nor named by the stack to sign in as")


def _wanted(probe: ServiceProbe) -> list[str] | None:
    """The databases the stack names, else those the deploy created; None: every user database."""
    if probe.settings is not None:
        return list(probe.settings.databases)
    created = [str(r["id"]).rsplit("/", 1)[-1] for r in probe.resources_of(DATABASE)]
    return created or None


@contextmanager
def _connect(probe: ServiceProbe) -> Iterator[Any]:
    host = str(probe.properties(SERVER).get("fullyQualifiedDomainName") or "")
    if not host:
        raise PermanentError("mysql: the server has no fullyQualifiedDomainName")
    opener = probe.connector("mysql", open_with_entra_token)
    try:
        connection = opener(host=host, user=_user(probe), password=probe.token(SCOPE))
    except (PermanentError, TransientError):
        raise
    except Exception as error:  # pymysql's DB-API errors carry (code, message)
        code = error.args[0] if error.args and isinstance(error.args[0], int) else None
        kind = TransientError if code in TRANSIENT_CODES else PermanentError
        raise kind(f"mysql sign-in to {host}: {first_line(error)}") from error
    with closing(connection):
        yield connection


def _rows(connection: Any, statement: str, args: tuple = ()) -> list[tuple]:
    with closing(connection.cursor()) as cursor:
        cursor.execute(statement, args)
        return [tuple(row) for row in cursor.fetchall()]


def _quote(name: str) -> str:
    return "`" + name.replace("`", "``") + "`"


def _databases(connection: Any, wanted: list[str] | None) -> tuple[list[str], list[str]]:
    """(the wanted databases the server has, those it lacks); wanted None: every user database."""
    found = sorted(str(r[0]) for r in _rows(connection, "SELECT schema_name FROM information_schema.schemata"))
    if wanted is None:
        return [d for d in found if d not in SYSTEM_SCHEMAS], []
    return [d for d in wanted if d in found], [d for d in wanted if d not in found]


def select_1(probe: ServiceProbe) -> dict:
    wanted = _wanted(probe)
    with _connect(probe) as connection:
        one = _rows(connection, "SELECT 1")
        present, missing = _databases(connection, wanted)
    checks = [{"check": "SELECT 1", "ok": one == [(1,)]}]
    checks += [{"check": f"database {d} present", "ok": d not in missing} for d in wanted or present]
    return {"ok": all(c["ok"] for c in checks), "checks": checks}


def _gather(connection: Any, databases: list[str], fact: str) -> Gathered:
    got = Gathered()
    for database in databases:
        statement = ("SELECT table_name FROM information_schema.tables WHERE table_schema = %s "
                     "AND table_type = 'BASE TABLE'")
        if fact == "newest ts":
            statement += (" AND table_name IN (SELECT table_name FROM information_schema.columns "
                          "WHERE table_schema = %s AND column_name = %s)")
        args = (database, database, TIMESTAMP) if fact == "newest ts" else (database,)
        for (table,) in _rows(connection, statement + " ORDER BY table_name", args):
            key, name = f"{database}.{table}", f"{_quote(database)}.{_quote(str(table))}"
            try:
                got.values[key] = plain(_fact(connection, name, fact))
            except Exception as error:  # a table whose query fails is a finding, not the end of the check
                got.failed[key] = first_line(error)
    return got


def _fact(connection: Any, name: str, fact: str) -> Any:
    if fact == "rows":
        return _rows(connection, f"SELECT COUNT(*) FROM {name}")[0][0]
    if fact == "checksum":
        checksum = _rows(connection, f"CHECKSUM TABLE {name}")[0][1]
        if checksum is None:  # MySQL's answer for a table it cannot read, with only a warning
            raise PermanentError("CHECKSUM TABLE gave NULL")
        return checksum
    return _rows(connection, f"SELECT MAX({_quote(TIMESTAMP)}) FROM {name}")[0][0]


def _table_check(probe: ServiceProbe, check: str, fact: str, same: Any = equal) -> tuple[list[str], dict]:
    wanted = _wanted(probe)
    with _connect(probe) as connection:
        present, missing = _databases(connection, wanted)
        got = _gather(connection, present, fact)
    got.failed.update({d: "database missing" for d in missing})
    where = f"databases {', '.join(wanted)}" if wanted else "the server's user databases"
    none_found = f"no table of {where} has the column {TIMESTAMP}" if fact == "newest ts" else None
    mismatches = judge(fact, got, probe.baseline.get(check), where=where, same=same, none_found=none_found)
    return mismatches, got.facts(databases=wanted or present, **({"column": TIMESTAMP} if fact == "newest ts" else {}))


def row_counts(probe: ServiceProbe) -> tuple[list[str], dict]:
    """Every base table's COUNT(*): equal to the recorded counts, or (none recorded) each answers."""
    return _table_check(probe, "row-counts", "rows")


def table_checksums(probe: ServiceProbe) -> tuple[list[str], dict]:
    """Every base table's CHECKSUM TABLE: equal to the recorded ones, or (none recorded) each answers."""
    return _table_check(probe, "table-checksums", "checksum")


def max_timestamp(probe: ServiceProbe) -> tuple[list[str], dict]:
    """The newest `ts` of every table that has one: never older than recorded (newer is replayed
    data); none recorded, at least one table must have the column to give the watermark."""
    return _table_check(probe, "max-timestamp", "newest ts", not_older)


CHECKS = (
    smoke(COMPONENT, "server-ready", server_ready, AZURE, plane="management", tested_against=ARM_DOUBLE),
    smoke(COMPONENT, "select-1", select_1, AZURE, tested_against=SQL_DOUBLE),
    data(COMPONENT, "row-counts", row_counts, AZURE, tested_against=SQL_DOUBLE),
    data(COMPONENT, "table-checksums", table_checksums, AZURE, tested_against=SQL_DOUBLE),
    data(COMPONENT, "max-timestamp", max_timestamp, AZURE, tested_against=SQL_DOUBLE),
)
