"""The default local drill's dataset is a real load: thousands of blobs, tens of MB, tens of thousands
of rows. Computed from the source and the lake's rendering (what ingestion writes), no servers."""

from __future__ import annotations

from orchestrator.data.ingest import landing_files, render_batch
from orchestrator.targets.local.prelude import BATCHES_AFTER_BACKUP, BATCHES_BEFORE_BACKUP, DrillData

LAKE_RECORDS = 2  # the reference data (curated/reference/devices.csv) and raw/_watermark.json


def dataset(tmp_path, scale: int) -> dict[str, int]:
    source = DrillData(local_dir=tmp_path, database="platform", scale=scale).source()
    source.produce(BATCHES_BEFORE_BACKUP + BATCHES_AFTER_BACKUP)
    devices = {d["device_id"]: d for d in source.devices()}
    blobs, size, rows = LAKE_RECORDS, 0, 0
    for batch in source.batches():
        written = [blob for zone in render_batch(batch, devices).values() for blob in zone] + landing_files(batch)
        blobs += len(written)
        size += sum(len(data) for _, data, _ in written)
        rows += len(batch.events)
    return {"blobs": blobs, "bytes": size, "rows": rows}


def test_the_default_dataset_is_thousands_of_blobs_tens_of_mb_and_tens_of_thousands_of_rows(tmp_path):
    got = dataset(tmp_path, scale=1)
    assert 2_000 <= got["blobs"] <= 5_000, got
    assert 20_000_000 <= got["bytes"] <= 50_000_000, got
    assert 20_000 <= got["rows"] <= 100_000, got


def test_scale_multiplies_the_dataset(tmp_path):
    one, two = dataset(tmp_path / "one", scale=1), dataset(tmp_path / "two", scale=2)
    assert two["rows"] == 2 * one["rows"]
    assert 1.9 * one["blobs"] < two["blobs"] <= 2 * one["blobs"]
    assert 1.9 * one["bytes"] < two["bytes"] < 2.1 * one["bytes"]
