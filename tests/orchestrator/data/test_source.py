"""The system of record, the pipeline's rendering and the watermark arithmetic: no servers."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from orchestrator.data.ingest import ZONES, blob_name, next_watermark, render_batch
from orchestrator.data.replay import data_end, rpo_seconds
from orchestrator.data.source import T0, SourceSystem, batch_window
from orchestrator.model import PermanentError


def test_same_seed_gives_the_same_batches_however_they_were_produced(tmp_path):
    a = SourceSystem(tmp_path / "a", batch_size=30, seed=11)
    b = SourceSystem(tmp_path / "b", batch_size=30, seed=11)
    a.produce(5)
    for _ in range(5):  # one at a time: still the same history
        b.produce(1)
    assert [x.events for x in a.batches()] == [x.events for x in b.batches()]
    assert a.devices() == b.devices()


def test_another_seed_gives_other_events(tmp_path):
    a = SourceSystem(tmp_path / "a", batch_size=30, seed=1)
    b = SourceSystem(tmp_path / "b", batch_size=30, seed=2)
    a.produce(1), b.produce(1)
    assert a.batch(0).events != b.batch(0).events


def test_batch_k_covers_its_window_in_time_order(tmp_path):
    src = SourceSystem(tmp_path, batch_size=50, seed=3, interval_s=600)
    src.produce(3)
    batch = src.batch(2)
    assert (batch.start, batch.end) == (T0 + timedelta(seconds=1200), T0 + timedelta(seconds=1800))
    stamps = [datetime.fromisoformat(e["ts"].replace("Z", "+00:00")) for e in batch.events]
    assert stamps == sorted(stamps)
    assert all(batch.start <= ts < batch.end for ts in stamps)
    assert len(batch.events) == 50
    ids = [e["id"] for b in src.batches() for e in b.events]
    assert len(ids) == len(set(ids))
    assert {e["device_id"] for e in batch.events} <= {d["device_id"] for d in src.devices()}


def test_batch_window_starts_at_t0():
    assert datetime(2026, 1, 1, tzinfo=UTC) == T0
    assert batch_window(0, 3600) == (T0, T0 + timedelta(hours=1))
    with pytest.raises(ValueError):
        batch_window(-1, 3600)


def test_batches_after_a_watermark_are_strictly_after_it(tmp_path):
    src = SourceSystem(tmp_path, batch_size=5, seed=1)
    assert src.latest() is None and list(src.batches()) == []
    assert src.produce(4) == [0, 1, 2, 3]
    assert [b.index for b in src.batches(None)] == [0, 1, 2, 3]
    assert [b.index for b in src.batches(after=1)] == [2, 3]
    assert [b.index for b in src.batches(after=3)] == []
    assert src.latest() == 3
    with pytest.raises(KeyError):
        src.batch(4)


def test_the_batch_count_persists_and_the_history_cannot_change(tmp_path):
    SourceSystem(tmp_path, batch_size=5, seed=1).produce(3)
    again = SourceSystem(tmp_path, batch_size=5, seed=1)
    assert again.latest() == 2
    assert again.produce(2) == [3, 4]
    with pytest.raises(PermanentError):
        SourceSystem(tmp_path, batch_size=5, seed=2)
    with pytest.raises(PermanentError):
        SourceSystem(tmp_path, batch_size=5, seed=1, scale=2)


def test_scale_multiplies_sizes(tmp_path):
    small = SourceSystem(tmp_path / "s", batch_size=10, seed=1)
    big = SourceSystem(tmp_path / "b", batch_size=10, seed=1, scale=3)
    small.produce(1), big.produce(1)
    assert len(big.batch(0).events) == 3 * len(small.batch(0).events)
    assert len(big.devices()) == 3 * len(small.devices())


def test_rendering_a_batch_is_deterministic_and_covers_every_zone(tmp_path):
    src = SourceSystem(tmp_path, batch_size=40, seed=5)
    src.produce(2)
    devices = {d["device_id"]: d for d in src.devices()}
    first = render_batch(src.batch(1), devices)
    again = render_batch(SourceSystem(tmp_path, batch_size=40, seed=5).batch(1), devices)
    assert first == again  # re-ingesting rewrites identical bytes: same Content-MD5
    assert set(first) == set(ZONES)
    # raw's file sits under the hour partition of its events, as the ingestion pipeline copies it from landing
    assert first["raw"][0] == "events/2026/01/01/01/batch-000001.jsonl"
    assert first["enriched"][0] == blob_name("enriched", 1) == "events/batch-000001.jsonl"
    assert first["curated"][0] == "daily/batch-000001.csv"
    assert first["presentation"][0] == "kpi/batch-000001.json"
    assert first["raw"][1].count(b"\n") == 40
    assert b'"site"' in first["enriched"][1] and b'"anomaly"' in first["enriched"][1]
    assert first["curated"][1].startswith(b"date,device_id,kind,events,min,max,mean\n")


def test_watermarks_only_move_forward():
    assert next_watermark(None, 0) == 0
    assert next_watermark(3, 4) == 4
    assert next_watermark(5, 2) == 5  # replaying an old batch does not rewind the store


def test_data_end_and_rpo(tmp_path):
    src = SourceSystem(tmp_path, batch_size=5, seed=1, interval_s=900)
    assert rpo_seconds(src, None) == 0.0  # nothing produced, nothing missing
    src.produce(6)
    assert data_end(src, None) == T0
    assert data_end(src, 2) == T0 + timedelta(seconds=3 * 900)
    assert src.latest_end() == T0 + timedelta(seconds=6 * 900)
    assert rpo_seconds(src, 2) == 3 * 900
    assert rpo_seconds(src, 5) == 0.0
    assert rpo_seconds(src, None) == 6 * 900
