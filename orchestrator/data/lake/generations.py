"""A lake backup generation: blob snapshots of the geo copy, taken right after it is replicated.

The geo copy is a mirror: the next replication overwrites it, so by itself it only ever holds the
newest state, and an older backup to fall back on cannot exist. A generation pins one state: every
blob of every zone is snapshotted, and the generation's manifest records the window the snapshots
were taken in (`snapshot_window`: the oldest and newest snapshot ids the service returned, so its
own clock) beside the usual per-zone facts. The generation's snapshot of a blob is then its newest
snapshot inside that window, found by one pass over the listing with snapshots (lake/snapshots.py):
no structure holds a zone's listing, and the manifest's size does not grow with the lake.
(Manifests written before this, with a per-blob `snapshots` map, are not read: such a generation
is reported as no lake backup generation, and a restore falls back to an older one or fails.)

Snapshots live in the geo copy's own account; recovering from a generation relays the snapshots'
bytes into the new account (lake/relay.py, whose listing is the generation's snapshots:
`snapshot_listing`), as the secondary stack relays from the geo copy on Azure. On Azure, blob
snapshots of the rehydration source play this part per recovery point (targets/azure/stores/lake_point.py).

Checking a generation reads listings only: its snapshots' (name, size, Content-MD5) must give the
manifest's count, bytes and digest per zone. A snapshot cannot be rewritten, so what can happen to a
generation is loss (snapshots deleted), which changes those facts; content altered under an
unchanged Content-MD5 header would take a download to see, which this does not do.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

from azure.core.exceptions import ResourceNotFoundError
from azure.storage.blob import BlobServiceClient

from orchestrator.data.backup import backup_lake, lake_manifest_path
from orchestrator.data.errors import azure_errors
from orchestrator.data.lake.listing import LISTING_PAGE
from orchestrator.data.lake.recovery import SourceListing, run_pool, with_namesakes
from orchestrator.data.lake.snapshots import SnapshotKey, by_name, list_with_snapshots, snapshot_key
from orchestrator.data.manifest import listing_facts, load_manifest, write_manifest
from orchestrator.model import PermanentError, TransientError

FACT_KEYS = ("blobs", "bytes", "digest")
SOURCE = "blob snapshots of the geo copy"
SNAPSHOT_WORKERS = 8  # a lake is thousands of blobs, one snapshot request each
SHOWN = 3  # lost blobs named in a message
Window = dict[str, str]  # {"start": snapshot id, "end": snapshot id}


class _Window:
    """The oldest and newest snapshot ids seen, from many threads."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.start: str | None = None
        self.end: str | None = None

    def add(self, snapshot: str) -> None:
        with self._lock:
            if self.start is None or snapshot_key(snapshot) < snapshot_key(self.start):
                self.start = snapshot
            if self.end is None or snapshot_key(snapshot) > snapshot_key(self.end):
                self.end = snapshot


def snapshot_lake(service: BlobServiceClient, containers: Iterable[str]) -> Window | None:
    """Snapshot every blob of `containers`, streaming their listings into a bounded pool; the
    window the snapshots were taken in (None when there was no blob to snapshot)."""
    window = _Window()

    def jobs() -> Iterator[tuple[str, Any]]:
        for container in containers:
            for blob in service.get_container_client(container).list_blobs(results_per_page=LISTING_PAGE):
                yield container, blob

    def snapshot(container: str, blob: Any) -> None:
        window.add(str(service.get_blob_client(container, blob.name).create_snapshot()["snapshot"]))

    with azure_errors("lake generation: snapshots"):
        run_pool(snapshot, jobs(), SNAPSHOT_WORKERS, "blob-snapshot")
    return None if window.start is None or window.end is None else {"start": window.start, "end": window.end}


def _keys(window: Window) -> tuple[SnapshotKey, SnapshotKey]:
    return snapshot_key(window["start"]), snapshot_key(window["end"])


def generation_items(service: BlobServiceClient, container: str, window: Window | None,
                     lost: list[str] | None = None) -> Iterator[Any]:
    """The generation's snapshots of `container` (listed items, with metadata: a relay commits each
    blob with its source's), in name order, as the listing is walked: per blob, its newest snapshot
    inside the window. With `lost`, the names of blobs that were there before the window opened (by
    their creation time) and have no snapshot in it are appended to it."""
    if window is None:
        return
    start, end = _keys(window)
    listing = list_with_snapshots(service.get_container_client(container), ["snapshots", "metadata"],
                                  LISTING_PAGE)
    try:
        for entries in by_name(listing, f"the snapshots of {container}"):
            chosen = entries.newest_snapshot(end, not_before=start)
            if chosen is not None:
                yield chosen
            elif lost is not None and entries.base is not None and entries.base.creation_time is not None \
                    and snapshot_key(entries.base.creation_time)[0] < start[0]:
                # created before the window opened, at the listing's grain of whole seconds (a blob
                # created in the window's first second may be newer than its snapshot and is not named)
                lost.append(entries.name)
    except ResourceNotFoundError:
        return


def backup_lake_generation(primary: BlobServiceClient, geo_copy: BlobServiceClient, generation_dir: Path,
                           generation: str) -> dict:
    """Replicate the primary into its geo copy (backup_lake, which writes the facts), snapshot the
    copy, and rewrite the manifest with the generation and its snapshot window. The snapshots' own
    facts must equal the manifest's before the generation counts as taken."""
    manifest = backup_lake(primary, geo_copy, generation_dir)
    window = snapshot_lake(geo_copy, list(manifest["containers"]))
    with azure_errors("lake generation: check snapshots"):
        facts = {c: listing_facts(generation_items(geo_copy, c, window)) for c in manifest["containers"]}
    if facts != manifest["containers"]:
        # only replication writes the geo copy, so this is a replication racing us: take it again
        raise TransientError(f"lake generation {generation}: the snapshots do not match the geo copy's listing")
    record = {k: v for k, v in manifest.items() if k not in ("version", "manifest_dir")}
    path = write_manifest(lake_manifest_path(generation_dir),
                          {**record, "generation": generation, "source": SOURCE, "snapshot_window": window})
    return load_manifest(path)


def generation_window(manifest: dict) -> Window | None:
    """The manifest's snapshot window (None for an empty lake); PermanentError for a manifest without one."""
    if "snapshot_window" not in manifest:
        raise PermanentError("its manifest has no snapshot window: it is not a lake backup generation "
                             "(or one written before generations were identified by their window)")
    window = manifest["snapshot_window"]
    if window is not None and not (isinstance(window, dict) and {"start", "end"} <= set(window)):
        raise PermanentError(f"its manifest's snapshot window {window!r} has no start and end")
    return window


def check_lake_generation(geo_copy: BlobServiceClient, manifest: dict, containers: Iterable[str]) -> str | None:
    """None when the generation still holds, for `containers`, what its manifest says; else why not."""
    try:
        window = generation_window(manifest)
    except PermanentError as err:
        return str(err)
    problems = []
    with azure_errors("lake generation: check"):
        for container in containers:
            want = manifest["containers"].get(container)
            if want is None:
                problems.append(f"{container}: not in the generation")
                continue
            lost: list[str] = []
            got = listing_facts(generation_items(geo_copy, container, window, lost), f"the snapshots of {container}")
            if got["blobs"] < want["blobs"]:
                missing = want["blobs"] - got["blobs"]
                shown = ", ".join(lost[:SHOWN]) + (f" and {len(lost) - SHOWN} more" if len(lost) > SHOWN else "")
                problems.append(f"{container}: {missing} of {want['blobs']} blob snapshots missing"
                                + (f" ({shown})" if shown else ""))
                continue
            problems += [f"{container}: {key} {got[key]!r}, the manifest says {want.get(key)!r}"
                         for key in FACT_KEYS if got[key] != want.get(key)]
    return "; ".join(problems) or None


def prune_to_generation(dest: BlobServiceClient, listing: SourceListing, containers: Iterable[str]) -> list[str]:
    """Delete the destination's blobs that `listing` (a generation's snapshots, or the lake at a
    recovery point) does not hold, before restoring it: an earlier attempt may have restored another
    generation (the newest, found damaged since), and its extra blobs would make the store more than
    what was restored. As dropping the database before pg_restore does for PostgreSQL. A merge of
    the two listings in name order, holding neither. Returns what was deleted."""
    deleted = []
    with azure_errors("lake generation: prune the destination"):
        for container in containers:
            present = dest.get_container_client(container).list_blobs(results_per_page=LISTING_PAGE)
            try:
                for blob, kept in with_namesakes(present, listing(container), container):
                    if kept is None:
                        dest.get_blob_client(container, blob.name).delete_blob()
                        deleted.append(f"{container}/{blob.name}")
            except ResourceNotFoundError:
                continue
    return deleted


def snapshot_listing(geo_copy: BlobServiceClient, window: Window | None) -> SourceListing:
    """rehydrate_lake's listing for a generation: its snapshots, not the blobs' current state."""
    return lambda container: generation_items(geo_copy, container, window)


def damage_lake_generation(geo_copy: BlobServiceClient, manifest: dict, how: str) -> dict:
    """For rehearsals: lose part of a generation. `corrupt` deletes the snapshot of the last blob of
    every zone (so whichever zones a plan copies, the loss is in one of them); `missing` deletes
    every snapshot of the generation. Snapshots cannot be rewritten, so loss is the damage there is."""
    window = generation_window(manifest)
    examples: list[str] = []  # the first few, in listing order; the lake's names are not kept
    count = [0]
    lock = threading.Lock()

    def delete(container: str, item: Any) -> None:
        geo_copy.get_blob_client(container, item.name, snapshot=item.snapshot).delete_blob()
        with lock:
            count[0] += 1

    def doomed() -> Iterator[tuple[str, Any]]:
        for container in sorted(manifest["containers"]):
            last = None
            for item in generation_items(geo_copy, container, window):
                if how == "missing":
                    yield named(container, item)
                last = item
            if how != "missing" and last is not None:
                yield named(container, last)

    def named(container: str, item: Any) -> tuple[str, Any]:
        if len(examples) < 4:
            examples.append(f"{container}/{item.name}")
        return container, item

    with azure_errors("lake generation: damage"):
        run_pool(delete, doomed(), SNAPSHOT_WORKERS, "snapshot-damage")
    what = "every blob snapshot deleted" if how == "missing" else "the last blob snapshot of each zone deleted"
    return {"store": "lake", "generation": manifest.get("generation"), "damage": how, "what": what,
            "snapshots_deleted": count[0], "examples": examples}
