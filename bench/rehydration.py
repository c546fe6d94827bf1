"""Rehydration: the lake copied from a backup account to the secondary account, two ways.

drctl's server-side path (orchestrator/data/lake/recovery.py rehydrate_lake, `restore.lake.copy:
server-side`): each destination blob is told to copy itself from a read-SAS URL of its source, and
drctl only watches the copy status, with a bounded number of copies in flight. The naive path:
download every blob through the client and upload it again (as many at once). Both run against
the same Azurite instance with the same data (bench/lake.py), and both clients count the blob
payload their HTTP traffic carried. drctl's default, the relay (`copy: relay`, for a private-only
source the destination's service cannot reach), moves every byte through drctl as the naive path
does, in bounded chunks: it runs here too, for its time and the payload it moves (each byte read
once and written once), and bench/scale.py measures it at many small blobs.

The time ratio is an emulator's: the issue saw Azurite fetch a cross-account source over HTTP
(slower than streaming), the Azurite installed here copies by reference to the source's stored
data (far faster); on Azure the storage service copies. It is reported, not tuned for
(docs/performance-notes.md). What holds everywhere is the server-side path's payload through
drctl: none.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import TypeVar

from azure.storage.blob import BlobServiceClient, ContentSettings

from bench.lake import GIB, MIB, Lake, shared_lake
from bench.report import Result
from orchestrator.data.ingest import ZONES
from orchestrator.data.lake.recovery import rehydrate_lake
from orchestrator.data.lake.relay import relay_lake
from orchestrator.data.manifest import lake_facts
from orchestrator.targets.local.stores.lake import RELAY_MAX_IN_FLIGHT

FULL_BYTES, QUICK_BYTES = GIB, 32 * MIB
MAX_IN_FLIGHT = 16  # rehydrate_lake's default
T = TypeVar("T")


def stream_copy(source: BlobServiceClient, dest: BlobServiceClient, blobs: list[tuple[str, str, int]],
                workers: int = MAX_IN_FLIGHT) -> None:
    """The naive rehydration: every blob through this process, `workers` at a time."""
    for zone in ZONES:
        dest.create_container(zone)

    def copy(job: tuple[str, str, int]) -> None:
        container, name, _ = job
        downloaded = source.get_blob_client(container, name).download_blob()
        md5 = downloaded.properties.content_settings.content_md5
        dest.get_blob_client(container, name).upload_blob(
            downloaded.readall(), overwrite=True,
            content_settings=ContentSettings(content_type="application/octet-stream", content_md5=md5))

    with ThreadPoolExecutor(max_workers=workers) as pool:
        list(pool.map(copy, blobs))


def _check(lake: Lake, account: str) -> None:
    # a fast copy that copied the wrong thing would be no result at all
    if lake_facts(lake.client(account), ZONES) != lake.manifest["containers"]:
        raise RuntimeError(f"the copy in {account} does not match the backup's listing")


def copied_into(lake: Lake, account: str, copy: Callable[[BlobServiceClient, BlobServiceClient], T]
                ) -> tuple[T, float, tuple[int, int]]:
    """`copy` from the backup account into `account`, emptied first: what it returned, its seconds,
    and the (payload, other) bytes both clients carried; the copy is checked against the backup."""
    lake.empty(account)
    for name in ("backup", account):
        lake.client(name)
        lake.counters[name].reset()
    started = time.perf_counter()
    returned = copy(lake.client("backup"), lake.client(account))
    seconds = time.perf_counter() - started
    carried = (lake.counters["backup"].payload + lake.counters[account].payload,
               lake.counters["backup"].other + lake.counters[account].other)
    _check(lake, account)
    return returned, seconds, carried


def run(quick: bool, total_bytes: int | None = None) -> list[Result]:
    size = total_bytes or (QUICK_BYTES if quick else FULL_BYTES)
    lake = shared_lake(size)
    label = f"{size / GIB:.2f} GiB" if size >= GIB // 4 else f"{size / MIB:.0f} MiB"
    blobs = f"{len(lake.blobs)} blobs of {min(b[2] for b in lake.blobs) // 1024} KiB to {max(b[2] for b in lake.blobs) // MIB} MiB"

    evidence, server_s, (server_payload, server_other) = copied_into(lake, "secondary", lambda backup, dest: rehydrate_lake(
        backup, dest, lake.key("backup"), ZONES, max_in_flight=MAX_IN_FLIGHT))
    _, stream_s, (stream_payload, _) = copied_into(lake, "streamed", lambda backup, dest: stream_copy(
        backup, dest, lake.blobs))
    relayed, relay_s, (relay_payload, _) = copied_into(lake, "relayed", lambda backup, dest: relay_lake(
        backup, dest, ZONES, RELAY_MAX_IN_FLIGHT))

    return [
        Result("rehydration.server_side_s", round(server_s, 2), "s", None,
               f"{label} ({blobs}) backup account -> secondary account by drctl's server-side copy"),
        Result("rehydration.streaming_s", round(stream_s, 2), "s", None,
               f"the same downloaded and uploaded through the client, {MAX_IN_FLIGHT} at a time"),
        Result("rehydration.server_side_over_streaming_time", round(server_s / stream_s, 2), "ratio", None,
               "an emulator's copy, either way: says nothing about Azure (docs/performance-notes.md)"),
        Result("rehydration.server_side_payload_bytes", server_payload, "bytes", "== 0",
               f"blob payload through drctl, counted on its HTTP traffic ({server_other:,} bytes of listings "
               f"and copy requests); evidence says {evidence['payload_bytes_through_drctl']}"),
        Result("rehydration.streaming_payload_bytes", stream_payload, "bytes", None,
               f"{stream_payload / size:.2f} x the data: every byte down, then up"),
        Result("rehydration.copies_in_flight_max", evidence["max_in_flight_observed"], "copies", ">= 2",
               f"most copies pending at once, bounded by max_in_flight={MAX_IN_FLIGHT}; "
               f"{evidence['copied']} copied"),
        Result("rehydration.relay_s", round(relay_s, 2), "s", None,
               f"the same relayed through drctl, its default (relay_lake: {RELAY_MAX_IN_FLIGHT} in flight, "
               f"{relayed['chunk_bytes'] // MIB} MiB chunks, one Put Blob for a blob of one chunk)"),
        Result("rehydration.relay_payload_over_data", round(relay_payload / size, 3), "x", "<= 2",
               f"blob payload on drctl's HTTP traffic over the data: each byte read once and written once "
               f"({relay_payload:,} bytes on the wire; the step's evidence counts "
               f"{relayed['payload_bytes_through_drctl']:,} passed through drctl, at most "
               f"{relayed['max_payload_bytes_in_memory'] // MIB} MiB of it in memory at once)"),
    ]
