"""Validation: the lake checked against its backup manifest from listings, or by reading it all.

drctl's path (orchestrator/data/lake/recovery.py validate_lake): per container the count, the
bytes and a digest over every blob's (name, size, Content-MD5), from the listing, compared
exactly with the manifest. The naive path downloads every blob, hashes it and compares the hash
with its Content-MD5, and the totals with the manifest (as many downloads at once as the
rehydration copies). Same data as the rehydration benchmark (bench/lake.py).
"""

from __future__ import annotations

import base64
import hashlib
import time
from concurrent.futures import ThreadPoolExecutor

from azure.storage.blob import BlobServiceClient

from bench.lake import GIB, MIB, shared_lake
from bench.report import Result
from orchestrator.data.lake.recovery import validate_lake

FULL_BYTES, QUICK_BYTES = GIB, 32 * MIB
WORKERS = 16


def download_and_hash(service: BlobServiceClient, manifest: dict, workers: int = WORKERS) -> bool:
    """Every blob read and hashed; True when each matches its Content-MD5 and the counts and
    bytes match the manifest."""

    def check(container: str, blob) -> tuple[int, bool]:
        digest = hashlib.md5()
        for chunk in service.get_blob_client(container, blob.name).download_blob().chunks():
            digest.update(chunk)
        expected = blob.content_settings.content_md5
        return blob.size, expected is not None and base64.b64encode(digest.digest()) == base64.b64encode(expected)

    exact = True
    with ThreadPoolExecutor(max_workers=workers) as pool:
        for container, facts in manifest["containers"].items():
            listed = list(service.get_container_client(container).list_blobs())
            checked = list(pool.map(lambda blob, c=container: check(c, blob), listed))
            exact &= all(ok for _, ok in checked) and len(checked) == facts["blobs"] \
                and sum(size for size, _ in checked) == facts["bytes"]
    return exact


def run(quick: bool, total_bytes: int | None = None) -> list[Result]:
    size = total_bytes or (QUICK_BYTES if quick else FULL_BYTES)
    lake = shared_lake(size)
    service = lake.client("backup")

    started = time.perf_counter()
    result = validate_lake(service, lake.manifest)
    listing_s = time.perf_counter() - started
    started = time.perf_counter()
    hashed_ok = download_and_hash(service, lake.manifest)
    hashing_s = time.perf_counter() - started
    if not (result.exact and hashed_ok):
        raise RuntimeError(f"validation disagrees with the manifest: {result.mismatches}")
    return [
        Result("validation.listing_s", round(listing_s, 3), "s", None,
               f"{len(lake.blobs)} blobs, {size / MIB:,.0f} MiB: count, bytes, Content-MD5 digest from listings"),
        Result("validation.download_and_hash_s", round(hashing_s, 2), "s", None,
               f"every blob downloaded and MD5-hashed, {WORKERS} at a time"),
        Result("validation.speedup", round(hashing_s / listing_s, 1), "x", ">= 10",
               "download-and-hash time over listing time"),
    ]
