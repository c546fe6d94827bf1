"""Azure Data Share account: the checks its DR profile declares (components/data_share.py), on Azure
through Azure Resource Manager.

- `data-share-account-reachable`: ARM answers for the account, with provisioningState Succeeded.
- `snapshot-sync-status`: the latest snapshot synchronization of each share (the provider's side:
  its consumers' syncs) and of each share subscription (the consumer's side) Succeeded, read with
  the REST API's listSynchronizations (drctl has no Data Share SDK):
  https://learn.microsoft.com/rest/api/datashare/shares/list-synchronizations
  https://learn.microsoft.com/rest/api/datashare/share-subscriptions/list-synchronizations
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from smoke_tests.check import AZURE, TRANSPORT_DOUBLE, TransientError, data, smoke
from smoke_tests.probe import RestClient, ServiceProbe, provisioned

COMPONENT = "data_share"
ACCOUNT_TYPE = "azure-native:datashare:Account"
ARM = "https://management.azure.com"
ARM_SCOPE = f"{ARM}/.default"
DATA_SHARE_API = "2021-08-01"  # where the deploy step recorded no API version for the account
SYNCING = frozenset({"Queued", "InProgress", "Accepted"})
# The account's collections whose members synchronize, and what each member is called.
COLLECTIONS = (("shares", "share"), ("shareSubscriptions", "share subscription"))
# Neither Microsoft.DataShare's account GET nor listSynchronizations has an example in the specs kept here.
DATA_SHARE_DOUBLE = TRANSPORT_DOUBLE + "hand-written Microsoft.DataShare answers: no example of them in the specs kept here"


def data_share_account_reachable(probe: ServiceProbe) -> dict:
    return provisioned(probe, ACCOUNT_TYPE)


def _pages(rest: RestClient, method: str, path: str, api_version: str) -> list[dict[str, Any]]:
    """Every item of an ARM list, following nextLink (with the same method: listSynchronizations is a POST)."""
    page = rest.request(method, path, params={"api-version": api_version}) or {}
    items: list[dict[str, Any]] = []
    while True:
        items.extend(page.get("value") or [])
        link = page.get("nextLink")
        if not link:
            return items
        page = rest.request(method, str(link).removeprefix(ARM)) or {}


def _started(sync: Mapping[str, Any]) -> datetime:
    text = str(sync.get("startTime") or "")
    try:
        # ARM writes up to 7 fractional digits; Python reads 6.
        head, dot, tail = text.rstrip("Z").partition(".")
        moment = datetime.fromisoformat(head + (dot + tail[:6] if dot else ""))
    except ValueError:
        return datetime.min.replace(tzinfo=UTC)
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def latest_synchronizations(probe: ServiceProbe) -> dict[str, dict[str, dict[str, Any] | None]]:
    """By collection, each member's latest synchronization (None: it never synchronized)."""
    account = probe.resource(ACCOUNT_TYPE)
    account_id, version = str(account["id"]), probe.api_version(account) or DATA_SHARE_API
    rest = probe.rest(ARM, ARM_SCOPE)
    found: dict[str, dict[str, dict[str, Any] | None]] = {}
    for collection, _ in COLLECTIONS:
        found[collection] = {}
        for member in _pages(rest, "GET", f"{account_id}/{collection}", version):
            name = str(member.get("name"))
            syncs = _pages(rest, "POST", f"{account_id}/{collection}/{name}/listSynchronizations", version)
            newest = max(syncs, key=_started, default=None)
            found[collection][name] = None if newest is None else {
                "status": newest.get("status"), "start_time": newest.get("startTime"),
                "end_time": newest.get("endTime"), "mode": newest.get("synchronizationMode"),
                "message": str(newest.get("message") or "")[:200] or None}
    return found


def snapshot_sync_status(probe: ServiceProbe) -> tuple[list[str], dict]:
    """Every share's and share subscription's latest synchronization Succeeded (an invariant); with a
    baseline (these facts recorded before the disaster), each member it lists must exist again and
    one it saw synchronized must have synchronized since. One still syncing is worth another attempt."""
    found = latest_synchronizations(probe)
    recorded = probe.baseline.get("snapshot-sync-status") or {}
    mismatches: list[str] = []
    syncing: list[str] = []
    for collection, label in COLLECTIONS:
        before, now = recorded.get(collection) or {}, found[collection]
        mismatches += [f"{label} {name} is missing (the baseline has it)" for name in sorted(set(before) - set(now))]
        for name, latest in sorted(now.items()):
            if latest is None:
                if before.get(name):
                    mismatches.append(f"{label} {name} has not synchronized since the redeploy")
            elif latest["status"] in SYNCING:
                syncing.append(f"{label} {name}")
            elif latest["status"] != "Succeeded":
                mismatches.append(f"{label} {name}: latest synchronization {latest['status']}"
                                  f"{': ' + latest['message'] if latest['message'] else ''}")
    if syncing and not mismatches:
        raise TransientError(f"data share: synchronization still running for {', '.join(syncing)}")
    return mismatches, found


CHECKS = (
    smoke(COMPONENT, "data-share-account-reachable", data_share_account_reachable, AZURE, plane="management",
          tested_against=DATA_SHARE_DOUBLE),
    data(COMPONENT, "snapshot-sync-status", snapshot_sync_status, AZURE, plane="management",
         tested_against=DATA_SHARE_DOUBLE),
)
