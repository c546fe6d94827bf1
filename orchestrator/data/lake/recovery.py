"""Recover the lake: server-side copy from the geo copy, validate from listings, smoke-test.

Rehydration never moves a payload through drctl: each destination blob is told to copy itself
from the source URL (signed with a short-lived read SAS) and we only watch its copy status.
On Azure that is Azure's own copy engine; locally Azurite fetches the source itself.

How a source URL is signed is the only thing that differs between targets: locally a shared-key
SAS (`shared_key_source`), on Azure a user-delegation SAS (orchestrator/targets/azure/stores/lake.py).
A server-side copy needs the destination's storage service to reach the source; when it cannot
(a source with public network access Disabled), lake/relay.py moves the bytes through the runner.
Both share the listing comparison here (`copies_to_make`), so both resume alike, and both stream:
the source and destination listings are walked together, page by page, and feed a bounded pool,
so drctl's memory does not grow with the number of blobs (bench/scale.py measures it).
"""

from __future__ import annotations

import contextlib
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import quote

from azure.core.exceptions import HttpResponseError, ResourceExistsError
from azure.storage.blob import BlobSasPermissions, BlobServiceClient, generate_blob_sas

from orchestrator.data.errors import azure_errors, redact
from orchestrator.data.ingest import ZONES, LakeSink
from orchestrator.data.lake.listing import list_blobs_light
from orchestrator.data.manifest import ValidationResult, compare, in_name_order, lake_facts, md5_text
from orchestrator.model import PermanentError, TransientError
from smoke_tests import lake as lake_checks
from smoke_tests.check import Check


class _InFlight:
    """Counts copies between their start and their terminal status; keeps the maximum seen."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.now = self.max = 0

    def __enter__(self) -> None:
        with self._lock:
            self.now += 1
            self.max = max(self.max, self.now)

    def __exit__(self, *exc: object) -> None:
        with self._lock:
            self.now -= 1


# (container, blob name) -> the URL the destination copies from, signed for reading that blob.
SourceUrl = Callable[[str, str], str]
# container -> the source blobs to copy (items with list_blobs' names: name, size, content_settings).
SourceListing = Callable[[str], Iterable[Any]]


def account_name(service: BlobServiceClient) -> str:
    """The storage account a client reaches, which a shared-key SAS is signed for."""
    if service.account_name is None:
        raise ValueError(f"no storage account name in {service.url}")
    return service.account_name


def shared_key_source(source_service: BlobServiceClient, account_key: str, sas_ttl_s: int = 900) -> SourceUrl:
    """Source URLs signed with a shared-key (service) SAS: the local region pair's way."""
    container_urls: dict[str, str] = {}

    def source_url(container: str, name: str) -> str:
        # signed per blob, when its copy starts: read-only, this one blob, valid from a little in
        # the past (clock skew) until sas_ttl_s from now, which must outlive the copy (on Azure
        # the copy reads the source for as long as it runs)
        now = datetime.now(UTC)
        sas = generate_blob_sas(account_name=account_name(source_service), container_name=container,
                                blob_name=name, account_key=account_key,
                                permission=BlobSasPermissions(read=True), start=now - timedelta(minutes=5),
                                expiry=now + timedelta(seconds=sas_ttl_s))
        if container not in container_urls:
            container_urls[container] = source_service.get_container_client(container).url
        # the blob's URL as the SDK forms it (quoted, "/" and "~" kept), without a client per blob:
        # making one costs more than the rest of the copy request's own work in drctl
        return f"{container_urls[container]}/{quote(name, safe='~/')}?{sas}"

    return source_url


# The evidence's counts, per container and in total.
COUNTS = ("blobs", "bytes", "copied", "bytes_copied", "skipped")
# (container, source blob as listed): one blob to copy.
CopyJob = tuple[str, Any]
# Whether a destination blob (as listed) already holds its source blob (as listed).
Intact = Callable[[str, Any, Any], bool]


def rehydrate_lake(source_service: BlobServiceClient, dest_service: BlobServiceClient,
                   source_account_key: str | SourceUrl, containers: Sequence[str] = ZONES,
                   max_in_flight: int = 16, *, sas_ttl_s: int = 900, poll_interval_s: float = 0.05,
                   copy_timeout_s: float = 900, sleep: Callable[[float], None] = time.sleep,
                   clock: Callable[[], float] = time.monotonic, listing: SourceListing | None = None) -> dict:
    """Copy every blob of `containers` from `source_service` to `dest_service`, server-side.

    `source_account_key` is the source's shared key (a read SAS is signed with it per blob), or a
    `SourceUrl` that signs source URLs its own way (a user-delegation SAS on Azure); the listing
    and everything else are the same either way. `listing` says which source blobs there are (a
    backup generation's snapshots, orchestrator/data/lake/generations.py); by default the
    containers' current blobs.

    Idempotent: a destination blob that already matches its source (size and Content-MD5) is
    skipped, so a resumed step copies only what is missing. At most `max_in_flight` copies run
    at once, and copying starts while the listings are still being walked. Returns evidence
    (counts, bytes, concurrency); never the key or a SAS."""
    if max_in_flight < 1:
        raise ValueError("max_in_flight must be >= 1")
    source_url = (shared_key_source(source_service, source_account_key, sas_ttl_s)
                  if isinstance(source_account_key, str) else source_account_key)
    copier = _BlobCopier(dest_service, source_url, _InFlight(), poll_interval_s, copy_timeout_s, sleep, clock)
    plan = copies_to_make(source_service, dest_service, containers, listing)
    run_pool(lambda container, blob: copier(container, blob.name), plan, max_in_flight, "blob-copy")
    per_container = plan.per_container

    return {"method": getattr(source_url, "method", "server-side copy (Copy Blob from a read-SAS source URL)"),
            "source_account": source_service.account_name, "dest_account": dest_service.account_name,
            "containers": per_container, **totals(per_container), "max_in_flight": max_in_flight,
            "max_in_flight_observed": copier.in_flight.max, "payload_bytes_through_drctl": 0}


def totals(per_container: dict[str, dict]) -> dict[str, int]:
    return {k: sum(s[k] for s in per_container.values()) for k in COUNTS}


def same_size_and_md5(container: str, source: Any, dest: Any) -> bool:
    """A destination blob counts as copied only with the source's size and Content-MD5 and no copy
    still pending or failed: a source without an MD5 is always copied again."""
    md5 = md5_text(source.content_settings.content_md5)
    return bool(md5) and (dest.size, md5_text(dest.content_settings.content_md5)) == (source.size, md5) \
        and getattr(dest.copy, "status", None) in (None, "success")


class CopyPlan:
    """The copies a rehydration must make, found by walking each container's source and destination
    listings together, once, page by page: both come in ascending name order, so a merge of the two
    pairs each source blob with its destination namesake without holding either listing.

    Iterating yields the source blobs whose copy is missing or stale, as it finds them; `per_container`
    counts what has been walked so far (all of it once the iteration ends). Creates the destination
    containers on the way, so an empty source container exists after too."""

    def __init__(self, source_service: BlobServiceClient, dest_service: BlobServiceClient,
                 containers: Sequence[str], listing: SourceListing | None, intact: Intact,
                 include: Sequence[str]) -> None:
        self.source_service, self.dest_service, self.containers = source_service, dest_service, containers
        self.listing, self.intact, self.include = listing, intact, include
        self.per_container: dict[str, dict] = {}

    def _source(self, container: str) -> Iterable[Any]:
        if self.listing is not None:
            return self.listing(container)
        return list_blobs_light(self.source_service.get_container_client(container), self.include)

    def __iter__(self) -> Iterator[CopyJob]:
        with azure_errors("lake rehydration"):
            for container in self.containers:
                with contextlib.suppress(ResourceExistsError):
                    self.dest_service.create_container(container)
                dest = list_blobs_light(self.dest_service.get_container_client(container), ["copy"])
                stats = self.per_container[container] = dict.fromkeys(COUNTS, 0)
                for blob, have in with_namesakes(self._source(container), dest, container):
                    stats["blobs"] += 1
                    stats["bytes"] += blob.size
                    if have is not None and self.intact(container, blob, have):
                        stats["skipped"] += 1
                    else:
                        stats["copied"] += 1
                        stats["bytes_copied"] += blob.size
                        yield container, blob


def with_namesakes(source: Iterable[Any], dest: Iterable[Any], container: str) -> Iterator[tuple[Any, Any | None]]:
    """Each source blob with the destination blob of the same name, or None (`merge_by_name`)."""
    return merge_by_name(source, dest, f"the source listing of {container}", f"the destination listing of {container}")


def merge_by_name(left: Iterable[Any], right: Iterable[Any], left_what: str, right_what: str, *,
                  right_only: bool = False) -> Iterator[tuple[Any, Any]]:
    """(left blob, right blob of the same name), None for the side without the name: a merge join of
    two listings in ascending name order (refused otherwise), holding one blob of each at a time.
    Names only `right` has come as (None, right blob) with `right_only`; without it they are
    skipped, and `right` is read no further than the left listing's last name."""
    lefts, rights = in_name_order(left, left_what), in_name_order(right, right_what)
    a, b = next(lefts, None), next(rights, None)
    while a is not None or (right_only and b is not None):
        if b is None or (a is not None and a.name < b.name):
            yield a, None
            a = next(lefts, None)
        elif a is None or b.name < a.name:
            if right_only:
                yield None, b
            b = next(rights, None)
        else:
            yield a, b
            a, b = next(lefts, None), next(rights, None)


def copies_to_make(source_service: BlobServiceClient, dest_service: BlobServiceClient, containers: Sequence[str],
                   listing: SourceListing | None, *, intact: Intact = same_size_and_md5,
                   include: Sequence[str] = ()) -> CopyPlan:
    """The copies to make (a `CopyPlan`, walked as it is iterated). `include` asks the source listing
    for more (the relay needs each blob's metadata)."""
    return CopyPlan(source_service, dest_service, containers, listing, intact, include)


def run_pool(work: Callable[[str, Any], None], jobs: Iterable[CopyJob], max_in_flight: int, name: str) -> None:
    """Every job, on `max_in_flight` threads that each take the next job from `jobs` when free: a job
    is taken only when a thread can start it, so a plan of millions is never held at once. The first
    failure (of a job, or of `jobs` itself) stops the taking; it is raised once the running jobs end.

    The threads pull from one shared iterator rather than being handed jobs through an executor's
    queue: a job then costs a lock and a call, not a future, a queue hand-off and a thread wake-up
    each, which at thousands of copies a second is a good part of drctl's own CPU (bench/scale.py)."""
    taking, failures = threading.Lock(), list[BaseException]()
    pending = iter(jobs)

    def next_job() -> CopyJob | None:
        with taking:
            if failures:
                return None
            try:
                return next(pending, None)
            except BaseException as error:
                failures.append(error)
                return None

    def worker() -> None:
        while (job := next_job()) is not None:
            try:
                work(*job)
            except BaseException as error:
                with taking:
                    failures.append(error)
                return

    threads = [threading.Thread(target=worker, name=f"{name}-{n}", daemon=True) for n in range(max_in_flight)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    if failures:
        raise failures[0]


@dataclass(frozen=True)
class _BlobCopier:
    """One blob's server-side copy, from its start to its terminal status; called from many threads."""

    dest_service: BlobServiceClient
    source_url: SourceUrl
    in_flight: _InFlight
    poll_interval_s: float
    copy_timeout_s: float
    sleep: Callable[[float], None]
    clock: Callable[[], float]

    def __call__(self, container: str, name: str) -> None:
        dest_blob = self.dest_service.get_blob_client(container, name)
        what = f"copy {container}/{name}"
        with azure_errors(what), self.in_flight:
            started = _start_copy(dest_blob, self.source_url(container, name))
            status, description = self._wait(dest_blob, what, started["copy_status"], started["copy_id"])
        if status != "success":
            # status_description may quote the source URL: redact before it reaches a report
            raise PermanentError(f"{what}: copy {status}: {redact(str(description or ''))}")

    def _wait(self, dest_blob: Any, what: str, status: str, copy_id: str) -> tuple[str, str | None]:
        """Poll until the copy leaves "pending"; abort it past copy_timeout_s (a transient failure)."""
        description = None
        deadline = self.clock() + self.copy_timeout_s
        while status == "pending":
            if self.clock() > deadline:
                dest_blob.abort_copy(copy_id)
                raise TransientError(f"{what}: still pending after {self.copy_timeout_s:.0f}s, aborted")
            self.sleep(self.poll_interval_s)
            props = dest_blob.get_blob_properties().copy
            status, description = props.status, props.status_description
        return status, description


def _start_copy(dest_blob: Any, url: str) -> dict:
    try:
        return dest_blob.start_copy_from_url(url)
    except HttpResponseError as err:
        if getattr(err, "error_code", None) != "PendingCopyOperation":
            raise
        # a copy left pending by a run that died: abort it and start ours
        dest_blob.abort_copy(dest_blob.get_blob_properties().copy.id)
        return dest_blob.start_copy_from_url(url)


def validate_lake(dest_service: BlobServiceClient, manifest: dict,
                  checks: Sequence[Check] = lake_checks.DATA) -> ValidationResult:
    """The lake's data checks (count, bytes and listing digest per container) and its own
    watermark, exactly against the manifest. Nothing is downloaded but the small watermark record."""
    expected = manifest["containers"]
    with azure_errors("lake validation"):
        actual = lake_facts(dest_service, list(expected))
        watermark = LakeSink(dest_service).watermark()
    return compare("lake", expected, actual, checks,
                   manifest.get("watermark"), watermark)
