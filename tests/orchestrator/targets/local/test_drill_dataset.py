"""The default local drill's dataset is a real load: thousands of blobs, tens of MB, tens of thousands
of rows. Computed from the source and the lake's rendering (what ingestion writes), no servers."""

from __future__ import annotations

import pytest

from orchestrator.data.ingest import landing_files, render_batch
from orchestrator.model import PermanentError
from orchestrator.targets.local.prelude import (
    BATCHES_AFTER_BACKUP,
    BATCHES_BEFORE_BACKUP,
    DATASET_ENV,
    DrillData,
)

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


@pytest.fixture
def default_dataset(monkeypatch):
    monkeypatch.delenv(DATASET_ENV, raising=False)  # tests/conftest.py gives drills the small one


def test_the_default_dataset_is_thousands_of_blobs_tens_of_mb_and_tens_of_thousands_of_rows(tmp_path, default_dataset):
    got = dataset(tmp_path, scale=1)
    assert 2_000 <= got["blobs"] <= 5_000, got
    assert 20_000_000 <= got["bytes"] <= 50_000_000, got
    assert 20_000 <= got["rows"] <= 100_000, got


def test_scale_multiplies_events_and_devices(tmp_path, default_dataset):
    one = DrillData(local_dir=tmp_path / "one", database="platform", scale=1).source()
    five = DrillData(local_dir=tmp_path / "five", database="platform", scale=5).source()
    assert (five.events_per_batch, five.n_devices) == (5 * one.events_per_batch, 5 * one.n_devices)


def test_the_small_dataset_is_for_test_suites_and_an_unknown_one_is_refused(tmp_path, monkeypatch):
    monkeypatch.setenv(DATASET_ENV, "small")
    small = dataset(tmp_path / "small", scale=1)
    assert small["rows"] == 900 and small["blobs"] < 150
    monkeypatch.setenv(DATASET_ENV, "huge")
    with pytest.raises(PermanentError, match=r"DRCTL_DRILL_DATASET='huge': not one of default, small"):
        DrillData(local_dir=tmp_path / "huge", database="platform", scale=1).source()
