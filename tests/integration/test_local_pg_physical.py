"""PostgreSQL restored physically on a real local region pair: base backups and the WAL archive taken as
the drill's prelude takes them, then restored as its rehydrate step restores them (postgres/physical.py).

One pair serves the module: batches 0..3, base backup g001, batches 4..5, base backup g002, batches
6..7 (their segment archived before going on), batch 8 (perhaps archived, perhaps lost with the
primary), then the disaster. Each test restores the secondary server again from the backup store.
The damage test runs last: it breaks the newest base backup for good.
"""

from __future__ import annotations

import shutil
import tempfile
import time
from datetime import timedelta
from pathlib import Path

import psycopg
import pytest

from orchestrator.data.backup_catalog import (
    INDEX,
    backup_postgres_generation,
    choose,
    damage_backups,
    record_generation,
)
from orchestrator.data.connect import pg_connect
from orchestrator.data.ingest import PostgresSink, ingest_batches
from orchestrator.data.postgres.expected import expected_facts, validate_restored_point
from orchestrator.data.postgres.physical import recover_to_point
from orchestrator.data.postgres.wal import (
    WalIndexedSink,
    archived_segments,
    lsn_int,
    read_wal_index,
    wal_archive_dir,
    wal_index_path,
)
from orchestrator.data.source import SourceSystem
from orchestrator.targets.local.region import LocalRegionPair
from orchestrator.targets.local.servers.postgres import WAL_SEGMENT_MB

pytestmark = pytest.mark.integration

DB = "platform"
INTERVAL_S = 900


def _ingest(sink: WalIndexedSink, source: SourceSystem, n: int) -> None:
    first = source.count
    source.produce(n)
    ingest_batches(sink, [source.batch(k) for k in range(first, first + n)], source.devices())


def _archive_current_segment(dsn: str) -> None:
    """Switch to a new segment and wait until the archiver has the one just finished."""
    with psycopg.connect(dsn, autocommit=True) as conn:
        segment = conn.execute("SELECT pg_walfile_name(pg_current_wal_lsn())").fetchone()[0]
        conn.execute("SELECT pg_switch_wal()")
        deadline = time.monotonic() + 30
        while (conn.execute("SELECT coalesce(last_archived_wal, '') FROM pg_stat_archiver").fetchone()[0]
               < segment):
            assert time.monotonic() < deadline, f"segment {segment} not archived within 30 s"
            time.sleep(0.1)


@pytest.fixture(scope="module")
def store():
    workdir = Path(tempfile.mkdtemp(prefix="drctl-pgphys-"))  # not tmp_path: see test_local_region_drill.py
    pair = LocalRegionPair(workdir)
    try:
        pair.start_primary()
        source = SourceSystem(workdir / "source", batch_size=50, seed=3, interval_s=INTERVAL_S)
        pair.primary_postgres.create_database(DB)
        dsn = pair.primary_postgres.dsn(DB)
        sink = WalIndexedSink(dsn, wal_index_path(pair.backup_dir))
        for generation, batches in (("g001", 4), ("g002", 2)):
            _ingest(sink, source, batches)
            manifest = backup_postgres_generation(dsn, DB, pair.backup_dir, pair.primary_postgres.pg_basebackup,
                                                  generation)
            record_generation(pair.backup_dir, generation, {"postgres": manifest})
        _ingest(sink, source, 2)
        _archive_current_segment(dsn)
        _ingest(sink, source, 1)
        pair.stop_primary(abrupt=True)  # the disaster
        pair.secondary_postgres.start()  # the deploy step's new, empty server
        yield pair, source
    finally:
        pair.stop()
        shutil.rmtree(workdir, ignore_errors=True)


def _recover(pair: LocalRegionPair, point=None):
    return recover_to_point(pair.secondary_postgres, pair.backup_dir,
                            lambda check: choose(pair.backup_dir / INDEX, "postgres", check), point)


def _archive_end_batch(pair: LocalRegionPair) -> int:
    """The newest batch whose commit lies inside the archived segments, from the archive's listing."""
    newest = archived_segments(wal_archive_dir(pair.backup_dir))[-1]
    segment_bytes = WAL_SEGMENT_MB << 20
    end = (int(newest[8:16], 16) * (0x100000000 // segment_bytes) + int(newest[16:], 16) + 1) * segment_bytes
    assert (wal_archive_dir(pair.backup_dir) / newest).stat().st_size == segment_bytes
    return max(e.batch for e in read_wal_index(wal_index_path(pair.backup_dir)) if lsn_int(e.lsn) < end)


def test_the_base_backup_s_recorded_facts_are_those_of_the_source_s_batches(store):
    # the reference method validation relies on, checked against what PostgreSQL measured at the backup
    pair, source = store
    choice, _evidence = _recover(pair)
    manifest = choice.manifest
    assert manifest["watermark"] == 5 and manifest["base"]["stop_lsn"]
    assert expected_facts(pair.secondary_postgres, DB, source, manifest["watermark"]) == manifest["tables"]


def test_by_default_the_archive_is_replayed_to_its_end(store):
    pair, source = store
    choice, evidence = _recover(pair)
    assert choice.generation == "g002"
    assert evidence["recovery_target"] == "end of the WAL archive"
    assert evidence["restored_batch"] == _archive_end_batch(pair) >= 7  # past the base backup's batch 5
    assert PostgresSink(pair.secondary_postgres.dsn(DB)).watermark() == evidence["restored_batch"]
    assert evidence["last_commit_at"] is not None  # commits were replayed from the archive
    result = validate_restored_point(pair.secondary_postgres, DB, source, evidence["restored_batch"])
    assert result.exact, result.mismatches
    with pg_connect(pair.secondary_postgres.dsn(DB), site="test", autocommit=True) as conn:
        assert conn.execute("SELECT pg_is_in_recovery()").fetchone()[0] is False
        conn.execute("CREATE TABLE written_after_restore (n int)")  # it accepts writes


def test_validation_fails_when_a_row_is_altered_after_the_restore(store):
    pair, source = store
    _choice, evidence = _recover(pair)
    with psycopg.connect(pair.secondary_postgres.dsn(DB)) as conn:
        conn.execute("UPDATE events SET value = value + 0.001 WHERE id = 7")
    result = validate_restored_point(pair.secondary_postgres, DB, source, evidence["restored_batch"])
    assert not result.exact
    assert [t for t, d in result.details.items() if not d["exact"]] == ["events"]
    assert any("events: checksum" in m for m in result.mismatches)


def test_a_recovery_point_between_two_batches_restores_the_older_batch_s_lsn(store):
    pair, source = store
    index = {e.batch: e for e in read_wal_index(wal_index_path(pair.backup_dir))}
    point = index[4].data_end + timedelta(minutes=5)  # after batch 4's data, before batch 5's
    choice, evidence = _recover(pair, point)
    # g002 (at batch 5) ends after the point: the older base backup, then WAL up to batch 4's commit
    assert choice.generation == "g001"
    assert "after the recovery point" in choice.checked[0]["reason"]
    assert evidence["recovery_target_lsn"] == index[4].lsn
    assert evidence["restored_batch"] == 4
    assert PostgresSink(pair.secondary_postgres.dsn(DB)).watermark() == 4
    assert validate_restored_point(pair.secondary_postgres, DB, source, 4).exact


def test_a_recovery_point_past_the_archive_s_end_restores_to_its_end(store):
    pair, _source = store
    index = read_wal_index(wal_index_path(pair.backup_dir))
    _choice, evidence = _recover(pair, index[-1].data_end + timedelta(days=1))
    assert evidence["recovery_target"] == "end of the WAL archive (the recovery point is past it)"
    assert evidence["restored_batch"] == _archive_end_batch(pair)


def test_a_flipped_byte_in_the_newest_base_backup_is_refused_and_the_older_one_restored(store):
    pair, source = store
    [done] = damage_backups(pair.backup_dir, "postgres", geo_copy=None)
    assert done["generation"] == "g002" and "size unchanged" in done["what"]
    choice, evidence = _recover(pair)
    assert choice.generation == "g001"
    assert "pg_verifybackup" in choice.checked[0]["reason"] and not choice.checked[0]["good"]
    # the older base backup, with the whole archive after it: the same point as the newest would reach
    assert evidence["restored_batch"] == _archive_end_batch(pair)
    assert validate_restored_point(pair.secondary_postgres, DB, source, evidence["restored_batch"]).exact
