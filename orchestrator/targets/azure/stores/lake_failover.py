"""An unplanned (customer-managed) failover of the primary lake account, as the lake's recovery source.

`storage_accounts.begin_failover(group, account, failover_type=None)`: None sends no failoverType
query parameter, which asks for the unplanned failover. The SDK's default, "Planned", swaps the
regions and needs both to be healthy, so it cannot serve while the primary region is down.
https://learn.microsoft.com/azure/storage/common/storage-initiate-account-failover

What it costs, against reading the geo-secondary:
- data written after geoReplicationStats.lastSyncTime never reached the secondary and is lost;
  drctl reads lastSyncTime before asking (afterwards the account has no geo statistics) and
  keeps it in the run directory, so a resumed step still knows the recovery point;
- the account becomes LRS in the former secondary region: it has no geo copy until someone
  re-enables geo-redundancy (a new initial sync), and it no longer has a `-secondary` endpoint;
- it is the primary account's name and endpoints that now answer from the DR region, so the
  runner reaches it through a private endpoint to its `blob` sub-resource, not `blob_secondary`.
Object-replication participants cannot fail over; `canFailover` false is refused up front.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from orchestrator.atomic import make_dirs, write_atomic
from orchestrator.model import PermanentError, TransientError
from orchestrator.run.rundir import utc_now
from orchestrator.targets.azure.errors import call, wait_for
from orchestrator.targets.azure.stores.lake import iso_z

TRADE_OFF = ("unplanned account failover: writes after lastSyncTime are lost, the account is now LRS in the former "
             "secondary region, and geo-redundancy must be re-enabled on it (a new initial sync) to have a geo copy again")
GEO_SKUS = ("GRS", "GZRS")  # Standard_GRS, Standard_RAGRS, Standard_GZRS, Standard_RAGZRS


def _region(value: str | None) -> str:
    return (value or "").replace(" ", "").lower()


def _sku(props: Any) -> str | None:
    name = getattr(getattr(props, "sku", None), "name", None)
    return str(getattr(name, "value", name)) if name else None


def _props(storage: Any, group: str, account: str) -> Any:
    return call(f"properties of {account}", storage.storage_accounts.get_properties, group, account,
                expand="geoReplicationStats")


def _read_record(path: Path) -> dict | None:
    return json.loads(path.read_text(encoding="utf-8")) if path.is_file() else None


def _failed_over_to(props: Any, region: str) -> bool:
    """The account now lives in `region` and is no longer geo-redundant."""
    return _region(getattr(props, "primary_location", None)) == _region(region) and \
        not any(g in (_sku(props) or "").upper() for g in GEO_SKUS)


def _before(props: Any, account: str) -> dict:
    """What the account was before the failover: refused here when it cannot fail over now."""
    stats = getattr(props, "geo_replication_stats", None)
    if stats is None or not stats.can_failover:
        status = getattr(stats, "status", None)
        raise PermanentError(
            f"the primary lake account {account} cannot fail over now (geoReplicationStats.canFailover is "
            f"{getattr(stats, 'can_failover', None)}, status {getattr(status, 'value', status)}, sku {_sku(props)}): "
            "choose dataplatform:restore.lake.source geo-secondary or backup-account",
            {"account": account, "sku": _sku(props), "can_failover": getattr(stats, "can_failover", None),
             "status": str(getattr(status, "value", status)) if status else None})
    return {"account": account, "last_sync_time": iso_z(stats.last_sync_time) if stats.last_sync_time else None,
            "sku_before": _sku(props), "primary_location_before": props.primary_location,
            "secondary_location_before": props.secondary_location, "requested_at": utc_now()}


def _wait_while_in_progress(storage: Any, group: str, account: str, props: Any, *, timeout_s: float,
                            poll_interval_s: float, sleep: Callable[[float], None], clock: Callable[[], float]) -> Any:
    deadline = clock() + timeout_s
    while getattr(props, "failover_in_progress", False):
        if clock() >= deadline:
            raise TransientError(f"failover of {account}: still in progress after {timeout_s:.0f}s")
        sleep(poll_interval_s)
        props = _props(storage, group, account)
    return props


def fail_over_account(storage: Any, group: str, account: str, region: str, record_path: Path, *,
                      timeout_s: float = 3600.0, poll_interval_s: float = 30.0,
                      sleep: Callable[[float], None] = time.sleep, clock: Callable[[], float] = time.monotonic,
                      say: Callable[[str], None] | None = None) -> dict:
    """Fail `account` over to its secondary region (unplanned) unless it is there already, then check it is.

    `region` is where the account should end up (its secondary location); `record_path` keeps what
    it was before (lastSyncTime above all) for evidence and for a resumed step. Returns evidence with
    the record, the account as it is now, and the trade-off."""
    record = _read_record(record_path)
    props = _props(storage, group, account)
    # Where it goes: its secondary region, as recorded or as it says now; `region` once it says nothing.
    target = (record or {}).get("secondary_location_before") or getattr(props, "secondary_location", None) or region
    if not _failed_over_to(props, target):
        props = _wait_while_in_progress(storage, group, account, props, timeout_s=timeout_s,
                                        poll_interval_s=poll_interval_s, sleep=sleep, clock=clock)
    already = _failed_over_to(props, target)
    if not already:
        if record is None:
            record = _before(props, account)
            target = record["secondary_location_before"] or region
            make_dirs(record_path.parent)
            write_atomic(record_path, json.dumps(record, indent=2, sort_keys=True))
        if say is not None:
            say(f"lake: unplanned failover of {account} to {target} requested (writes after "
                f"{record['last_sync_time']} are lost); waiting up to {timeout_s / 60:.0f} min")
        poller = call(f"failover of {account}", storage.storage_accounts.begin_failover, group, account,
                      failover_type=None)
        wait_for(f"failover of {account}", poller, timeout_s)
        props = _props(storage, group, account)
        if not _failed_over_to(props, target):
            raise PermanentError(f"failover of {account} reported success, but the account is {_sku(props)} in "
                                 f"{props.primary_location}, not LRS in {target}",
                                 {"account": account, "sku": _sku(props), "primary_location": props.primary_location})
    by = "this step" if not already else "an earlier attempt of this step" if record else "before this step"
    return {"account": account, "failed_over_by": by, "before": record, "last_sync_time": (record or {}).get("last_sync_time"),
            "now": {"sku": _sku(props), "primary_location": props.primary_location,
                    "secondary_location": props.secondary_location},
            "trade_off": TRADE_OFF}
