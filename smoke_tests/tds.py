"""SQL over TDS for the SQL Server family's checks (Azure SQL Database, SQL Managed Instance,
Synapse's dedicated SQL pool, SQL Server on a recovered VM): sign in with drctl's Entra token, then
`SELECT 1` and one fact of every user table.

Every server drctl deploys is Entra-only (no SQL login, no password), so the driver must send an
access token in TDS's federated-authentication login. pymssql cannot: FreeTDS, which it wraps, has
no federated authentication (github.com/FreeTDS/freetds/issues/509) and pymssql.connect takes no
token. Microsoft's own driver, mssql-python (with mssql-python-odbc, the ODBC Driver 18 it loads,
and the system's libltdl7), takes one as `token_provider` and asks it for the
https://database.windows.net/.default scope. So the default connection is mssql-python's, imported
when a check first connects; where it is not installed the check fails saying so. The seam is
`probe.connector("sql", default)`: called as `(host=, database=, token=)`, it returns a DB-API
connection, and tests put a double there (no SQL Server installs here).

Queries take no parameters (the drivers disagree on paramstyle): identifiers come from the
server's own catalog and are bracket-quoted, and column names are this code's constants.
"""

from __future__ import annotations

import importlib
import re
from collections.abc import Callable, Iterator, Sequence
from contextlib import closing, contextmanager
from typing import TYPE_CHECKING, Any

from smoke_tests.check import TRANSPORT_DOUBLE, PermanentError, TransientError
from smoke_tests.probe import ServiceProbe
from smoke_tests.table_facts import Gathered, equal, first_line, judge, plain

if TYPE_CHECKING:  # azure.core is imported when a check runs: preview and plan declare checks, run none
    from azure.core.credentials import AccessToken

SQL_SCOPE = "https://database.windows.net/.default"
# What these checks' tests run against: no SQL Server installs here without root.
DOUBLE = TRANSPORT_DOUBLE + "a DB-API connection answering the checks' T-SQL (no SQL Server runs here)"
PORT = 1433
NO_DRIVER = ("no TDS driver here can sign in with an Entra token: pymssql (FreeTDS) has no federated "
             "authentication; install mssql-python and mssql-python-odbc (and the system's libltdl7)")
# Azure SQL's "try again" errors (database not available yet, throttled, failover in progress) and timeouts.
TRANSIENT = re.compile(r"\b(40613|40197|40501|49918|49919|49920|10928|10929|10053|10054|10060|4060)\b"
                       r"|time ?out|timed out|TCP Provider", re.IGNORECASE)
COLUMN = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")

# Per table, one expression over its rows (the checks' facts).
COUNT = "COUNT_BIG(*)"
# BINARY_CHECKSUM over every comparable column of a row, aggregated order-independently: equal
# content gives equal values on any SQL Server; text/ntext/image/xml columns are left out by
# BINARY_CHECKSUM itself, and collisions are possible (it is a checksum, not a hash).
CHECKSUM = "CHECKSUM_AGG(BINARY_CHECKSUM(*))"


class _Token:
    """A token provider as mssql-python asks for one, holding the token drctl already has."""

    def __init__(self, token: str) -> None:
        self._token = token

    def get_token(self, *scopes: str, **kwargs: Any) -> AccessToken:
        from azure.core.credentials import AccessToken

        return AccessToken(self._token, 0)


def open_with_entra_token(host: str, database: str, token: str) -> Any:
    try:
        driver = importlib.import_module("mssql_python")
    except (ImportError, OSError) as missing:
        raise PermanentError(NO_DRIVER, {"host": host, "database": database}) from missing
    return driver.connect(f"Server=tcp:{host},{PORT};Database={database};Encrypt=yes;TrustServerCertificate=no",
                          token_provider=_Token(token), timeout=30)


@contextmanager
def connect(source: ServiceProbe, host: str, database: str) -> Iterator[Any]:
    opener = source.connector("sql", open_with_entra_token)
    what = f"SQL sign-in to {host}/{database}"
    try:
        connection = opener(host=host, database=database, token=source.token(SQL_SCOPE))
    except (PermanentError, TransientError):
        raise
    except Exception as error:  # each driver raises its own DB-API error classes
        reason = first_line(error)
        if TRANSIENT.search(reason):
            raise TransientError(f"{what}: {reason}") from error
        raise PermanentError(f"{what}: {reason}", {"host": host, "database": database}) from error
    with closing(connection):
        yield connection


def rows(connection: Any, statement: str) -> list[tuple]:
    with closing(connection.cursor()) as cursor:
        cursor.execute(statement)
        return [tuple(row) for row in cursor.fetchall()]


def quote(name: str) -> str:
    return "[" + name.replace("]", "]]") + "]"


def select_1(source: ServiceProbe, host: str, database: str) -> dict:
    with connect(source, host, database) as connection:
        got = rows(connection, "SELECT 1")
    if got != [(1,)]:
        raise PermanentError(f"SELECT 1 on {host}/{database} answered {got[:1]!r}", {"host": host, "database": database})
    return {"host": host, "database": database, "select_1": 1}


def user_databases(connection: Any) -> tuple[list[str], dict[str, str]]:
    """(online user databases, the others with their state): on SQL Server and Managed Instance
    database ids 1-4 are master, tempdb, model and msdb."""
    found = rows(connection, "SELECT name, state_desc FROM sys.databases WHERE database_id > 4 ORDER BY name")
    return ([str(n) for n, s in found if s == "ONLINE"], {str(n): f"state {s}, not ONLINE" for n, s in found if s != "ONLINE"})


def _tables(connection: Any, database: str | None, column: str | None) -> list[tuple[str, str]]:
    at = f"{quote(database)}." if database else ""
    statement = (f"SELECT s.name, t.name FROM {at}sys.tables AS t JOIN {at}sys.schemas AS s ON s.schema_id = t.schema_id"
                 " WHERE t.is_ms_shipped = 0")
    if column is not None:
        if not COLUMN.fullmatch(column):
            raise ValueError(f"not a plain column name: {column!r}")
        statement += f" AND EXISTS (SELECT 1 FROM {at}sys.columns AS c WHERE c.object_id = t.object_id AND c.name = N'{column}')"
    return [(str(s), str(t)) for s, t in rows(connection, statement + " ORDER BY s.name, t.name")]


def gather(connection: Any, expression: str, databases: Sequence[str | None] = (None,), *,
           column: str | None = None) -> Gathered:
    """`expression` (COUNT, CHECKSUM, or MAX over `column`) of every user table of each database:
    None is the connection's own database (tables keyed schema.table), a name reaches another
    database of the same server by three-part names (keyed database.schema.table). With `column`,
    only the tables that have it."""
    got = Gathered()
    for database in databases:
        at = f"{quote(database)}." if database else ""
        for schema, table in _tables(connection, database, column):
            key = f"{database + '.' if database else ''}{schema}.{table}"
            try:
                value = rows(connection, f"SELECT {expression} FROM {at}{quote(schema)}.{quote(table)}")[0][0]
            except Exception as error:  # a table whose query fails is a finding, not the end of the check
                got.failed[key] = first_line(error)
                continue
            got.values[key] = plain(value)
    return got


def gather_all(connection: Any, expression: str, *, column: str | None = None) -> Gathered:
    """`gather` over every online user database of the server (a Managed Instance, SQL Server on a
    VM); a user database in any other state is a failed entry."""
    online, others = user_databases(connection)
    got = gather(connection, expression, online, column=column)
    got.failed.update(others)
    return got


def newest(column: str) -> str:
    if not COLUMN.fullmatch(column):
        raise ValueError(f"not a plain column name: {column!r}")
    return f"MAX({quote(column)})"


def table_check(source: ServiceProbe, host: str, database: str, recorded: Any, fact: str, expression: str, *,
                column: str | None = None, same: Callable[[Any, Any], bool] = equal,
                every_database: bool = False) -> tuple[list[str], dict]:
    """A data check's (mismatches, facts): `expression` over every user table of `database`, or of
    every user database of the server (`every_database`, signed in to `database`, e.g. master),
    judged against `recorded` (the check's facts from before the disaster; None: the invariant)."""
    with connect(source, host, database) as connection:
        got = gather_all(connection, expression, column=column) if every_database else \
            gather(connection, expression, column=column)
    where = f"the user databases of {host}" if every_database else f"database {database}"
    none_found = f"no user table in {where} has the column {column}" if column else None
    mismatches = judge(fact, got, recorded, where=where, same=same, none_found=none_found)
    return mismatches, got.facts(host=host, **({} if every_database else {"database": database}),
                                 **({"column": column} if column else {}))
