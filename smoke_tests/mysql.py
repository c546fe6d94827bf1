"""Azure Database for MySQL flexible server: the smoke and data checks its DR profile declares (components/mysql.py).

Declared, not implemented yet: drctl runs none of them, and `drctl coverage --json` lists each
with `implemented: false`."""

from __future__ import annotations

from smoke_tests.check import data, smoke

COMPONENT = "mysql"

CHECKS = (
    smoke(COMPONENT, "server-ready", plane="management"),
    smoke(COMPONENT, "select-1"),
    data(COMPONENT, "row-counts"),
    data(COMPONENT, "table-checksums"),
    data(COMPONENT, "max-timestamp"),
)
