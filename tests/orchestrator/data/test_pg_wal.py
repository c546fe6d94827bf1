"""The WAL archive's commands, run by a real shell as PostgreSQL runs them, and the WAL index's mapping of
the data clock to LSNs (no server)."""

from __future__ import annotations

import subprocess
from datetime import timedelta
from pathlib import Path

import pytest

from orchestrator.data.postgres.physical import recovery_settings
from orchestrator.data.postgres.wal import (
    IndexedBatch,
    archive_command,
    archive_end,
    batch_at_lsn,
    batch_for_point,
    lsn_int,
    lsn_text,
    read_wal_index,
    record_batch,
    restore_command,
    segment_end_lsn,
)
from orchestrator.data.source import T0
from orchestrator.model import PermanentError

SEGMENT = "000000010000000000000003"


def _run(command: str, path: Path, name: str) -> int:
    """As PostgreSQL runs archive_command and restore_command: %p and %f replaced, then `sh -c`."""
    return subprocess.run(["sh", "-c", command.replace("%p", str(path)).replace("%f", name)]).returncode


@pytest.fixture
def archive(tmp_path) -> Path:
    folder = tmp_path / "wal archive"  # a space: the paths must be quoted
    folder.mkdir()
    return folder


def _segment(tmp_path: Path, content: bytes) -> Path:
    path = tmp_path / "pg_wal" / SEGMENT
    path.parent.mkdir(exist_ok=True)
    path.write_bytes(content)
    return path


def test_a_segment_is_archived_whole_under_its_name(tmp_path, archive):
    segment = _segment(tmp_path, b"wal" * 1000)
    assert _run(archive_command(archive), segment, SEGMENT) == 0
    assert (archive / SEGMENT).read_bytes() == segment.read_bytes()
    assert [p.name for p in archive.iterdir()] == [SEGMENT]  # no temporary copy left behind
    assert archive_end(archive) == {"segments": 1, "newest_segment": SEGMENT}


def test_archiving_the_same_segment_again_succeeds_and_a_different_one_is_refused(tmp_path, archive):
    segment = _segment(tmp_path, b"original")
    assert _run(archive_command(archive), segment, SEGMENT) == 0
    assert _run(archive_command(archive), segment, SEGMENT) == 0  # a retry after a crash: identical, fine
    segment.write_bytes(b"rewritten")
    assert _run(archive_command(archive), segment, SEGMENT) != 0  # PostgreSQL keeps the segment and retries
    assert (archive / SEGMENT).read_bytes() == b"original"


def test_restore_fetches_an_archived_segment_and_fails_past_the_end(tmp_path, archive):
    _run(archive_command(archive), _segment(tmp_path, b"segment"), SEGMENT)
    target = tmp_path / "RECOVERYXLOG"
    assert _run(restore_command(archive), target, SEGMENT) == 0 and target.read_bytes() == b"segment"
    assert _run(restore_command(archive), tmp_path / "next", "000000010000000000000004") != 0  # the end


def test_a_path_that_would_end_the_setting_early_is_refused(tmp_path):
    with pytest.raises(ValueError, match="quote"):
        archive_command(tmp_path / "it's")


def test_lsns_order_as_the_wal_does():
    assert lsn_int("0/FFFFFFFF") < lsn_int("1/0") < lsn_int("1/10")
    assert lsn_text(lsn_int("16/B374D848")) == "16/B374D848"


def _index(tmp_path: Path) -> list[IndexedBatch]:
    path = tmp_path / "wal-index.json"
    for batch, lsn in ((0, "0/3000100"), (1, "0/3200F00"), (2, "0/5000028")):
        record_batch(path, IndexedBatch(batch, T0 + timedelta(minutes=15 * (batch + 1)), lsn, f"2026-12-06T07:0{batch}Z"))
    return read_wal_index(path)


def test_a_point_between_two_batches_is_the_older_batch_s_lsn(tmp_path):
    index = _index(tmp_path)
    between = T0 + timedelta(minutes=40)  # batch 1 ends at 00:30, batch 2 at 00:45
    assert (batch_for_point(index, between).batch, batch_for_point(index, between).lsn) == (1, "0/3200F00")
    assert batch_for_point(index, T0 + timedelta(minutes=45)).batch == 2  # a batch's own end includes it
    with pytest.raises(PermanentError, match="before the first recorded batch"):
        batch_for_point(index, T0 + timedelta(minutes=10))


def test_the_batch_a_replayed_lsn_holds(tmp_path):
    index = _index(tmp_path)
    assert batch_at_lsn(index, "0/4000000").batch == 1
    assert batch_at_lsn(index, "0/5000028").batch == 2
    assert batch_at_lsn(index, "0/2000000") is None


def test_recording_a_batch_again_replaces_its_entry(tmp_path):
    path = tmp_path / "wal-index.json"
    record_batch(path, IndexedBatch(0, T0, "0/100", "a"))
    record_batch(path, IndexedBatch(0, T0, "0/200", "b"))
    assert [(e.batch, e.lsn) for e in read_wal_index(path)] == [(0, "0/200")]


def test_a_segment_s_end_lsn_from_its_name():
    assert segment_end_lsn("00000001000000000000000F", 1 << 20) == lsn_int("0/1000000")
    assert segment_end_lsn("0000000100000001000000FF", 16 << 20) == lsn_int("2/0")
    assert segment_end_lsn("000000020000000100000003", 1 << 20) == lsn_int("1/400000")


def test_the_restore_setting_keeps_a_quoted_archive_path_whole(tmp_path, archive):
    # the archive's path has a space, so the command quotes it; the setting doubles those quotes
    line = next(x for x in recovery_settings(archive, None).splitlines() if x.startswith("restore_command"))
    value = line.split(" = ", 1)[1]
    assert value.startswith("'") and value.endswith("'")
    command = value[1:-1].replace("''", "'")
    assert command == restore_command(archive)
    _run(archive_command(archive), _segment(tmp_path, b"x"), SEGMENT)
    assert _run(command, tmp_path / "fetched", SEGMENT) == 0
