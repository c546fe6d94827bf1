"""The storage account answers of a lake account failover: the REST spec examples, and the one
state they do not show.

The examples show an account before a failover (canFailover true/false) and the failover call
itself; none shows an account after one, so `failed_over()` derives it from the canFailover-true
example the way the service documents the result (LRS, primaryLocation the former secondary, no
secondary, no geoReplicationStats), and `in_progress()` sets failoverInProgress. Those two are
test doubles; everything else is the examples unmodified."""

from __future__ import annotations

import copy

from azure_fixtures import example_body

EXAMPLES = "storage/resource-manager/Microsoft.Storage/"
CAN_FAIL_OVER = EXAMPLES + "stable/2025-06-01/examples/StorageAccountGetPropertiesGeoReplicationStatscanFailoverTrue.json"
CANNOT_FAIL_OVER = EXAMPLES + ("Storage/stable/2026-09-01/examples/"
                               "StorageAccountGetPropertiesGeoReplicationStatscanFailoverFalse.json")
FAILOVER = EXAMPLES + "Storage/stable/2026-04-01/examples/StorageAccountFailover.json"
LAST_SYNC = "2018-10-30T00:25:34Z"  # the examples' geoReplicationStats.lastSyncTime


def failed_over() -> dict:
    body = copy.deepcopy(example_body(CAN_FAIL_OVER))
    props = body["properties"]
    body["sku"] = {"name": "Standard_LRS", "tier": "Standard"}
    props["primaryLocation"] = props.pop("secondaryLocation")
    props.pop("geoReplicationStats")
    props.pop("statusOfSecondary", None)
    return body


def in_progress() -> dict:
    body = copy.deepcopy(example_body(CAN_FAIL_OVER))
    body["properties"]["failoverInProgress"] = True
    return body
