"""Cosmos DB as one more sink of the ingestion pipeline (orchestrator/data/ingest.py's Sink): the stack's
container holds each batch's readings bucketed per device (one document per device and batch, its
readings in an array, the device's site and model carried along: the bucket pattern of telemetry in a
document store), for normal ingestion and for the replay after a failover.

A document is a function of its batch and the reference data alone, so re-sending a batch rewrites
the same documents: ingestion is idempotent. Cosmos DB has no transaction across partitions, so no
watermark record commits with the batch as PostgreSQL's does: each document says how many its batch
has (`of`), and the store's watermark is the newest batch it holds whole. A store that lost the tail
of a batch (the writes its replication had not carried) reports the batch before; the replay then
re-sends that batch whole.
"""

from __future__ import annotations

from collections import defaultdict
from typing import Any

from orchestrator.data.errors import azure_errors
from orchestrator.data.source import Batch

NAME = "cosmos_db"


def documents(batch: Batch, devices: dict[str, dict], partition_key_path: str) -> list[dict[str, Any]]:
    """The batch's documents, in the order they are written: by device."""
    readings: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for event in batch.events:
        readings[event["device_id"]].append({"event": event["id"], "ts": event["ts"], "kind": event["kind"],
                                             "value": event["value"]})
    docs = []
    for device_id in sorted(readings):
        device = devices.get(device_id, {})
        doc: dict[str, Any] = {"id": f"{device_id}.b{batch.index:06d}", "deviceId": device_id, "batch": batch.index,
                               "of": len(readings), "site": device.get("site"), "model": device.get("model"),
                               "readings": readings[device_id]}
        if partition_key_path != "/id":  # any other key path partitions by device
            set_path(doc, partition_key_path, device_id)
        docs.append(doc)
    return docs


def write_order(doc: dict[str, Any]) -> tuple[int, str]:
    return int(doc.get("batch", -1)), str(doc.get("id"))


def set_path(doc: dict[str, Any], path: str, value: str) -> None:
    """doc at the partition key `path` ("/deviceId", "/a/b") = value, unless the document has one."""
    *parents, leaf = path.strip("/").split("/")
    for name in parents:
        doc = doc.setdefault(name, {})
    doc.setdefault(leaf, value)


def first(rows: list[Any]) -> Any:
    """A `SELECT VALUE` aggregate's value: None over no documents (the local server returns none, Azure null)."""
    return rows[0] if rows else None


class CosmosSink:
    """The stack's container on one account region, reached through azure-cosmos's ContainerProxy."""

    name = NAME

    def __init__(self, container: Any, partition_key_path: str) -> None:
        self.container, self.partition_key_path = container, partition_key_path

    def load_reference(self, devices: list[dict]) -> None:
        """The reference data rides in every document: nothing to load on its own."""

    def has_reference(self) -> bool:
        return True

    def write_batch(self, batch: Batch, devices: dict[str, dict]) -> None:
        with azure_errors(f"cosmos db: batch {batch.index}"):
            for doc in documents(batch, devices, self.partition_key_path):
                self.container.upsert_item(doc)

    def query(self, sql: str, **parameters: Any) -> list[Any]:
        with azure_errors("cosmos db: query"):
            return list(self.container.query_items(
                sql, parameters=[{"name": f"@{k}", "value": v} for k, v in parameters.items()],
                enable_cross_partition_query=True))

    def watermark(self) -> int | None:
        """The newest batch held whole; None before the first."""
        newest = first(self.query("SELECT VALUE MAX(c.batch) FROM c WHERE c.batch >= 0"))
        if newest is None:
            return None
        held = first(self.query("SELECT VALUE COUNT(1) FROM c WHERE c.batch = @batch", batch=newest)) or 0
        whole = first(self.query("SELECT VALUE MAX(c.of) FROM c WHERE c.batch = @batch", batch=newest))
        if whole is not None and held >= whole:
            return int(newest)
        return int(newest) - 1 if newest > 0 else None
