"""Azure SQL Managed Instance: the smoke and data checks its DR profile declares (components/sql_managed_instance.py).

Declared, not implemented yet: drctl runs none of them, and `drctl coverage --json` lists each
with `implemented: false`."""

from __future__ import annotations

from smoke_tests.check import data, smoke

COMPONENT = "sql_managed_instance"

CHECKS = (
    smoke(COMPONENT, "managed-instance-ready", plane="management"),
    smoke(COMPONENT, "select-1"),
    data(COMPONENT, "row-counts"),
    data(COMPONENT, "max-timestamp"),
)
