"""Azure Databricks workspace: the smoke and data checks its DR profile declares (components/databricks.py).

Declared, not implemented yet: drctl runs none of them, and `drctl coverage --json` lists each
with `implemented: false`."""

from __future__ import annotations

from smoke_tests.check import data, smoke

COMPONENT = "databricks"

CHECKS = (
    smoke(COMPONENT, "workspace-url-resolves", plane="public"),
    smoke(COMPONENT, "current-user-me"),
    smoke(COMPONENT, "clusters-list"),
    smoke(COMPONENT, "smoke-job-run"),
    data(COMPONENT, "workspace-object-counts"),
    data(COMPONENT, "delta-table-row-counts"),
)
