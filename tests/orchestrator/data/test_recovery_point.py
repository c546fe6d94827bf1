"""--recovery-point: reading TIME, and choosing the newest backup generation at or before it."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from orchestrator.data.backup_catalog import INDEX, BadGeneration, choose
from orchestrator.data.recovery_point import as_text, from_record, parse_recovery_point
from orchestrator.data.source import T0
from orchestrator.model import PermanentError

NOW = datetime(2026, 6, 1, tzinfo=UTC)


def test_a_time_with_z_or_an_offset_is_read_as_utc():
    assert parse_recovery_point("2026-01-01T01:15:00Z", NOW) == T0 + timedelta(minutes=75)
    assert parse_recovery_point("2026-01-01T02:15:00+01:00", NOW) == T0 + timedelta(minutes=75)
    assert as_text(parse_recovery_point("2026-01-01T01:15:00Z", NOW)) == "2026-01-01T01:15:00.000Z"
    assert from_record("2026-01-01T01:15:00.000Z") == T0 + timedelta(minutes=75)


@pytest.mark.parametrize(("text", "says"), [
    ("2026-01-01T01:15:00", "has no timezone"),
    ("yesterday", "is not an ISO 8601 time"),
    ("2026-13-01T00:00:00Z", "is not an ISO 8601 time"),
    ("", "is not an ISO 8601 time"),
    ("2026-06-02T00:00:00Z", "is in the future"),
])
def test_a_naive_a_future_or_a_garbled_time_is_refused_saying_which(text, says):
    with pytest.raises(ValueError, match=says) as caught:
        parse_recovery_point(text, NOW)
    assert "\n" not in str(caught.value)


def _catalog(folder: Path, ends: list[str]) -> Path:
    """A store index with one lake generation per data_end, oldest first (g001, g002, ...)."""
    generations = []
    for number, end in enumerate(ends, 1):
        gid = f"g{number:03d}"
        manifest = folder / "generations" / gid / "lake" / "manifest.json"
        manifest.parent.mkdir(parents=True)
        manifest.write_text(json.dumps({"watermark": number, "generation": gid}))
        generations.append({"id": gid, "stores": {"lake": {
            "manifest": str(manifest.relative_to(folder)), "watermark": number, "data_end": end}}})
    (folder / INDEX).write_text(json.dumps({"version": 1, "generations": generations}))
    return folder / INDEX


ENDS = ["2026-01-01T01:00:00.000Z", "2026-01-01T01:30:00.000Z", "2026-01-01T02:00:00.000Z"]


def _read(path: Path) -> dict:
    return json.loads(path.read_text())


def test_a_point_between_generations_skips_the_newer_ones(tmp_path):
    chosen = choose(_catalog(tmp_path, ENDS), "lake", _read, point=T0 + timedelta(minutes=75))
    assert chosen.generation == "g001"
    assert chosen.point == ENDS[0] and chosen.recovery_point == "2026-01-01T01:15:00.000Z"
    assert chosen.after_point == ["g003", "g002"]
    assert [c["generation"] for c in chosen.checked] == ["g001"]  # the newer ones are not even checked
    assert chosen.outputs()["backup_point"] == ENDS[0]
    assert chosen.evidence()["backup_generations_after_point"] == ["g003", "g002"]


def test_a_point_at_a_generations_own_point_takes_it(tmp_path):
    chosen = choose(_catalog(tmp_path, ENDS), "lake", _read, point=T0 + timedelta(minutes=90))
    assert chosen.generation == "g002" and chosen.after_point == ["g003"]


def test_without_a_point_the_newest_is_taken(tmp_path):
    chosen = choose(_catalog(tmp_path, ENDS), "lake", _read)
    assert chosen.generation == "g003" and chosen.recovery_point is None and chosen.after_point == []


def test_a_point_before_every_generation_fails_naming_the_oldest_and_its_point(tmp_path):
    with pytest.raises(PermanentError, match=r"before the recovery point 2026-01-01T00:30:00.000Z: the oldest, "
                                             r"g001, holds data through 2026-01-01T01:00:00.000Z") as caught:
        choose(_catalog(tmp_path, ENDS), "lake", _read, point=T0 + timedelta(minutes=30))
    assert caught.value.evidence["backup_generations_after_point"] == ["g003", "g002", "g001"]


def test_a_damaged_candidate_falls_back_to_an_older_one_never_to_a_newer_one(tmp_path):
    seen = []

    def g002_damaged(path: Path) -> dict:
        manifest = _read(path)
        seen.append(manifest["generation"])
        if manifest["generation"] == "g002":
            raise BadGeneration("a snapshot is missing")
        return manifest

    chosen = choose(_catalog(tmp_path, ENDS), "lake", g002_damaged, point=T0 + timedelta(minutes=100))
    assert chosen.generation == "g001" and seen == ["g002", "g001"]
    assert chosen.outputs()["backup_generations_skipped"] == 1


def test_every_candidate_damaged_fails_naming_the_point(tmp_path):
    def bad(path: Path) -> dict:
        raise BadGeneration("gone")

    with pytest.raises(PermanentError, match=r"no good lake backup generation at or before the recovery point "
                                             r"2026-01-01T01:40:00.000Z \(2 checked"):
        choose(_catalog(tmp_path, ENDS), "lake", bad, point=T0 + timedelta(minutes=100))
