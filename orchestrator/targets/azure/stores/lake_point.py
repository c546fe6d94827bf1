"""The lake at a recovery point on Azure (`drctl failover --recovery-point TIME`): each blob as it
was at TIME, from the blob snapshots of the rehydration source.

Why snapshots: the lake is an ADLS Gen2 account (hierarchical namespace), and blob snapshots are
supported there ("Blob snapshots" in the feature table,
https://learn.microsoft.com/azure/storage/blobs/storage-feature-support-in-storage-accounts),
while point-in-time restore for block blobs, the account-level feature that would do this for us,
is not: Azure Backup's operational backup of blobs, built on it and on versioning, does not
support accounts with a hierarchical namespace
(https://learn.microsoft.com/azure/backup/blob-backup-support-matrix). A snapshot id is the UTC
time it was taken, so it is compared with TIME directly.

Per blob of a copied zone, listed with its snapshots:
- its current state, when it was last modified before TIME (whole seconds: the listing's
  Last-Modified has no finer grain, so a change in TIME's own second counts as after it);
- else its newest snapshot at or before TIME;
- else, when it was created after TIME, nothing: it did not exist then;
- else (changed since, nothing kept from before) the restore fails, naming it.

Nothing in the source is changed: the chosen state is copied into the new account (the relay reads
a snapshot as it reads a blob), and a blob created after TIME is removed from the new account only
(an earlier attempt, or a run without the point, may have copied it there); in the source it stays
where it is, for investigation, and is named in the evidence. A server-side copy signs the base
blob's URL, not a snapshot's, so with a point the relay is used whatever `restore.lake.copy` says.

(verify in a drill) That the RA-GRS `-secondary` endpoint lists and serves snapshots as the primary
does: snapshots are part of the blob's replicated data, but this was exercised on Azurite only.
(verify in a drill) "Created after TIME" is read from the blob's Creation-Time, which is taken to
survive an overwrite on Azure. Azurite resets it when a blob is overwritten; where that held, a blob
that existed at TIME, was never snapshotted and was overwritten after TIME would be taken for a new
one and left out (it is named in the evidence, `blobs_created_after_point`, either way).
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

from azure.core.exceptions import ResourceNotFoundError
from azure.storage.blob import BlobServiceClient

from orchestrator.data.errors import azure_errors
from orchestrator.data.event_time import iso_z
from orchestrator.data.ingest import WATERMARK_BLOB
from orchestrator.data.lake.listing import LISTING_PAGE
from orchestrator.data.lake.snapshots import by_name, list_with_snapshots, snapshot_key
from orchestrator.data.manifest import listing_facts
from orchestrator.data.recovery_point import as_text
from orchestrator.model import PermanentError

LAST_MODIFIED_GRAIN = timedelta(seconds=1)
SHOWN = 5  # blobs named in a message; the evidence names them all


def _utc(value: datetime | str) -> datetime:
    if isinstance(value, str):
        value = datetime.fromisoformat(value.replace("Z", "+00:00"))
    return value.astimezone(UTC) if value.tzinfo else value.replace(tzinfo=UTC)


def _shown(names: list[str]) -> str:
    return ", ".join(names[:SHOWN]) + (f" and {len(names) - SHOWN} more" if len(names) > SHOWN else "")


class LakeAtPoint:
    """A relay listing (container -> the items to copy, in name order) of each blob's state at
    `point`. Each call walks the container's listing with its snapshots again, one blob name at a
    time (lake/snapshots.py), so nothing holds the listing: the manifest, the prune and the copy
    each walk it, and a choice that changed between walks (the source is not written during a
    recovery) would show as a validation mismatch against the manifest. The counts are the last
    walk's, per container."""

    def __init__(self, source: BlobServiceClient, point: datetime) -> None:
        self.source, self.point = source, _utc(point)
        self._walks: dict[str, dict[str, Any]] = {}
        self.missing_containers: list[str] = []

    @property
    def unchanged(self) -> int:
        return sum(w["unchanged"] for w in self._walks.values())

    @property
    def from_snapshot(self) -> int:
        return sum(w["from_snapshot"] for w in self._walks.values())

    @property
    def created_after(self) -> list[str]:
        return [name for w in self._walks.values() for name in w["created_after"]]

    def __call__(self, container: str) -> Iterator[Any]:
        return self._choose(container)

    def _choose(self, container: str, counted: bool = True) -> Iterator[Any]:
        walk: dict[str, Any] = {"unchanged": 0, "from_snapshot": 0, "created_after": []}
        if counted:  # a walk that may stop early (looking for one blob) keeps the last full walk's counts
            self._walks[container] = walk
        lost = []
        point = snapshot_key(self.point)
        with azure_errors(f"lake at the recovery point: list {container} with its snapshots"):
            listing = list_with_snapshots(self.source.get_container_client(container), ["snapshots", "metadata"],
                                          LISTING_PAGE)
            try:
                for entries in by_name(listing, f"the snapshots of {container}"):
                    base, name = entries.base, entries.name
                    if base is not None and _utc(base.last_modified) + LAST_MODIFIED_GRAIN <= self.point:
                        walk["unchanged"] += 1
                        yield base
                    elif (earlier := entries.newest_snapshot(point)) is not None:
                        walk["from_snapshot"] += 1
                        yield earlier
                    elif base is None or (base.creation_time is not None and _utc(base.creation_time) > self.point):
                        walk["created_after"].append(f"{container}/{name}")
                    else:
                        lost.append(f"{container}/{name}")
            except ResourceNotFoundError:
                if container not in self.missing_containers:
                    self.missing_containers.append(container)
                return
        if lost:
            raise PermanentError(
                f"lake: {len(lost)} blob(s) changed after the recovery point {as_text(self.point)} and have no "
                f"snapshot at or before it: {_shown(lost)}",
                {"recovery_point": as_text(self.point), "blobs_without_snapshot": lost})

    def watermark_record(self) -> dict | None:
        """The lake's ingestion watermark as it was at the point (raw/_watermark.json's chosen state)."""
        item = next((i for i in self._choose("raw", counted=False) if i.name == WATERMARK_BLOB), None)
        if item is None:
            return None
        with azure_errors("lake at the recovery point: read the watermark"):
            blob = self.source.get_blob_client("raw", WATERMARK_BLOB, snapshot=item.snapshot)
            return json.loads(blob.download_blob().readall())

    def evidence(self) -> dict[str, Any]:
        return {"recovery_point": as_text(self.point), "blobs_unchanged_since_before_point": self.unchanged,
                "blobs_from_snapshot": self.from_snapshot, "blobs_created_after_point": self.created_after,
                "blobs_created_after_point_kept_in_source": True}


def manifest_at_point(at: LakeAtPoint, containers: Iterable[str], *, account: str) -> dict:
    """The manifest of the source as it was at the point: facts of the chosen states, the watermark
    they hold; validation then proves the new account holds exactly that."""
    containers = list(containers)
    facts = {c: listing_facts(at(c)) for c in containers}
    if at.missing_containers:
        raise PermanentError(f"the rehydration source has no container {', '.join(at.missing_containers)}",
                             {"account": account, "missing_containers": at.missing_containers})
    record = at.watermark_record()
    return {"kind": "lake", "account": account, "taken_at": iso_z(datetime.now(UTC)),
            "taken_from": f"the rehydration source's blobs and snapshots as they were at {as_text(at.point)}",
            "recovery_point": as_text(at.point), "containers": facts,
            "watermark": record and record["batch"], "data_end": record and record["data_end"],
            "data_timestamp": as_text(at.point)}
