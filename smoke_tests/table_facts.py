"""One fact of every user table of a recovered database (its row count, checksum or newest
timestamp), gathered by the service's own driver, and judged.

A data check judges what it gathered against the facts the same check recorded before the disaster
(`probe.baseline[check name]`, the `facts` it returned then) when there are some. Without them it
holds the invariant the stacks' settings leave: every user table is there to be asked and its query
answers; a database with no user table at all is a mismatch, since a restore that left it empty is
exactly what the check is for. Used by the SQL Server family (smoke_tests/tds.py) and MySQL.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from typing import Any


@dataclass
class Gathered:
    """What one fact query gave per table ("schema.table", or "database.schema.table")."""

    values: dict[str, Any] = field(default_factory=dict)
    failed: dict[str, str] = field(default_factory=dict)  # table -> the first line of its query's error

    def merge(self, other: Gathered, prefix: str = "") -> None:
        self.values.update({f"{prefix}{k}": v for k, v in other.values.items()})
        self.failed.update({f"{prefix}{k}": v for k, v in other.failed.items()})

    def facts(self, **context: Any) -> dict[str, Any]:
        """JSON-able: what a later run's check judges against (keep `tables` as it is)."""
        return {**context, "tables": dict(sorted(self.values.items())), "failed": dict(sorted(self.failed.items()))}


def plain(value: Any) -> Any:
    """A driver's value as JSON: datetimes in ISO form, decimals as int or text."""
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() else str(value)
    return value


def first_line(error: BaseException) -> str:
    text = str(error).strip().splitlines()
    return (text[0] if text else type(error).__name__)[:200]


def equal(recorded: Any, found: Any) -> bool:
    return bool(recorded == found)


def not_older(recorded: Any, found: Any) -> bool:
    """A newest timestamp may have moved on (replayed loads), never back: that is data lost."""
    if recorded is None:
        return True
    if found is None:
        return False
    try:
        return datetime.fromisoformat(str(found)) >= datetime.fromisoformat(str(recorded))
    except ValueError:
        return str(found) >= str(recorded)


def judge(fact: str, got: Gathered, recorded: Mapping[str, Any] | None, *, where: str,
          same: Callable[[Any, Any], bool] = equal, none_found: str | None = None) -> list[str]:
    """Mismatches in words. `recorded` is the check's facts from before (None: judged on the
    invariant); `none_found` is the mismatch when no table answered at all (default: no user table)."""
    mismatches = [f"{table}: the {fact} query failed: {error}" for table, error in sorted(got.failed.items())]
    if recorded is None:
        if not got.values and not got.failed:
            mismatches.append(none_found or f"no user table in {where}")
        return mismatches
    want = recorded.get("tables") or {}
    for table, value in sorted(want.items()):
        if table in got.failed:
            continue
        if table not in got.values:
            mismatches.append(f"{table}: missing from {where} (recorded with {fact} {value!r})")
        elif not same(value, got.values[table]):
            mismatches.append(f"{table}: {fact} {got.values[table]!r}, recorded {value!r}")
    return mismatches
