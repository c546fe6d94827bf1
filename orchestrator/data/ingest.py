"""The ingestion pipeline, for normal ingestion and for replay after a recovery.

Two sinks, each keeping its own watermark inside the store, so a restored store says by itself
up to which batch it holds data:
- the lake: zones raw / enriched / curated / presentation as containers. As on the platform, a
  batch's events arrive as a file the producers drop in raw/landing/events/yyyy/MM/dd/HH, and the
  raw zone holds it under the same name in raw/events/yyyy/MM/dd/HH (what the ingestion pipeline,
  pipelines/ingest_events.json, copies); `raw/_watermark.json` is written after the batch's blobs.
  A local drill's lake replay runs that pipeline itself (orchestrator/pipelines/), not this sink;
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
from decimal import Decimal
from typing import Protocol

import psycopg
from azure.core.exceptions import ResourceExistsError, ResourceNotFoundError
from azure.storage.blob import BlobServiceClient, ContentSettings

from orchestrator.data.connect import pg_connect
from orchestrator.data.errors import azure_errors, pg_errors
from orchestrator.data.event_time import landing_name, raw_event_name
from orchestrator.data.rows import one_row
from orchestrator.data.source import KINDS, Batch, iso

ZONES = ("raw", "enriched", "curated", "presentation")
WATERMARK_BLOB = "_watermark.json"  # in the raw container
REFERENCE_BLOB = "reference/devices.csv"  # in the curated container
PIPELINE = "events"


def blob_name(zone: str, k: int) -> str:
    """A batch's blob in a zone derived from raw (raw's own is event_time.raw_event_name, by hour)."""
    # zero-padded, so listings sort in batch order
    suffix = {"enriched": "events", "curated": "daily", "presentation": "kpi"}[zone]
    ext = {"enriched": "jsonl", "curated": "csv", "presentation": "json"}[zone]
    return f"{suffix}/batch-{k:06d}.{ext}"


def next_watermark(current: int | None, batch: int) -> int:
    """Watermarks only move forward: re-ingesting an old batch must not rewind them."""
    return batch if current is None else max(current, batch)


def _jsonl(rows: Iterable[dict]) -> bytes:
    return "".join(json.dumps(r, sort_keys=True, separators=(",", ":")) + "\n" for r in rows).encode()


def _csv(header: list[str], rows: Iterable[list]) -> bytes:
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow(header)
    writer.writerows(rows)
    return buf.getvalue().encode()


def event_file_bytes(batch: Batch) -> bytes:
    """A batch's event file as producers write it: one JSON line per event."""
    return _jsonl(batch.events)


def is_anomaly(kind: str, value: float) -> bool:
    typical, spread = KINDS[kind]
    return abs(value - typical) > 3 * spread


def render_batch(batch: Batch, devices: dict[str, dict]) -> dict[str, tuple[str, bytes, str]]:
    """zone -> (blob name, bytes, content type) for one batch: the lake's view of it."""
    enriched = []
    for e in batch.events:
        dev = devices.get(e["device_id"], {})
        enriched.append({**e, "site": dev.get("site"), "model": dev.get("model"),
                         "date": e["ts"][:10], "hour": int(e["ts"][11:13]),
                         "anomaly": is_anomaly(e["kind"], e["value"])})
    groups: dict[tuple, list[float]] = defaultdict(list)
    for e in enriched:
        groups[(e["date"], e["device_id"], e["kind"])].append(e["value"])
    daily = [[d, dev, kind, len(v), f"{min(v):.3f}", f"{max(v):.3f}", f"{sum(v) / len(v):.3f}"]
             for (d, dev, kind), v in sorted(groups.items())]
    by_kind: dict[str, list[float]] = defaultdict(list)
    for e in enriched:
        by_kind[e["kind"]].append(e["value"])
    kpi = {"batch": batch.index, "window": {"start": iso(batch.start), "end": iso(batch.end)},
           "events": len(enriched), "devices_reporting": len({e["device_id"] for e in enriched}),
           "anomalies": sum(e["anomaly"] for e in enriched),
           "mean_by_kind": {k: round(sum(v) / len(v), 3) for k, v in sorted(by_kind.items())}}
    k = batch.index
    return {
        "raw": (raw_event_name(k, batch.start), event_file_bytes(batch), "application/x-ndjson"),
        "enriched": (blob_name("enriched", k), _jsonl(enriched), "application/x-ndjson"),
        "curated": (blob_name("curated", k), _csv(["date", "device_id", "kind", "events", "min",
                                                     "max", "mean"], daily), "text/csv"),
        "presentation": (blob_name("presentation", k),
                         json.dumps(kpi, sort_keys=True, indent=1).encode(), "application/json"),
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


def drop_in_landing(service: BlobServiceClient, batch: Batch) -> str:
    """What a producer does with a batch: its event file in the landing zone. Returns the blob's name."""
    name = landing_name(batch.index, batch.start)
    put_blob(service, "raw", name, event_file_bytes(batch), "application/x-ndjson")
    return name


class LakeSink:
    """The lake on one storage account (a BlobServiceClient)."""

    name = "lake"

    def __init__(self, service: BlobServiceClient) -> None:
        self.service = service

    def _put(self, container: str, name: str, data: bytes, content_type: str) -> None:
        put_blob(self.service, container, name, data, content_type)

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
            drop_in_landing(self.service, batch)  # the producers' file, which raw/events copies
            for zone, (name, data, content_type) in render_batch(batch, devices).items():
                self._put(zone, name, data, content_type)
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
                if zone == "raw":  # raw's files come from the landing zone: the producers' drop first
                    drop_in_landing(self.service, batch)
                name, data, content_type = render_batch(batch, by_id)[zone]
                self._put(zone, name, data, content_type)
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
        rows = [(e["id"], e["ts"], e["device_id"], e["kind"], Decimal(f"{e['value']:.3f}"))
                for e in batch.events]
        # The batch and its watermark commit together.
        with pg_errors(f"postgres: batch {batch.index}"), self._connect() as conn, conn.transaction(), \
                conn.cursor() as cur:
                cur.executemany(
                    "INSERT INTO events (id, ts, device_id, kind, value) VALUES (%s, %s, %s, %s, %s) "
                    "ON CONFLICT (id) DO UPDATE SET ts = EXCLUDED.ts, device_id = EXCLUDED.device_id, "
                    "kind = EXCLUDED.kind, value = EXCLUDED.value", rows)
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
