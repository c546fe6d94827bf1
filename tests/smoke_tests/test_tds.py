"""The SQL Server family's shared TDS handling: the default sign-in, the catalog queries, and how a
database that is not online shows. SQL answers come from the DB-API double (no SQL Server here)."""

from __future__ import annotations

import sys
import types

import pytest

from smoke_tests import tds
from smoke_tests.check import PermanentError
from tests.smoke_tests.sql_doubles import Table, TdsServer


def test_without_a_driver_that_takes_a_token_the_sign_in_says_what_to_install(monkeypatch):
    monkeypatch.setitem(sys.modules, "mssql_python", None)
    with pytest.raises(PermanentError, match="pymssql \\(FreeTDS\\) has no federated authentication") as raised:
        tds.open_with_entra_token("srv.database.windows.net", "platform", "secret-token")
    assert "secret-token" not in str(raised.value) + str(raised.value.evidence)


def test_the_default_sign_in_hands_mssql_python_the_token_over_verified_tls(monkeypatch):
    opened = {}
    driver = types.ModuleType("mssql_python")
    driver.connect = lambda connection_string, **kwargs: opened.update(text=connection_string, **kwargs) or "conn"
    monkeypatch.setitem(sys.modules, "mssql_python", driver)
    assert tds.open_with_entra_token("srv.database.windows.net", "platform", "the-token") == "conn"
    assert opened["text"] == ("Server=tcp:srv.database.windows.net,1433;Database=platform;Encrypt=yes;"
                              "TrustServerCertificate=no")
    assert opened["token_provider"].get_token(tds.SQL_SCOPE).token == "the-token"


def test_identifiers_are_bracket_quoted_with_closing_brackets_doubled():
    assert tds.quote("odd]name") == "[odd]]name]"
    with pytest.raises(ValueError, match="not a plain column name"):
        tds.newest("ts; DROP TABLE x")


def test_every_user_database_is_gathered_and_one_not_online_is_a_failure():
    server = TdsServer({"master": {}, "sales": {"dbo.orders": Table(rows=7)}, "hr": {"dbo.staff": Table(rows=2)}},
                       states={"archive": "RESTORING"})
    got = tds.gather_all(server(host="h", database="master", token="t"), tds.COUNT)
    assert got.values == {"hr.dbo.staff": 2, "sales.dbo.orders": 7}
    assert got.failed == {"archive": "state RESTORING, not ONLINE"}
    assert "SELECT COUNT_BIG(*) FROM [sales].[dbo].[orders]" in server.statements


def test_only_the_tables_with_the_column_are_asked_for_its_newest_value():
    server = TdsServer({"dwh": {"dbo.a": Table(rows=1, newest={"loaded_at": "2024-01-01"}), "dbo.b": Table(rows=1)}})
    got = tds.gather(server(host="h", database="dwh", token="t"), tds.newest("loaded_at"), column="loaded_at")
    assert got.values == {"dbo.a": "2024-01-01"}
