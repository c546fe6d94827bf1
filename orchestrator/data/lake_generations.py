"""A lake backup generation: blob snapshots of the geo copy, taken right after it is replicated.

The geo copy is a mirror: the next replication overwrites it, so by itself it only ever holds the
newest state, and an older backup to fall back on cannot exist. A generation pins one state: every
blob of every zone is snapshotted, and the generation's manifest records each blob's snapshot id
beside the usual per-zone facts. Snapshots live in the geo copy's own account; recovering from a
generation relays the snapshots' bytes into the new account (lake_relay.py, whose listing is the
generation's snapshots: `snapshot_listing`), as the secondary stack relays from the geo copy on
Azure. On Azure, blob snapshots or versions of the geo-redundant account would play this part; the
Azure target does not use lake generations in this version.

Checking a generation reads listings only: every snapshot the manifest names must exist, and their
(name, size, Content-MD5) must give the manifest's count, bytes and digest per zone. A snapshot
cannot be rewritten, so what can happen to a generation is loss (snapshots deleted); content
altered under an unchanged Content-MD5 header would take a download to see, which this does not do.
"""

from __future__ import annotations

from collections.abc import Iterable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

from azure.core.exceptions import ResourceNotFoundError
from azure.storage.blob import BlobServiceClient

from orchestrator.data.backup import backup_lake, lake_manifest_path
from orchestrator.data.errors import azure_errors
from orchestrator.data.lake_recovery import SourceListing
from orchestrator.data.manifest import listing_facts, load_manifest, write_manifest
from orchestrator.model import TransientError

FACT_KEYS = ("blobs", "bytes", "digest")
SOURCE = "blob snapshots of the geo copy"
SNAPSHOT_WORKERS = 8  # a lake is thousands of blobs, one snapshot request each


def snapshot_lake(service: BlobServiceClient, containers: Iterable[str]) -> dict[str, dict[str, str]]:
    """Snapshot every blob of `containers`: container -> blob name -> snapshot id."""
    snapshots: dict[str, dict[str, str]] = {}
    with azure_errors("lake generation: snapshots"), ThreadPoolExecutor(max_workers=SNAPSHOT_WORKERS) as pool:
        for container in containers:
            names = sorted(b.name for b in service.get_container_client(container).list_blobs())
            ids = pool.map(lambda name, c=container: str(service.get_blob_client(c, name).create_snapshot()["snapshot"]),
                           names)
            snapshots[container] = dict(zip(names, ids, strict=True))
    return snapshots


def snapshot_items(service: BlobServiceClient, container: str, wanted: dict[str, str]) -> list[Any]:
    """The listed snapshots of `container` that `wanted` (blob name -> snapshot id) names."""
    try:
        # metadata too: a relay commits each blob with its source's metadata
        return [b for b in service.get_container_client(container).list_blobs(include=["snapshots", "metadata"])
                if b.snapshot and wanted.get(b.name) == b.snapshot]
    except ResourceNotFoundError:
        return []


def backup_lake_generation(primary: BlobServiceClient, geo_copy: BlobServiceClient, generation_dir: Path,
                           generation: str) -> dict:
    """Replicate the primary into its geo copy (backup_lake, which writes the facts), snapshot the
    copy, and rewrite the manifest with the generation and its snapshot ids. The snapshots' own
    facts must equal the manifest's before the generation counts as taken."""
    manifest = backup_lake(primary, geo_copy, generation_dir)
    snapshots = snapshot_lake(geo_copy, list(manifest["containers"]))
    with azure_errors("lake generation: check snapshots"):
        facts = {c: listing_facts(snapshot_items(geo_copy, c, ids)) for c, ids in snapshots.items()}
    if facts != manifest["containers"]:
        # only replication writes the geo copy, so this is a replication racing us: take it again
        raise TransientError(f"lake generation {generation}: the snapshots do not match the geo copy's listing")
    record = {k: v for k, v in manifest.items() if k not in ("version", "manifest_dir")}
    path = write_manifest(lake_manifest_path(generation_dir),
                          {**record, "generation": generation, "source": SOURCE, "snapshots": snapshots})
    return load_manifest(path)


def check_lake_generation(geo_copy: BlobServiceClient, manifest: dict, containers: Iterable[str]) -> str | None:
    """None when the generation still holds, for `containers`, what its manifest says; else why not."""
    snapshots = manifest.get("snapshots")
    if not isinstance(snapshots, dict):
        return "its manifest names no snapshots: it is not a lake backup generation"
    problems = []
    with azure_errors("lake generation: check"):
        for container in containers:
            want, wanted = manifest["containers"].get(container), snapshots.get(container)
            if want is None or wanted is None:
                problems.append(f"{container}: not in the generation")
                continue
            items = snapshot_items(geo_copy, container, wanted)
            lost = sorted(set(wanted) - {b.name for b in items})
            if lost:
                shown = ", ".join(lost[:3]) + (f" and {len(lost) - 3} more" if len(lost) > 3 else "")
                problems.append(f"{container}: {len(lost)} of {len(wanted)} blob snapshots missing ({shown})")
                continue
            got = listing_facts(items)
            problems += [f"{container}: {key} {got[key]!r}, the manifest says {want.get(key)!r}"
                         for key in FACT_KEYS if got[key] != want.get(key)]
    return "; ".join(problems) or None


def prune_to_generation(dest: BlobServiceClient, snapshots: dict[str, dict[str, str]],
                        containers: Iterable[str]) -> list[str]:
    """Delete the destination's blobs that the generation does not hold, before restoring it: an
    earlier attempt may have restored another generation (the newest, found damaged since), and
    its extra blobs would make the store more than what was restored. As dropping the database
    before pg_restore does for PostgreSQL. Returns what was deleted."""
    deleted = []
    with azure_errors("lake generation: prune the destination"):
        for container in containers:
            keep = snapshots.get(container, {})
            try:
                names = [b.name for b in dest.get_container_client(container).list_blobs()]
            except ResourceNotFoundError:
                continue
            for name in (n for n in names if n not in keep):
                dest.get_blob_client(container, name).delete_blob()
                deleted.append(f"{container}/{name}")
    return deleted


def snapshot_listing(geo_copy: BlobServiceClient, snapshots: dict[str, dict[str, str]]) -> SourceListing:
    """rehydrate_lake's listing for a generation: its snapshots, not the blobs' current state."""
    return lambda container: snapshot_items(geo_copy, container, snapshots.get(container, {}))


def damage_lake_generation(geo_copy: BlobServiceClient, manifest: dict, how: str) -> dict:
    """For rehearsals: lose part of a generation. `corrupt` deletes the snapshot of the last blob of
    every zone (so whichever zones a plan copies, the loss is in one of them); `missing` deletes
    every snapshot of the generation. Snapshots cannot be rewritten, so loss is the damage there is."""
    deleted = []
    with azure_errors("lake generation: damage"):
        for container, blobs in sorted(manifest["snapshots"].items()):
            for name in (sorted(blobs) if how == "missing" else sorted(blobs)[-1:]):
                geo_copy.get_blob_client(container, name, snapshot=blobs[name]).delete_blob()
                deleted.append(f"{container}/{name}")
    what = "every blob snapshot deleted" if how == "missing" else "the last blob snapshot of each zone deleted"
    return {"store": "lake", "generation": manifest.get("generation"), "damage": how, "what": what,
            "snapshots_deleted": len(deleted), "examples": deleted[:4]}
