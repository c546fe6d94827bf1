"""The ingestion pipeline, for normal ingestion and for replay after a recovery.

Two sinks, each keeping its own watermark inside the store, so a restored store says by itself
up to which batch it holds data:
- the lake: zones raw / enriched / curated / presentation as containers. As on the platform, a
  batch's events arrive as one file per device, which the producers drop in
  raw/landing/events/yyyy/MM/dd/HH, and the raw zone holds them under the same names in
  raw/events/yyyy/MM/dd/HH (what the ingestion pipeline, pipelines/ingest_events.json, copies);
  enriched holds each device file with the reference data joined, curated the daily aggregates
  partitioned by date and site, presentation one KPI document per batch. `raw/_watermark.json` is
  written after the batch's blobs. A local drill's lake replay runs that pipeline itself
  (orchestrator/pipelines/), not this sink;
- PostgreSQL: devices, events, and ingestion_watermark updated in the batch's transaction.
Everything written is a function of the batch and the reference data alone (no wall clock), so
re-running a batch rewrites identical bytes and rows: ingestion is idempotent.
"""

from __future__ import annotations

import contextlib
import csv
import hashlib
import io
import json
from collections import defaultdict
from collections.abc import Iterable
from concurrent.futures import ThreadPoolExecutor
from typing import Protocol

import psycopg
from azure.core.exceptions import ResourceExistsError, ResourceNotFoundError
from azure.storage.blob import BlobServiceClient, ContentSettings

from orchestrator.data.connect import pg_connect
from orchestrator.data.errors import azure_errors, pg_errors
from orchestrator.data.event_time import hour_path, landing_name, raw_event_name
from orchestrator.data.rows import one_row
from orchestrator.data.source import KINDS, Batch, iso

ZONES = ("raw", "enriched", "curated", "presentation")
WATERMARK_BLOB = "_watermark.json"  # in the raw container
REFERENCE_BLOB = "reference/devices.csv"  # in the curated container
PIPELINE = "events"
NDJSON = "application/x-ndjson"
PUT_WORKERS = 8


def kpi_blob(k: int) -> str:
    """A batch's KPI document in the presentation zone. Zero-padded, so listings sort in batch order."""
    return f"kpi/batch-{k:06d}.json"


def next_watermark(current: int | None, batch: int) -> int:
    """Watermarks only move forward: re-ingesting an old batch must not rewind them."""
    return batch if current is None else max(current, batch)


_ROW = json.JSONEncoder(sort_keys=True, separators=(",", ":"))  # one encoder: a drill encodes ~10^5 rows


def _jsonl(rows: Iterable[dict]) -> bytes:
    return "".join(_ROW.encode(r) + "\n" for r in rows).encode()


def _csv(header: list[str], rows: Iterable[list]) -> bytes:
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow(header)
    writer.writerows(rows)
    return buf.getvalue().encode()


def device_events(batch: Batch) -> dict[str, list[dict]]:
    """A batch's events by device, devices in order, each device's events in the batch's order."""
    by_device: dict[str, list[dict]] = defaultdict(list)
    for e in batch.events:
        by_device[e["device_id"]].append(e)
    return {device: by_device[device] for device in sorted(by_device)}


def event_files(batch: Batch) -> dict[str, bytes]:
    """A batch's event files as producers write them, by device: one JSON line per event."""
    if "event_files" not in batch.memo:
        batch.memo["event_files"] = {device: _jsonl(events) for device, events in device_events(batch).items()}
    return batch.memo["event_files"]


def is_anomaly(kind: str, value: float) -> bool:
    typical, spread = KINDS[kind]
    return abs(value - typical) > 3 * spread


Blob = tuple[str, bytes, str]  # name, bytes, content type


def render_batch(batch: Batch, devices: dict[str, dict]) -> dict[str, list[Blob]]:
    """zone -> the batch's blobs there, in name order: the lake's view of one batch."""
    k, hour = batch.index, hour_path(batch.start)
    raw, enriched_files = [], []
    daily: dict[tuple[str, str], dict[tuple[str, str], list[float]]] = defaultdict(lambda: defaultdict(list))
    by_kind: dict[str, list[float]] = defaultdict(list)
    anomalies = 0
    for device, events in device_events(batch).items():
        dev = devices.get(device, {})
        site = dev.get("site")
        raw.append((raw_event_name(k, batch.start, device), event_files(batch)[device], NDJSON))
        enriched = [{**e, "site": site, "model": dev.get("model"), "date": e["ts"][:10],
                     "hour": int(e["ts"][11:13]), "anomaly": is_anomaly(e["kind"], e["value"])} for e in events]
        enriched_files.append((f"events/{hour}/batch-{k:06d}-{device}.jsonl", _jsonl(enriched), NDJSON))
        for e in enriched:
            daily[(e["date"], site or "unknown")][(device, e["kind"])].append(e["value"])
            by_kind[e["kind"]].append(e["value"])
            anomalies += e["anomaly"]
    curated = [(f"daily/date={d}/site={site}/batch-{k:06d}.csv",
                _csv(["date", "device_id", "kind", "events", "min", "max", "mean"],
                     [[d, dev, kind, len(v), f"{min(v):.3f}", f"{max(v):.3f}", f"{sum(v) / len(v):.3f}"]
                      for (dev, kind), v in sorted(groups.items())]), "text/csv")
               for (d, site), groups in sorted(daily.items())]
    kpi = {"batch": k, "window": {"start": iso(batch.start), "end": iso(batch.end)},
           "events": len(batch.events), "devices_reporting": len(raw), "anomalies": anomalies,
           "mean_by_kind": {kind: round(sum(v) / len(v), 3) for kind, v in sorted(by_kind.items())}}
    return {
        "raw": raw,
        "enriched": enriched_files,
        "curated": curated,
        "presentation": [(kpi_blob(k), json.dumps(kpi, sort_keys=True, indent=1).encode(),
                          "application/json")],
    }


class Sink(Protocol):
    name: str

    def load_reference(self, devices: list[dict]) -> None: ...
    def has_reference(self) -> bool: ...
    def write_batch(self, batch: Batch, devices: dict[str, dict]) -> None: ...
    def watermark(self) -> int | None: ...


def put_blob(service: BlobServiceClient, container: str, name: str, data: bytes, content_type: str) -> None:
    # Content-MD5 set explicitly, so listings carry it and validation needs no download
    settings = ContentSettings(content_type=content_type, content_md5=bytearray(hashlib.md5(data).digest()))
    service.get_blob_client(container, name).upload_blob(
        data, overwrite=True, content_settings=settings, validate_content=True)


def put_blobs(service: BlobServiceClient, container: str, blobs: Iterable[Blob]) -> None:
    """put_blob for many blobs at once: a batch is hundreds of small files, and one request at a
    time would leave the account idle between them. Raises the first failure once all are done."""
    with ThreadPoolExecutor(max_workers=PUT_WORKERS) as pool:
        for done in [pool.submit(put_blob, service, container, *blob) for blob in blobs]:
            done.result()


def landing_files(batch: Batch) -> list[Blob]:
    return [(landing_name(batch.index, batch.start, device), data, NDJSON)
            for device, data in event_files(batch).items()]


class LakeSink:
    """The lake on one storage account (a BlobServiceClient)."""

    name = "lake"

    def __init__(self, service: BlobServiceClient) -> None:
        self.service = service

    def _put(self, container: str, name: str, data: bytes, content_type: str) -> None:
        put_blob(self.service, container, name, data, content_type)

    def _put_zone(self, zone: str, blobs: list[Blob], batch: Batch | None = None) -> None:
        """A zone's blobs of a batch; the raw zone's with the producers' landing files first, which
        raw/events copies."""
        if zone == "raw" and batch is not None:
            blobs = landing_files(batch) + blobs
        put_blobs(self.service, zone, blobs)

    def ensure_containers(self) -> None:
        with azure_errors("lake: create containers"):
            for zone in ZONES:
                with contextlib.suppress(ResourceExistsError):
                    self.service.create_container(zone)

    def load_reference(self, devices: list[dict]) -> None:
        self.ensure_containers()
        header = ["device_id", "site", "model", "installed_on"]
        data = _csv(header, [[d[h] for h in header] for d in devices])
        with azure_errors("lake: reference data"):
            self._put("curated", REFERENCE_BLOB, data, "text/csv")

    def has_reference(self) -> bool:
        with azure_errors("lake: reference data"):
            try:
                return self.service.get_blob_client("curated", REFERENCE_BLOB).exists()
            except ResourceNotFoundError:
                return False

    def write_batch(self, batch: Batch, devices: dict[str, dict]) -> None:
        with azure_errors(f"lake: batch {batch.index}"):
            for zone, blobs in render_batch(batch, devices).items():
                self._put_zone(zone, blobs, batch)
            # the watermark last: it may lag the data after a crash, never run ahead of it
            if next_watermark(self.watermark(), batch.index) == batch.index:
                record = {"pipeline": PIPELINE, "batch": batch.index, "data_end": iso(batch.end)}
                self._put("raw", WATERMARK_BLOB, json.dumps(record, sort_keys=True).encode(),
                          "application/json")

    def rebuild_zone(self, zone: str, batches: Iterable[Batch], devices: list[dict]) -> list[int]:
        """Write one zone's blobs for `batches` (a zone recreated from source instead of copied);
        the curated zone's reference data with it. The watermark is not touched."""
        by_id = {d["device_id"]: d for d in devices}
        written = []
        with azure_errors(f"lake: rebuild {zone}"):
            if zone == "curated":
                self.load_reference(devices)
            for batch in batches:
                self._put_zone(zone, render_batch(batch, by_id)[zone], batch)
                written.append(batch.index)
        return written

    def watermark_record(self) -> dict | None:
        with azure_errors("lake: read watermark"):
            try:
                return json.loads(self.service.get_blob_client("raw", WATERMARK_BLOB)
                                  .download_blob().readall())
            except ResourceNotFoundError:
                return None

    def watermark(self) -> int | None:
        record = self.watermark_record()
        return None if record is None else int(record["batch"])


SCHEMA = """
CREATE TABLE IF NOT EXISTS devices (
    device_id text PRIMARY KEY, site text NOT NULL, model text NOT NULL, installed_on date NOT NULL);
CREATE TABLE IF NOT EXISTS events (
    id bigint PRIMARY KEY, ts timestamptz NOT NULL,
    device_id text NOT NULL REFERENCES devices (device_id), kind text NOT NULL,
    value numeric(12, 3) NOT NULL);
CREATE INDEX IF NOT EXISTS events_ts ON events (ts);
CREATE TABLE IF NOT EXISTS ingestion_watermark (
    pipeline text PRIMARY KEY, batch integer NOT NULL, data_end timestamptz NOT NULL);
"""


class PostgresSink:
    """The relational store: one database, reached through a libpq DSN."""

    name = "postgres"

    def __init__(self, dsn: str) -> None:
        self.dsn = dsn

    def _connect(self) -> psycopg.Connection:
        return pg_connect(self.dsn, site="postgres: ingestion")

    def ensure_schema(self) -> None:
        with pg_errors("postgres: schema"), self._connect() as conn:
            conn.execute(SCHEMA)

    def load_reference(self, devices: list[dict]) -> None:
        self.ensure_schema()
        with pg_errors("postgres: reference data"), self._connect() as conn, conn.cursor() as cur:
            cur.executemany(
                "INSERT INTO devices (device_id, site, model, installed_on) VALUES (%s, %s, %s, %s) "
                "ON CONFLICT (device_id) DO UPDATE SET site = EXCLUDED.site, model = EXCLUDED.model, "
                "installed_on = EXCLUDED.installed_on",
                [(d["device_id"], d["site"], d["model"], d["installed_on"]) for d in devices])

    def has_reference(self) -> bool:
        with pg_errors("postgres: reference data"), self._connect() as conn:
            if one_row(conn.execute("SELECT to_regclass('public.devices')"))[0] is None:
                return False
            return one_row(conn.execute("SELECT count(*) FROM devices"))[0] > 0

    def write_batch(self, batch: Batch, devices: dict[str, dict]) -> None:
        # COPY into a staging table, then one upsert: a batch is thousands of rows, and row-by-row
        # INSERTs would make ingestion the slowest part of a drill. The batch and its watermark
        # commit together.
        with pg_errors(f"postgres: batch {batch.index}"), self._connect() as conn, conn.transaction(), \
                conn.cursor() as cur:
            cur.execute("CREATE TEMP TABLE events_in (LIKE events) ON COMMIT DROP")
            with cur.copy("COPY events_in (id, ts, device_id, kind, value) FROM STDIN") as copy:
                for e in batch.events:
                    copy.write_row((e["id"], e["ts"], e["device_id"], e["kind"], f"{e['value']:.3f}"))
            cur.execute(
                "INSERT INTO events (id, ts, device_id, kind, value) "
                "SELECT id, ts, device_id, kind, value FROM events_in ORDER BY id "
                "ON CONFLICT (id) DO UPDATE SET ts = EXCLUDED.ts, device_id = EXCLUDED.device_id, "
                "kind = EXCLUDED.kind, value = EXCLUDED.value")
            cur.execute(
                "INSERT INTO ingestion_watermark (pipeline, batch, data_end) VALUES (%s, %s, %s) "
                "ON CONFLICT (pipeline) DO UPDATE SET "
                "batch = GREATEST(ingestion_watermark.batch, EXCLUDED.batch), "
                "data_end = GREATEST(ingestion_watermark.data_end, EXCLUDED.data_end)",
                (PIPELINE, batch.index, batch.end))

    def watermark(self) -> int | None:
        with pg_errors("postgres: read watermark"), self._connect() as conn:
            if one_row(conn.execute("SELECT to_regclass('public.ingestion_watermark')"))[0] is None:
                return None
            row = conn.execute("SELECT batch FROM ingestion_watermark WHERE pipeline = %s",
                               (PIPELINE,)).fetchone()
            return None if row is None else int(row[0])


def ingest_batches(sink: Sink, batches: Iterable[Batch], devices: list[dict]) -> list[int]:
    """Write `batches` into `sink`, loading the reference data first if the store has none.
    Returns the batch numbers written."""
    if not sink.has_reference():
        sink.load_reference(devices)
    by_id = {d["device_id"]: d for d in devices}
    written = []
    for batch in batches:
        sink.write_batch(batch, by_id)
        written.append(batch.index)
    return written
