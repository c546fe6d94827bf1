"""DB-API doubles for the database checks: no SQL Server or MySQL server installs here without root,
so the checks' connections are replaced (probe connectors "sql" and "mysql") by in-memory catalogs
that answer exactly the statements the checks send, and fail on any other (an unexpected statement is
a test failure, not a silent empty answer). Every statement and the sign-in's arguments are recorded.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any


@dataclass
class Table:
    rows: int = 0
    checksum: int | None = None
    newest: dict[str, Any] = field(default_factory=dict)  # column -> its MAX(); a table has those columns
    error: str | None = None  # what any query of its rows raises (a damaged or unreadable table)


class DriverError(Exception):
    """Stands for a driver's DB-API error (mssql_python.ProgrammingError, pymysql.err.OperationalError)."""


Catalog = dict[str, dict[str, Table]]  # database -> "schema.table" (T-SQL) or "table" (MySQL) -> Table


class _Cursor:
    def __init__(self, server: Any, database: str) -> None:
        self.server, self.database, self.result = server, database, []

    def execute(self, statement: str, args: tuple = ()) -> None:
        self.server.statements.append(statement)
        self.result = self.server.answer(self.database, " ".join(statement.split()), tuple(args))

    def fetchall(self) -> list[tuple]:
        return list(self.result)

    def close(self) -> None:
        pass


class _Connection:
    def __init__(self, server: Any, database: str) -> None:
        self.server, self.database, self.closed = server, database, False

    def cursor(self) -> _Cursor:
        return _Cursor(self.server, self.database)

    def close(self) -> None:
        self.closed = True


def _table(catalog: Catalog, database: str, name: str) -> Table:
    table = catalog.get(database, {}).get(name)
    if table is None:
        raise DriverError(f"Invalid object name '{database}.{name}'.")
    if table.error:
        raise DriverError(table.error)
    return table


class TdsServer:
    """An Azure SQL / Managed Instance / Synapse pool / SQL Server catalog, answering smoke_tests/tds.py."""

    def __init__(self, catalog: Catalog, states: dict[str, str] | None = None, *, select_1: Any = 1,
                 refuse: Exception | None = None) -> None:
        self.catalog, self.states, self.select_1, self.refuse = catalog, states or {}, select_1, refuse
        self.statements: list[str] = []
        self.sign_ins: list[dict[str, Any]] = []

    def __call__(self, **sign_in: Any) -> _Connection:
        self.sign_ins.append(sign_in)
        if self.refuse is not None:
            raise self.refuse
        return _Connection(self, sign_in["database"])

    def answer(self, database: str, sql: str, args: tuple) -> list[tuple]:
        if sql == "SELECT 1":
            return [(self.select_1,)]
        if sql.startswith("SELECT name, state_desc FROM sys.databases WHERE database_id > 4"):
            names = sorted(set(self.catalog) - {"master"} | set(self.states))
            return [(n, self.states.get(n, "ONLINE")) for n in names]
        if found := re.fullmatch(r"SELECT s\.name, t\.name FROM (?:\[(?P<db>[^\]]+)\]\.)?sys\.tables AS t .*?"
                                 r"WHERE t\.is_ms_shipped = 0(?: AND EXISTS \(.*c\.name = N'(?P<col>\w+)'\))?"
                                 r" ORDER BY s\.name, t\.name", sql):
            tables = self.catalog.get(found["db"] or database, {})
            return [tuple(name.split(".", 1)) for name, t in sorted(tables.items())
                    if found["col"] is None or found["col"] in t.newest]
        if found := re.fullmatch(r"SELECT (?P<expr>.+) FROM (?:\[(?P<db>[^\]]+)\]\.)?\[(?P<s>[^\]]+)\]\.\[(?P<t>[^\]]+)\]", sql):
            table = _table(self.catalog, found["db"] or database, f"{found['s']}.{found['t']}")
            expression = found["expr"]
            if expression == "COUNT_BIG(*)":
                return [(table.rows,)]
            if expression == "CHECKSUM_AGG(BINARY_CHECKSUM(*))":
                return [(table.checksum,)]
            if column := re.fullmatch(r"MAX\(\[(\w+)\]\)", expression):
                return [(table.newest[column[1]],)]
        raise AssertionError(f"the T-SQL double does not know: {sql}")


class MySqlServer:
    """A MySQL flexible server's catalog, answering smoke_tests/mysql.py."""

    def __init__(self, catalog: Catalog, *, refuse: Exception | None = None) -> None:
        self.catalog, self.refuse = catalog, refuse
        self.statements: list[str] = []
        self.sign_ins: list[dict[str, Any]] = []

    def __call__(self, **sign_in: Any) -> _Connection:
        self.sign_ins.append(sign_in)
        if self.refuse is not None:
            raise self.refuse
        return _Connection(self, "")

    def answer(self, database: str, sql: str, args: tuple) -> list[tuple]:
        if sql == "SELECT 1":
            return [(1,)]
        if sql == "SELECT schema_name FROM information_schema.schemata":
            return [(name,) for name in ["information_schema", "mysql", *self.catalog]]
        if sql.startswith("SELECT table_name FROM information_schema.tables WHERE table_schema = %s"):
            tables = self.catalog.get(args[0], {})
            column = args[2] if len(args) == 3 else None
            return [(name,) for name, t in sorted(tables.items()) if column is None or column in t.newest]
        if found := re.fullmatch(r"(?P<what>SELECT COUNT\(\*\) FROM|CHECKSUM TABLE|SELECT MAX\(`(?P<col>\w+)`\) FROM)"
                                 r" `(?P<db>[^`]+)`\.`(?P<t>[^`]+)`", sql):
            if found["what"] == "CHECKSUM TABLE":  # MySQL answers NULL, not an error, for a table it cannot read
                table = self.catalog.get(found["db"], {}).get(found["t"])
                return [(f"{found['db']}.{found['t']}", None if table is None or table.error else table.checksum)]
            table = _table(self.catalog, found["db"], found["t"])
            return [(table.rows,)] if found["col"] is None else [(table.newest[found["col"]],)]
        raise AssertionError(f"the MySQL double does not know: {sql}")
