"""Bring a recovered store up to date, and measure how far behind it was (RPO).

The starting point is the watermark the store itself holds after its restore, never a number
remembered elsewhere: the store is the only witness of what it really contains.
"""

from __future__ import annotations

from datetime import datetime

from orchestrator.data.ingest import Sink, ingest_batches
from orchestrator.data.source import T0, SourceSystem, iso


def data_end(source: SourceSystem, watermark: int | None) -> datetime:
    """The data timestamp of a store at `watermark`: the end of its newest batch (T0 if none)."""
    return T0 if watermark is None else source.window(watermark)[1]


def rpo_seconds(source: SourceSystem, watermark: int | None) -> float:
    """Data the store is missing, in simulated time: source_latest_end - store_data_end."""
    return max(0.0, (source.latest_end() - data_end(source, watermark)).total_seconds())


def replay(sink: Sink, source: SourceSystem) -> dict:
    """Ingest every source batch after the store's own watermark. Idempotent: a second call
    finds the store caught up and replays nothing. Returns evidence."""
    before = sink.watermark()
    replayed = ingest_batches(sink, source.batches(after=before), source.devices())
    after = sink.watermark()
    latest = source.latest()
    return {
        "store": sink.name,
        "from_watermark": before,
        "batches_replayed": replayed,
        "count": len(replayed),
        "watermark": after,
        "source_latest": latest,
        "caught_up": after == latest,
        "data_end_before": iso(data_end(source, before)),
        "data_end_after": iso(data_end(source, after)),
        "rpo_before_replay_s": rpo_seconds(source, before),
        "rpo_after_replay_s": rpo_seconds(source, after),
    }


def catch_up(sinks: list[Sink], source: SourceSystem) -> dict[str, dict]:
    """Normal ingestion is the same motion: each store takes what is after its watermark."""
    return {sink.name: replay(sink, source) for sink in sinks}
