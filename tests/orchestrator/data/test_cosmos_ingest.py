"""Cosmos DB's ingestion documents (orchestrator/data/cosmos_ingest.py): a function of the batch and the
reference data alone, one per device, each saying how many its batch has (what the watermark counts)."""

from __future__ import annotations

from orchestrator.data.cosmos_ingest import documents, first, write_order
from orchestrator.data.source import SourceSystem


def _source(tmp_path, batches: int) -> SourceSystem:
    source = SourceSystem(tmp_path / "source", batch_size=100, seed=7, interval_s=900)
    source.produce(batches)
    return source


def _batch(tmp_path, k: int = 0):
    source = _source(tmp_path, k + 1)
    return source.batch(k), {d["device_id"]: d for d in source.devices()}


def test_a_batch_becomes_one_document_per_device_with_every_reading(tmp_path):
    batch, devices = _batch(tmp_path, 2)
    docs = documents(batch, devices, "/deviceId")
    assert sum(len(d["readings"]) for d in docs) == len(batch.events)
    assert len({d["deviceId"] for d in docs}) == len(docs) and {d["of"] for d in docs} == {len(docs)}
    assert all(d["batch"] == 2 and d["id"] == f"{d['deviceId']}.b000002" for d in docs)
    assert all(d["site"] == devices[d["deviceId"]]["site"] for d in docs)


def test_rewriting_a_batch_gives_the_same_documents(tmp_path):
    batch, devices = _batch(tmp_path)
    assert documents(batch, devices, "/deviceId") == documents(batch, devices, "/deviceId")


def test_the_partition_key_path_is_filled_with_the_device_even_nested(tmp_path):
    batch, devices = _batch(tmp_path)
    nested = documents(batch, devices, "/device/key")[0]
    assert nested["device"]["key"] == nested["deviceId"]
    by_id = documents(batch, devices, "/id")[0]
    assert by_id["id"].startswith(by_id["deviceId"])  # partitioned by its own id: nothing added


def test_documents_are_replicated_in_the_order_they_were_written(tmp_path):
    source = _source(tmp_path, 2)
    devices = {d["device_id"]: d for d in source.devices()}
    earlier, later = (documents(source.batch(k), devices, "/deviceId") for k in (0, 1))
    shuffled = [*later, *earlier][::-1]
    ordered = sorted(shuffled, key=write_order)
    assert [d["batch"] for d in ordered] == sorted(d["batch"] for d in shuffled)
    assert [d["id"] for d in ordered[:len(earlier)]] == [d["id"] for d in earlier]


def test_an_aggregate_over_no_documents_is_none():
    assert first([]) is None and first([0]) == 0
