"""The landing zone's event files after a failover, and what the raw zone must hold once the
ingestion pipeline has run over a window.

Producers are upstream of the platform (orchestrator/data/source.py): they survive the disaster and
keep their recent files. Once the recovered region's lake is up they drop what they hold into its
landing zone again (the same names, the same bytes: a file already there is left as it is), and the
ingestion pipeline decides what reaches the raw zone. That keeps the pipeline's window the only filter
between landing and raw, so a wrong window shows in the raw zone, not in what was delivered.

What the raw zone holds is judged from listings, never from a count drctl remembers:
- `raw_watermark`: the newest batch up to which every batch's event files (one per device) are in
  raw/events under its hour, with the Content-MD5 of the source's own bytes;
- `window_copied`: the hours a run copied are exactly the window's hours that hold landed files,
  and each of those hours holds in raw/events what it holds in landing.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from datetime import timedelta
from typing import Any

from azure.core.exceptions import ResourceNotFoundError
from azure.storage.blob import BlobServiceClient

from orchestrator.data.errors import azure_errors
from orchestrator.data.event_time import (
    LANDING_EVENTS,
    RAW_EVENTS,
    ReplayWindow,
    hour_path,
    raw_event_name,
)
from orchestrator.data.ingest import event_files, landing_files, put_blobs
from orchestrator.data.manifest import md5_text
from orchestrator.data.source import Batch, SourceSystem

RAW = "raw"
# How much event time the producers keep and deliver again: a day, longer than any drill's history.
PRODUCER_RETENTION = timedelta(hours=24)
DELIVERED_BY = ("the drill's producers (upstream systems, which survive the disaster), dropping the files "
                "they keep into the recovered region's landing zone; drctl's replay only runs the pipeline")


def retained(source: SourceSystem) -> list[Batch]:
    """The batches whose files the producers still hold: those ending within PRODUCER_RETENTION of the newest."""
    since = source.latest_end() - PRODUCER_RETENTION
    return [batch for batch in source.batches() if batch.end > since]


def deliver(service: BlobServiceClient, batches: Iterable[Batch]) -> dict[str, Any]:
    """The producers drop `batches` into the landing zone of `service`'s lake. A file the landing
    zone already holds with the same bytes (by Content-MD5: the rehydrated ones) is left as it is,
    as a sync tool skips what is already there; rewriting it would change nothing but the time the
    delivery takes. Returns evidence."""
    names, sent = [], []
    with azure_errors("lake: producers' landing files"):
        held = _listing(service, f"{LANDING_EVENTS}/")
        for batch in batches:
            files = landing_files(batch)
            names += [name for name, _, _ in files]
            sent += [(name, data, kind) for name, data, kind in files
                     if held.get(name[len(LANDING_EVENTS) + 1:], (None, None))[1] != _md5(data)]
        put_blobs(service, RAW, sent)
    hours = sorted({name[len(LANDING_EVENTS) + 1:].rsplit("/", 1)[0] for name in names})
    return {"delivered_by": DELIVERED_BY, "files": len(names), "files_written": len(sent),
            "files_already_there": len(names) - len(sent), "hours": hours}


def _md5(data: bytes) -> str | None:
    return md5_text(bytearray(hashlib.md5(data).digest()))


def _listing(service: BlobServiceClient, prefix: str) -> dict[str, tuple[int, str | None]]:
    """Blob name (under `prefix`) -> (size, Content-MD5) in the raw container; empty without one."""
    container = service.get_container_client(RAW)
    try:
        return {blob.name[len(prefix):]: (blob.size, md5_text(blob.content_settings.content_md5))
                for blob in container.list_blobs(name_starts_with=prefix)}
    except ResourceNotFoundError:
        return {}


def raw_watermark(service: BlobServiceClient, source: SourceSystem) -> int | None:
    """The newest batch k such that raw/events holds every batch 0..k whole: each of its device
    files under the hour of its start with the source's bytes (by Content-MD5); None when batch 0
    is not there."""
    with azure_errors("lake: read raw/events"):
        held = _listing(service, f"{RAW_EVENTS}/")
    watermark = None
    for batch in source.batches():
        for device, data in event_files(batch).items():
            name = raw_event_name(batch.index, batch.start, device)[len(RAW_EVENTS) + 1:]
            if held.get(name, (None, None))[1] != _md5(data):
                return watermark
        watermark = batch.index
    return watermark


def _hour_folder(folder: str, zone_prefix: str) -> str | None:
    """The yyyy/MM/dd/HH of a folder path under `zone_prefix`, or None if it is not an hour partition."""
    rest = folder.strip("/")
    if not rest.startswith(f"{zone_prefix}/"):
        return None
    parts = rest[len(zone_prefix) + 1:].split("/")
    if len(parts) != 4 or not all(p.isdigit() for p in parts):
        return None
    return "/".join(parts)


def window_copied(service: BlobServiceClient, window: ReplayWindow, copies: list[dict[str, Any]]) -> dict[str, Any]:
    """Whether a run of the ingestion pipeline over `window` copied exactly what its description
    promises: every hour of [window start's hour, window end) that holds landed files, none other,
    each from landing/events/<hour> to events/<hour> of the raw container, so that raw/events/<hour>
    then holds what landing/events/<hour> holds. `copies` are the run's Copy records (the runner's
    evidence: source and sink container and folder). Returns evidence with `exact` and `mismatches`."""
    mismatches: list[str] = []
    copied: list[str] = []
    for copy in copies:
        source, sink = copy["source"], copy["sink"]
        hour = _hour_folder(source["folder"], LANDING_EVENTS)
        if source["container"] != RAW or sink["container"] != RAW or hour is None:
            mismatches.append(f"copied {source['container']}/{source['folder']} to {sink['container']}/{sink['folder']}: "
                              f"not an hour of {RAW}/{LANDING_EVENTS} into {RAW}/{RAW_EVENTS}")
            continue
        if _hour_folder(sink["folder"], RAW_EVENTS) != hour:
            mismatches.append(f"copied the hour {hour} of landing into {sink['container']}/{sink['folder']}, "
                              f"not {RAW}/{RAW_EVENTS}/{hour}")
        copied.append(hour)
    hours = [hour_path(h) for h in window.hours()]
    with azure_errors("lake: compare landing and raw hours"):
        landed = {h: landing for h in hours if (landing := _listing(service, f"{LANDING_EVENTS}/{h}/"))}
        mismatches += [f"hour {h} of the window holds landed files and was not copied" for h in landed if h not in copied]
        mismatches += [f"hour {h} was copied, and is not an hour of the window with landed files"
                       for h in sorted(set(copied) - set(landed))]
        mismatches += [f"hour {h} was copied {copied.count(h)} times" for h in sorted(set(copied)) if copied.count(h) > 1]
        for hour, landing in landed.items():  # what the raw zone holds there, file by file
            raw = _listing(service, f"{RAW_EVENTS}/{hour}/")
            mismatches += [f"{RAW}/{RAW_EVENTS}/{hour}/{name}: {'missing' if name not in raw else 'differs'}"
                           for name in sorted(landing) if raw.get(name) != landing[name]]
            mismatches += [f"{RAW}/{RAW_EVENTS}/{hour}/{name}: not in landing" for name in sorted(set(raw) - set(landing))]
    return {"exact": not mismatches, "mismatches": mismatches, "window_hours": hours,
            "hours_landed": list(landed), "hours_copied": sorted(set(copied))}

