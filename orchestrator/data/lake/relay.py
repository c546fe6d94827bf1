"""Recover the lake by relaying each blob through the runner: read it from the source, write it to
the destination, in bounded chunks.

Why not a server-side copy: Copy Blob makes the destination's storage service fetch the source
URL, and that service has no network path to a source whose public network access is Disabled
(it answers CannotVerifyCopySource). The machine that runs drctl does have one, through private
endpoints to the source account, so it moves the bytes itself, with its own Entra credential on
both sides (no SAS at all).

- Memory is bounded whatever the blob size: a worker holds one chunk at a time. A blob is read
  by ranges (each with If-Match on the listed ETag, so a blob that changes mid-read is caught)
  and written as blocks (Put Block, with a transactional MD5), then committed (Put Block List)
  with the source's content settings and metadata. Put Block List stores the Content-MD5 it is
  given and computes none, so the destination lists the same (name, size, Content-MD5) as the
  source, also for a source blob without an MD5.
- A blob of one chunk or less whose source has a Content-MD5 (most of a lake: small files) is
  read once and written with one Put Blob carrying that MD5 (x-ms-blob-content-md5, stored as
  given) and a transactional one: one write request instead of two. Not for a source without an
  MD5: Put Blob would compute one, and the destination would list an MD5 its source lacks.
  https://learn.microsoft.com/rest/api/storageservices/put-blob
- A source blob's Content-MD5, when it has one, is checked against the bytes read before commit.
- Resume: `copies_to_make` (lake/recovery.py) skips a destination blob with the source's size
  and Content-MD5, walking both listings as the copies go (memory does not grow with the lake).
  A source blob without an MD5 is skipped when the journal (one JSON line per committed blob)
  says it was committed from the same source ETag and the destination still has the ETag that
  commit gave it.
https://learn.microsoft.com/rest/api/storageservices/put-block-list
"""

from __future__ import annotations

import hashlib
import json
import math
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any

from azure.core import MatchConditions
from azure.core.exceptions import HttpResponseError
from azure.storage.blob import BlobBlock, BlobServiceClient, ContentSettings

from orchestrator.atomic import append_text, make_dirs
from orchestrator.data.errors import azure_errors
from orchestrator.data.ingest import ZONES
from orchestrator.data.lake.recovery import (
    CopyJob,
    SourceListing,
    copies_to_make,
    run_pool,
    same_size_and_md5,
    totals,
)
from orchestrator.data.manifest import md5_text
from orchestrator.model import PermanentError, TransientError

METHOD = "relay through the runner (ranged reads from the source, Put Block / Put Block List to the destination)"
DEFAULT_CHUNK_BYTES = 8 * 1024 * 1024
# A block blob has at most 50,000 committed blocks: past chunk x 50,000 bytes the chunk grows.
MAX_BLOCKS = 50_000
Say = Callable[[str], None]


def _etag(value: str | None) -> str | None:
    return value.strip('"') if value else None


class RelayJournal:
    """Which blobs this rehydration committed: (container, name) -> (source ETag, destination ETag).

    Appended to after each commit, so a run killed mid-way keeps what it finished. A torn last
    line (the kill came mid-write) is ignored: that blob is copied again. Only what an earlier run
    wrote is read back, and of that only the blobs whose source had no Content-MD5: the others are
    recognised by their MD5, so memory holds the MD5-less blobs of an interrupted run, not the lake."""

    def __init__(self, path: Path | None) -> None:
        self.path = path
        self._lock = threading.Lock()
        self.entries: dict[tuple[str, str], tuple[str | None, str | None]] = {}
        if path is not None and path.is_file():
            with open(path, encoding="utf-8") as lines:
                for line in lines:
                    try:
                        entry = json.loads(line)
                    except json.JSONDecodeError:
                        continue
                    if not entry.get("source_md5"):  # absent in journals written before it was recorded
                        self.entries[(entry["container"], entry["name"])] = (entry["source_etag"], entry["dest_etag"])

    def record(self, container: str, name: str, source_etag: str | None, dest_etag: str | None,
               source_md5: bool) -> None:
        if self.path is None:
            return
        with self._lock:
            make_dirs(self.path.parent)
            with append_text(self.path) as out:
                out.write(json.dumps({"container": container, "name": name, "source_etag": source_etag,
                                      "dest_etag": dest_etag, "source_md5": source_md5}) + "\n")

    def intact(self, container: str, source: Any, dest: Any) -> bool:
        """The destination blob is the one this journal committed from this very source blob."""
        if same_size_and_md5(container, source, dest):
            return True
        recorded = self.entries.get((container, source.name))
        return recorded is not None and dest.size == source.size \
            and recorded == (_etag(source.etag), _etag(dest.etag))


class _Progress:
    """Blobs and bytes relayed so far, of those found to copy so far (the listings are walked as the
    copies go), said at most every `every_s` seconds and once at the end."""

    def __init__(self, say: Say | None, clock: Callable[[], float], every_s: float) -> None:
        self.say, self.clock, self.every_s = say, clock, every_s
        self.blobs = self.size = self.blobs_done = self.bytes_done = 0
        self._lock = threading.Lock()
        self._last = clock()

    def found(self, size: int) -> None:
        with self._lock:
            self.blobs += 1
            self.size += size

    def add(self, size: int, blob_done: bool = False) -> None:
        with self._lock:
            self.bytes_done += size
            self.blobs_done += blob_done
            if self.say is not None and self.clock() - self._last >= self.every_s:
                self._last = self.clock()
                self.say(self.line())

    def line(self) -> str:
        return (f"lake relay: {self.blobs_done}/{self.blobs} blobs, "
                f"{self.bytes_done / 2**20:.1f}/{self.size / 2**20:.1f} MiB copied")


def chunk_for(size: int, chunk_bytes: int) -> int:
    """The chunk for a blob of `size` bytes: `chunk_bytes`, or larger when that would need more blocks than allowed."""
    return max(chunk_bytes, math.ceil(size / MAX_BLOCKS))


def relay_lake(source_service: BlobServiceClient, dest_service: BlobServiceClient,
               containers: Sequence[str] = ZONES, max_in_flight: int = 8, *,
               chunk_bytes: int = DEFAULT_CHUNK_BYTES, journal: Path | None = None, say: Say | None = None,
               progress_every_s: float = 30.0, clock: Callable[[], float] = time.monotonic,
               listing: SourceListing | None = None) -> dict:
    """Copy every blob of `containers` from `source_service` to `dest_service` through this process.

    At most `max_in_flight` blobs move at once, each holding one chunk of `chunk_bytes` (so about
    max_in_flight x chunk_bytes of payload in memory). `journal` (a file in the run directory)
    lets a resumed run skip MD5-less blobs it already committed. Returns evidence like
    rehydrate_lake's, with the bytes that passed through drctl."""
    if max_in_flight < 1 or chunk_bytes < 1:
        raise ValueError("max_in_flight and chunk_bytes must be >= 1")
    done = RelayJournal(journal)
    plan = copies_to_make(source_service, dest_service, containers, listing, intact=done.intact,
                          include=("metadata",))
    progress = _Progress(say, clock, progress_every_s)
    largest_chunk = 0

    def found() -> Iterator[CopyJob]:
        nonlocal largest_chunk
        for container, blob in plan:
            if say is not None and not progress.blobs:
                say(f"lake relay: copying what the destination lacks, as the listings are walked "
                    f"({max_in_flight} at a time, {chunk_bytes / 2**20:.0f} MiB chunks)")
            progress.found(blob.size)
            largest_chunk = max(largest_chunk, chunk_for(blob.size, chunk_bytes))
            yield container, blob

    def relay(container: str, blob: Any) -> None:
        dest_etag = _relay_blob(source_service, dest_service, container, blob, chunk_bytes, progress)
        done.record(container, blob.name, _etag(blob.etag), dest_etag,
                    source_md5=bool(md5_text(blob.content_settings.content_md5)))

    run_pool(relay, found(), max_in_flight, "blob-relay")
    if say is not None and progress.blobs:
        say(progress.line())
    per_container = plan.per_container
    return {"method": METHOD, "source_account": source_service.account_name,
            "dest_account": dest_service.account_name, "containers": per_container, **totals(per_container),
            "max_in_flight": max_in_flight, "chunk_bytes": chunk_bytes,
            "max_payload_bytes_in_memory": max_in_flight * largest_chunk,
            "payload_bytes_through_drctl": progress.bytes_done,
            "journal": journal.name if journal is not None else None}


def _relay_blob(source_service: BlobServiceClient, dest_service: BlobServiceClient, container: str, blob: Any,
                chunk_bytes: int, progress: _Progress) -> str | None:
    """One blob, range by range; returns the destination's new ETag."""
    what = f"relay {container}/{blob.name}"
    snapshot = getattr(blob, "snapshot", None)
    source = source_service.get_blob_client(container, blob.name, snapshot=snapshot)
    dest = dest_service.get_blob_client(container, blob.name)
    # A snapshot cannot change; a live blob is read only while it still has the listed ETag.
    condition = {} if snapshot else {"etag": blob.etag, "match_condition": MatchConditions.IfNotModified}
    chunk = chunk_for(blob.size, chunk_bytes)
    expected = md5_text(blob.content_settings.content_md5)
    if expected and blob.size <= chunk:
        return _relay_small_blob(source, dest, what, container, blob, condition, progress)
    digest, blocks = hashlib.md5(usedforsecurity=False), []
    with azure_errors(what):
        try:
            for index, offset in enumerate(range(0, blob.size, chunk)):
                length = min(chunk, blob.size - offset)
                data = source.download_blob(offset=offset, length=length, max_concurrency=1, **condition).readall()
                if len(data) != length:
                    raise TransientError(f"{what}: read {len(data)} of {length} bytes at offset {offset}")
                digest.update(data)
                block_id = f"{index:06d}"  # one length for every block of a blob, as the service requires
                dest.stage_block(block_id, data, length=length, validate_content=True)
                blocks.append(BlobBlock(block_id))
                progress.add(length)
        except HttpResponseError as err:
            if getattr(err, "error_code", None) == "ConditionNotMet":
                raise TransientError(f"{what}: the source blob changed while it was read; listing it again") from None
            raise
        _check_md5(what, container, blob, expected, digest.digest())
        committed = dest.commit_block_list(blocks, metadata=dict(blob.metadata or {}),
                                           content_settings=_settings(blob))
    progress.add(0, blob_done=True)
    return _etag(str(committed.get("etag") or "") or None)


def _relay_small_blob(source: Any, dest: Any, what: str, container: str, blob: Any, condition: dict,
                      progress: _Progress) -> str | None:
    """A blob of one chunk with a source Content-MD5: one read, one Put Blob; returns the new ETag."""
    with azure_errors(what):
        try:
            data = source.download_blob(offset=0, length=blob.size, max_concurrency=1, **condition).readall() \
                if blob.size else b""
        except HttpResponseError as err:
            if getattr(err, "error_code", None) == "ConditionNotMet":
                raise TransientError(f"{what}: the source blob changed while it was read; listing it again") from None
            raise
        if len(data) != blob.size:
            raise TransientError(f"{what}: read {len(data)} of {blob.size} bytes")
        _check_md5(what, container, blob, md5_text(blob.content_settings.content_md5),
                   hashlib.md5(data, usedforsecurity=False).digest())
        progress.add(len(data))
        written = dest.upload_blob(data, length=len(data), overwrite=True, validate_content=True, max_concurrency=1,
                                   metadata=dict(blob.metadata or {}), content_settings=_settings(blob))
    progress.add(0, blob_done=True)
    return _etag(str(written.get("etag") or "") or None)


def _check_md5(what: str, container: str, blob: Any, expected: str | None, read: bytes) -> None:
    if expected and md5_text(read) != expected:
        raise PermanentError(f"{what}: the bytes read do not match the source's Content-MD5 {expected}",
                             {"blob": f"{container}/{blob.name}", "content_md5": expected})


def _settings(blob: Any) -> ContentSettings:
    """The source's content settings for the destination, its Content-MD5 (or its absence) included."""
    settings = blob.content_settings
    return ContentSettings(
        content_type=settings.content_type, content_encoding=settings.content_encoding,
        content_language=settings.content_language, content_disposition=settings.content_disposition,
        cache_control=settings.cache_control, content_md5=settings.content_md5)
