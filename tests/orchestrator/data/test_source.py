"""The system of record, the pipeline's rendering and the watermark arithmetic: no servers."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest

from orchestrator.data import source as source_module
from orchestrator.data.event_time import batch_of, raw_event_name
from orchestrator.data.ingest import ZONES, event_files, kpi_blob, next_watermark, render_batch
from orchestrator.data.replay import data_end, rpo_seconds
from orchestrator.data.source import T0, SourceSystem, batch_window, clear_batch_cache
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
    more_devices = SourceSystem(tmp_path / "d", batch_size=10, seed=1, scale=3, devices=7)
    assert more_devices.n_devices == 21 and len(more_devices.devices()) == 21


def test_rendering_a_batch_is_deterministic_and_covers_every_zone(tmp_path):
    src = SourceSystem(tmp_path, batch_size=40, seed=5)
    src.produce(2)
    devices = {d["device_id"]: d for d in src.devices()}
    first = render_batch(src.batch(1), devices)
    clear_batch_cache()  # the same bytes from (seed, k) alone, not from a cached batch
    again = render_batch(SourceSystem(tmp_path, batch_size=40, seed=5).batch(1), devices)
    assert first == again  # re-ingesting rewrites identical bytes: same Content-MD5
    assert set(first) == set(ZONES)
    reporting = sorted({e["device_id"] for e in src.batch(1).events})
    # one raw file per device under the hour partition of its events, as the ingestion pipeline copies it from landing
    assert [name for name, _, _ in first["raw"]] == [
        f"events/2026/01/01/01/batch-000001-{device}.jsonl" for device in reporting]
    assert [name for name, _, _ in first["enriched"]] == [
        f"events/2026/01/01/01/batch-000001-{device}.jsonl" for device in reporting]
    sites = sorted({devices[device]["site"] for device in reporting})
    assert [name for name, _, _ in first["curated"]] == [
        f"daily/date=2026-01-01/site={site}/batch-000001.csv" for site in sites]
    assert [name for name, _, _ in first["presentation"]] == [kpi_blob(1)] == ["kpi/batch-000001.json"]
    assert sum(data.count(b"\n") for _, data, _ in first["raw"]) == 40
    assert all(b'"site"' in data and b'"anomaly"' in data for _, data, _ in first["enriched"])
    assert all(data.startswith(b"date,device_id,kind,events,min,max,mean\n") for _, data, _ in first["curated"])
    # every event once in the curated aggregates, and the KPI counts them all
    assert sum(int(line.split(b",")[3]) for _, data, _ in first["curated"] for line in data.splitlines()[1:]) == 40
    assert json.loads(first["presentation"][0][1])["devices_reporting"] == len(reporting)


def test_a_device_file_holds_that_devices_events_in_batch_order(tmp_path):
    src = SourceSystem(tmp_path, batch_size=60, seed=5, devices=4)
    src.produce(1)
    files = event_files(src.batch(0))
    assert list(files) == sorted(files) and set(files) <= {d["device_id"] for d in src.devices()}
    lines = [json.loads(line) for data in files.values() for line in data.splitlines()]
    assert sorted(lines, key=lambda e: e["id"]) == list(src.batch(0).events)
    for device, data in files.items():
        ids = [json.loads(line)["id"] for line in data.splitlines()]
        assert ids == sorted(ids) and {json.loads(line)["device_id"] for line in data.splitlines()} == {device}


def test_event_file_names_carry_batch_and_device():
    name = raw_event_name(12, T0 + timedelta(hours=3, minutes=15), "dev-0042")
    assert name == "events/2026/01/01/03/batch-000012-dev-0042.jsonl"
    assert batch_of(name) == 12 and batch_of("events/2026/01/01/03/_watermark.json") is None


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


def test_the_batch_cache_holds_a_bounded_number_of_events(tmp_path, monkeypatch):
    monkeypatch.setattr(source_module, "CACHED_EVENTS", 250)
    clear_batch_cache()
    src = SourceSystem(tmp_path, batch_size=100, seed=9)
    src.produce(4)
    first = src.batch(0)
    assert src.batch(0) is first  # cached: the same batch, its rendered files with it
    for k in range(1, 4):
        src.batch(k)
    assert src.batch(0) is not first and src.batch(0).events == first.events  # evicted, then the same events again
