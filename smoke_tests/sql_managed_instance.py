"""Azure SQL Managed Instance: the checks its DR profile declares (components/sql_managed_instance.py),
all on Azure.

- `managed-instance-ready` (management): the deployed instance's `state` is Ready (Starting is worth
  waiting for; Stopped is a verdict: a stopped instance serves nothing until someone starts it).
- `select-1` (data): SELECT 1 in master over TDS with drctl's Entra token (smoke_tests/tds.py), at
  the instance's fullyQualifiedDomainName as ARM returns it (in the VNet: the public data endpoint
  stays closed, so drctl runs where the instance's subnet is reachable, as the runner does).
- data checks, over every user table of every user database (the stack names none: the failover
  group carries all of them): `row-counts` (COUNT_BIG(*)) and `max-timestamp` (the newest `ts`, the
  platform's event-time column, of every table that has one). A user database that is not ONLINE
  is a mismatch. Judged against the facts recorded before the disaster when there are some, else
  on the invariant of smoke_tests/table_facts.py.
"""

from __future__ import annotations

from typing import Any

from smoke_tests import tds
from smoke_tests.check import AZURE, TRANSPORT_DOUBLE, PermanentError, data, smoke
from smoke_tests.probe import IN_PROGRESS, ServiceProbe, provisioned
from smoke_tests.table_facts import not_older

COMPONENT = "sql_managed_instance"
INSTANCE = "azure-native:sql:ManagedInstance"
TIMESTAMP = "ts"
ARM_DOUBLE = TRANSPORT_DOUBLE + "no managed instance example in the specs kept here: a minimal GET body"


def managed_instance_ready(probe: ServiceProbe) -> dict:
    return provisioned(probe, INSTANCE, "state", frozenset({"Ready"}), IN_PROGRESS)


def _host(probe: ServiceProbe) -> str:
    host = probe.properties(INSTANCE).get("fullyQualifiedDomainName")
    if not host:
        raise PermanentError("sql managed instance: the instance has no fullyQualifiedDomainName")
    return str(host)


def select_1(probe: ServiceProbe) -> dict:
    return tds.select_1(probe, _host(probe), "master")


def _table_check(probe: ServiceProbe, check: str, fact: str, expression: str, **how: Any) -> tuple[list[str], dict]:
    return tds.table_check(probe, _host(probe), "master", probe.baseline.get(check), fact, expression,
                           every_database=True, **how)


def row_counts(probe: ServiceProbe) -> tuple[list[str], dict]:
    """Every user table's COUNT_BIG(*), keyed database.schema.table: equal to the recorded counts,
    or (none recorded) every user database online and each table's count answers."""
    return _table_check(probe, "row-counts", "rows", tds.COUNT)


def max_timestamp(probe: ServiceProbe) -> tuple[list[str], dict]:
    """The newest `ts` of every table that has one: never older than recorded (newer is replayed
    data); none recorded, at least one table must have the column to give the watermark."""
    return _table_check(probe, "max-timestamp", "newest ts", tds.newest(TIMESTAMP), column=TIMESTAMP, same=not_older)


CHECKS = (
    smoke(COMPONENT, "managed-instance-ready", managed_instance_ready, AZURE, plane="management",
          tested_against=ARM_DOUBLE),
    smoke(COMPONENT, "select-1", select_1, AZURE, tested_against=tds.DOUBLE),
    data(COMPONENT, "row-counts", row_counts, AZURE, tested_against=tds.DOUBLE),
    data(COMPONENT, "max-timestamp", max_timestamp, AZURE, tested_against=tds.DOUBLE),
)
