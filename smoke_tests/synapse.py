"""Azure Synapse workspace, dedicated SQL pool and Spark pool: the smoke and data checks its DR profile declares (components/synapse.py).

Declared, not implemented yet: drctl runs none of them, and `drctl coverage --json` lists each
with `implemented: false`."""

from __future__ import annotations

from smoke_tests.check import data, smoke

COMPONENT = "synapse"

CHECKS = (
    smoke(COMPONENT, "workspace-provisioned", plane="management"),
    smoke(COMPONENT, "sql-pool-online", plane="management"),
    smoke(COMPONENT, "sql-select-1"),
    smoke(COMPONENT, "spark-pool-provisioned", plane="management"),
    data(COMPONENT, "row-counts"),
    data(COMPONENT, "max-load-timestamp"),
)
