"""Grouping a listing with snapshots by blob name, and ordering snapshot ids (orchestrator/data/lake/snapshots.py).
Listed items are plain namespaces here: only their name and snapshot are read."""

from __future__ import annotations

from datetime import UTC, datetime
from types import SimpleNamespace

import pytest

from orchestrator.data.lake.snapshots import by_name, snapshot_key
from orchestrator.model import PermanentError


def _item(name: str, snapshot: str | None = None) -> SimpleNamespace:
    return SimpleNamespace(name=name, snapshot=snapshot)


def test_snapshot_ids_order_by_their_seven_digit_fraction_which_datetime_would_truncate():
    earlier, later = "2026-12-06T08:35:01.1234560Z", "2026-12-06T08:35:01.1234567Z"
    assert snapshot_key(earlier) < snapshot_key(later)
    assert snapshot_key("2026-12-06T08:35:01Z") < snapshot_key(earlier)
    point = datetime(2026, 12, 6, 8, 35, 1, 123456, tzinfo=UTC)
    assert snapshot_key(earlier) <= snapshot_key(point) < snapshot_key(later)
    with pytest.raises(PermanentError, match="not a blob snapshot id"):
        snapshot_key("yesterday")


def test_a_name_gets_its_newest_snapshot_inside_a_window_and_none_outside_it():
    listing = [_item("a", "2026-12-06T08:00:00.0000001Z"), _item("a", "2026-12-06T09:00:00.0000001Z"),
               _item("a"), _item("b", "2026-12-06T07:00:00.0000000Z"), _item("c")]
    groups = list(by_name(listing, "test"))
    assert [(g.name, g.base is not None, len(g.snapshots)) for g in groups] == [
        ("a", True, 2), ("b", False, 1), ("c", True, 0)]
    start, end = snapshot_key("2026-12-06T07:30:00Z"), snapshot_key("2026-12-06T08:30:00Z")
    assert groups[0].newest_snapshot(end, start).snapshot == "2026-12-06T08:00:00.0000001Z"
    assert groups[0].newest_snapshot(snapshot_key("2026-12-06T10:00:00Z")).snapshot.startswith("2026-12-06T09")
    assert groups[1].newest_snapshot(end, start) is None  # older than the window: another generation's
    assert groups[1].newest_snapshot(end) is not None  # at or before a point


def test_a_listing_out_of_name_order_is_refused():
    with pytest.raises(PermanentError, match="not in ascending name order"):
        list(by_name([_item("b"), _item("a")], "the snapshots of raw"))
