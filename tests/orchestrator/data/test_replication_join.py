"""replicate_lake's walk of the primary's and the geo copy's listings together (orchestrator/data/backup.py,
through lake/recovery.py's merge_by_name): every name once, with what each side has; listed items are
plain namespaces (only names are read)."""

from __future__ import annotations

from types import SimpleNamespace

import pytest

from orchestrator.data.lake.recovery import merge_by_name
from orchestrator.model import PermanentError


def _names(*names: str) -> list[SimpleNamespace]:
    return [SimpleNamespace(name=n) for n in names]


def _outer_join(primary, geo_copy, container):
    return merge_by_name(primary, geo_copy, f"the primary's listing of {container}",
                         f"the geo copy's listing of {container}", right_only=True)


def test_every_name_of_either_listing_comes_once_with_its_namesake_or_none():
    pairs = _outer_join(iter(_names("a", "c", "d")), iter(_names("b", "c", "e")), "raw")
    assert [(s and s.name, d and d.name) for s, d in pairs] == [
        ("a", None), (None, "b"), ("c", "c"), ("d", None), (None, "e")]


def test_a_listing_out_of_name_order_is_refused():
    with pytest.raises(PermanentError, match="geo copy's listing of raw"):
        list(_outer_join(iter(_names("a")), iter(_names("b", "a")), "raw"))
