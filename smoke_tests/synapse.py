"""Azure Synapse workspace, dedicated SQL pool and Spark pool: the checks its DR profile declares
(components/synapse.py), all on Azure.

- `workspace-provisioned`, `spark-pool-provisioned` (management): the deployed workspace and Spark
  pool report provisioningState Succeeded.
- `sql-pool-online` (management): the dedicated SQL pool's `status` is Online. A pool restored from
  the geo-backup passes through Creating/Restoring first; Paused is a verdict (it serves nothing
  until someone resumes it, and drctl does not resume a pool on its own).
- `sql-select-1` (data): SELECT 1 in the pool over TDS with drctl's Entra token (smoke_tests/tds.py),
  at the workspace's `connectivityEndpoints.sql` as ARM returns it.
- data checks, over every user table of the pool: `row-counts` (COUNT_BIG(*)) and
  `max-load-timestamp` (the newest `loaded_at`, the platform's convention for the column a load
  stamps its rows with: the stack names none). Judged against the facts recorded before the
  disaster when there are some, else on the invariant of smoke_tests/table_facts.py.
"""

from __future__ import annotations

from typing import Any

from smoke_tests import tds
from smoke_tests.check import AZURE, SPEC_EXAMPLES, TRANSPORT_DOUBLE, PermanentError, data, smoke
from smoke_tests.probe import IN_PROGRESS, ServiceProbe, provisioned
from smoke_tests.table_facts import not_older

COMPONENT = "synapse"
WORKSPACE = "azure-native:synapse:Workspace"
SQL_POOL = "azure-native:synapse:SqlPool"
SPARK_POOL = "azure-native:synapse:BigDataPool"
LOADED_AT = "loaded_at"
POOL_COMING = IN_PROGRESS | {"Restoring", "Recovering", "Online_ChangingDwPerformanceTiers"}
ARM_DOUBLE = TRANSPORT_DOUBLE + "no Microsoft.Synapse example in the specs kept here: minimal GET bodies"
# A dedicated pool restored from its geo-backup is the Microsoft.Sql DataWarehouse database of this example.
POOL_EXAMPLE = SPEC_EXAMPLES + " (a DataWarehouse database created with create_mode Recovery)"


def workspace_provisioned(probe: ServiceProbe) -> dict:
    return provisioned(probe, WORKSPACE)


def sql_pool_online(probe: ServiceProbe) -> dict:
    return provisioned(probe, SQL_POOL, "status", frozenset({"Online"}), POOL_COMING)


def spark_pool_provisioned(probe: ServiceProbe) -> dict:
    return provisioned(probe, SPARK_POOL)


def _pool(probe: ServiceProbe) -> tuple[str, str]:
    """(the workspace's SQL endpoint, the dedicated pool's name), both from ARM."""
    endpoints = probe.properties(WORKSPACE).get("connectivityEndpoints") or {}
    host = endpoints.get("sql")
    if not host:
        raise PermanentError("synapse: the workspace has no connectivityEndpoints.sql", {"endpoints": endpoints})
    return str(host), str(probe.resource(SQL_POOL)["id"]).rsplit("/", 1)[-1]


def sql_select_1(probe: ServiceProbe) -> dict:
    return tds.select_1(probe, *_pool(probe))


def _table_check(probe: ServiceProbe, check: str, fact: str, expression: str, **how: Any) -> tuple[list[str], dict]:
    host, pool = _pool(probe)
    return tds.table_check(probe, host, pool, probe.baseline.get(check), fact, expression, **how)


def row_counts(probe: ServiceProbe) -> tuple[list[str], dict]:
    """Every user table's COUNT_BIG(*): equal to the recorded counts, or (none recorded) each answers."""
    return _table_check(probe, "row-counts", "rows", tds.COUNT)


def max_load_timestamp(probe: ServiceProbe) -> tuple[list[str], dict]:
    """The newest `loaded_at` of every table that has one: never older than recorded (later loads
    are the replay's); none recorded, at least one table must have the column."""
    return _table_check(probe, "max-load-timestamp", "newest loaded_at", tds.newest(LOADED_AT), column=LOADED_AT,
                        same=not_older)


CHECKS = (
    smoke(COMPONENT, "workspace-provisioned", workspace_provisioned, AZURE, plane="management",
          tested_against=ARM_DOUBLE),
    smoke(COMPONENT, "sql-pool-online", sql_pool_online, AZURE, plane="management", tested_against=POOL_EXAMPLE),
    smoke(COMPONENT, "sql-select-1", sql_select_1, AZURE, tested_against=tds.DOUBLE),
    smoke(COMPONENT, "spark-pool-provisioned", spark_pool_provisioned, AZURE, plane="management",
          tested_against=ARM_DOUBLE),
    data(COMPONENT, "row-counts", row_counts, AZURE, tested_against=tds.DOUBLE),
    data(COMPONENT, "max-load-timestamp", max_load_timestamp, AZURE, tested_against=tds.DOUBLE),
)
